//! Checks a JSON document against a JSON Schema, for the subset of keywords that
//! `docs/report.schema.json` uses: `type` (one or several), `const`, `enum`, `required`,
//! `properties`, `additionalProperties` (false or a schema), `items`, `minimum`. Any other
//! keyword in the schema is refused, so the schema cannot say more than is checked.
#![allow(dead_code)]

use serde_json::Value;

const KNOWN: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "type",
    "const",
    "enum",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minimum",
    "contentEncoding",
];

/// Every violation of `schema` by `doc`, as `path: what` lines (empty: valid).
pub fn violations(schema: &Value, doc: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, doc, "$", &mut out);
    out
}

fn check(schema: &Value, doc: &Value, path: &str, out: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        out.push(format!("{path}: schema is not an object"));
        return;
    };
    for k in s.keys() {
        if !KNOWN.contains(&k.as_str()) {
            out.push(format!("{path}: unsupported schema keyword {k}"));
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.iter().any(|t| is_type(doc, t)) {
            out.push(format!("{path}: expected {types:?}, got {doc}"));
            return;
        }
    }
    if let Some(c) = s.get("const") {
        if c != doc {
            out.push(format!("{path}: expected {c}, got {doc}"));
        }
    }
    if let Some(Value::Array(e)) = s.get("enum") {
        if !e.contains(doc) {
            out.push(format!("{path}: {doc} not in {e:?}"));
        }
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), doc.as_f64()) {
        if n < min {
            out.push(format!("{path}: {n} below {min}"));
        }
    }
    if let Some(obj) = doc.as_object() {
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = r.as_str() {
                if !obj.contains_key(r) {
                    out.push(format!("{path}: missing {r}"));
                }
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            let sub = format!("{path}.{k}");
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(p), _) => check(p, v, &sub, out),
                (None, Some(Value::Bool(false))) => out.push(format!("{sub}: not allowed")),
                (None, Some(extra @ Value::Object(_))) => check(extra, v, &sub, out),
                (None, _) => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), doc.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            check(items, v, &format!("{path}[{i}]"), out);
        }
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        _ => false,
    }
}
