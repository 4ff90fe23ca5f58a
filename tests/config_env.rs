//! SPEC 8.7 items 4, 5 and 16: environment values.

use std::collections::HashMap;

use amoc::config::{
    parse_value, Config, ConfigError, Declarations, FailureReason, MapEnv, ParamDecl, ParamSpec,
};
use amoc::telemetry::{names, test::Recorder, EventPattern, Telemetry};
use amoc::user_rate::{declaration, UserRate, USER_RATE};
use amoc::Value;
use proptest::prelude::*;
use serde_json::json;

#[path = "common/timeout.rs"]
mod timeout;
use timeout::TIMEOUT;

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Dyadic fractions print and parse back exactly.
        (-1_000_000i32..1_000_000).prop_map(|n| Value::from(f64::from(n) / 8.0)),
        "\\PC*".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::hash_map("\\PC{0,8}", inner, 0..8)
                .prop_map(|m: HashMap<String, Value>| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn parse_value_prop_test(value in arb_value()) {
        let text = serde_json::to_string(&value).unwrap();
        prop_assert_eq!(parse_value(&text).unwrap(), value.clone());
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        prop_assert_eq!(parse_value(&pretty).unwrap(), value);
    }
}

async fn resolve_with(env: MapEnv, params: Vec<ParamDecl>) -> (Config, Result<(), ConfigError>) {
    let telemetry = Telemetry::new();
    telemetry.start();
    resolve_on(telemetry, env, params).await
}

async fn resolve_on(
    telemetry: Telemetry,
    env: MapEnv,
    params: Vec<ParamDecl>,
) -> (Config, Result<(), ConfigError>) {
    let config = Config::with_env(telemetry, env);
    config.start();
    let decls = Declarations::collect([("scenario", params)]).unwrap();
    let result = config.resolve(decls, vec![]).await;
    (config, result)
}

fn string_params() -> Vec<ParamDecl> {
    vec![
        ParamSpec::<String>::new("set_var", "with default")
            .default("default_value".into())
            .decl(),
        ParamSpec::<String>::new("unset_var", "no default").decl(),
    ]
}

#[actix_rt::test]
async fn default_parser_test() {
    let env = MapEnv::new().with("AMOC_SET_VAR", "some_value");
    let (config, r) = resolve_with(env, string_params()).await;
    assert_eq!(r, Ok(()));
    let view = config.view();
    assert_eq!(view.get::<String>("set_var"), Ok("some_value".into()));
    assert!(view.get::<String>("unset_var").is_err());

    for env in [
        MapEnv::new(),
        MapEnv::new()
            .with("AMOC_SET_VAR", "")
            .with("AMOC_UNSET_VAR", ""),
    ] {
        let (config, r) = resolve_with(env, string_params()).await;
        assert_eq!(r, Ok(()));
        assert_eq!(
            config.view().values(),
            [
                ("set_var".into(), Some(json!("default_value"))),
                ("unset_var".into(), None)
            ]
        );
    }
}

#[actix_rt::test]
async fn unparsable_variable_uses_default_and_reports() {
    let telemetry = Telemetry::new();
    telemetry.start();
    let mut rec = Recorder::attach(&telemetry, [EventPattern::from(&names::CONFIG_ENV)])
        .await
        .unwrap();
    let params = vec![ParamSpec::<Vec<u32>>::new("x", "a list")
        .default(vec![7])
        .decl()];
    let (config, r) = resolve_on(telemetry, MapEnv::new().with("AMOC_X", "[1,"), params).await;
    assert_eq!(r, Ok(()));
    assert_eq!(config.view().get::<Vec<u32>>("x"), Ok(vec![7]));
    let event = rec.next(TIMEOUT).await.expect("[amoc, config, env]");
    let md = |k| event.metadata.get(k).cloned();
    assert_eq!(md("variable_name"), Some(json!("AMOC_X")));
    assert_eq!(md("variable_value"), Some(json!("[1,")));
    assert_eq!(md("default_value"), Some(json!([7])));
    assert_eq!(md("setting"), Some(json!("x")));
    assert!(matches!(md("error"), Some(Value::String(e)) if !e.is_empty()));
    assert_eq!(md("log_level"), Some(json!("error")));
    assert_eq!(
        md("msg"),
        Some(json!(
            "cannot parse environment variable, using default value"
        ))
    );
    assert!(md("monotonic_time").is_some());
    assert_eq!(
        event.measurements.get("error").map(|n| n.as_f64()),
        Some(1.0)
    );
}

#[actix_rt::test]
async fn two_words_are_a_parse_error_not_a_string() {
    let env = MapEnv::new().with("AMOC_SET_VAR", "two words");
    let (config, r) = resolve_with(env, string_params()).await;
    assert_eq!(r, Ok(()));
    assert_eq!(
        config.view().get::<String>("set_var"),
        Ok("default_value".into())
    );
}

#[actix_rt::test]
async fn every_value_kind_from_the_environment() {
    let params = vec![
        ParamSpec::<u32>::new("int", "i").decl(),
        ParamSpec::<i64>::new("neg", "n").decl(),
        ParamSpec::<f64>::new("ratio", "r").decl(),
        ParamSpec::<f64>::new("big", "b").decl(),
        ParamSpec::<bool>::new("flag", "f").decl(),
        ParamSpec::<String>::new("host", "h").decl(),
        ParamSpec::<String>::new("greeting", "g").decl(),
        ParamSpec::<Vec<u16>>::new("ports", "p").decl(),
        ParamSpec::<Vec<String>>::new("words", "w").decl(),
        ParamSpec::<HashMap<String, u8>>::new("map", "m").decl(),
    ];
    let env = MapEnv::new()
        .with("AMOC_INT", "600")
        .with("AMOC_NEG", "-3")
        .with("AMOC_RATIO", "0.25")
        .with("AMOC_BIG", "1e3")
        .with("AMOC_FLAG", "true")
        .with("AMOC_HOST", "localhost:8080")
        .with("AMOC_GREETING", "\"hello world\"")
        .with("AMOC_PORTS", "[80, 443]")
        .with("AMOC_WORDS", "[\"a\",\"b\"]")
        .with("AMOC_MAP", "{\"a\": 1}");
    let (config, r) = resolve_with(env, params).await;
    assert_eq!(r, Ok(()));
    let v = config.view();
    assert_eq!(v.get::<u32>("int"), Ok(600));
    assert_eq!(v.get::<i64>("neg"), Ok(-3));
    assert_eq!(v.get::<f64>("ratio"), Ok(0.25));
    assert_eq!(v.get::<f64>("big"), Ok(1000.0));
    assert_eq!(v.get::<bool>("flag"), Ok(true));
    assert_eq!(v.get::<String>("host"), Ok("localhost:8080".into()));
    assert_eq!(v.get::<String>("greeting"), Ok("hello world".into()));
    assert_eq!(v.get::<Vec<u16>>("ports"), Ok(vec![80, 443]));
    assert_eq!(
        v.get::<Vec<String>>("words"),
        Ok(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        v.get::<HashMap<String, u8>>("map"),
        Ok(HashMap::from([("a".to_string(), 1)]))
    );
}

#[actix_rt::test]
async fn wrong_type_from_the_environment_is_a_verification_failure() {
    let params = vec![ParamSpec::<u32>::new("int", "i").default(1).decl()];
    let (_, r) = resolve_with(MapEnv::new().with("AMOC_INT", "fast"), params).await;
    let Err(ConfigError::VerificationFailed(f)) = r else {
        panic!("unexpected {r:?}")
    };
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].name, "int");
    assert_eq!(f[0].value, Some(json!("fast")));
    assert_eq!(
        f[0].reason,
        FailureReason::TypeMismatch("expected an integer from 0 to 4294967295".into())
    );
}

#[actix_rt::test]
async fn amoc_user_rate_infinity_is_unlimited() {
    let params = vec![declaration(|_, _| {})];
    let env = MapEnv::new().with("AMOC_USER_RATE", "infinity");
    let (config, r) = resolve_with(env, params).await;
    assert_eq!(r, Ok(()));
    assert_eq!(USER_RATE.get(&config.view()), Ok(UserRate::Infinity));
    assert_eq!(USER_RATE.get(&config.view()).unwrap().per_minute(), None);
}

#[actix_rt::test]
async fn amoc_user_rate_default_and_integer() {
    let (config, _) = resolve_with(MapEnv::new(), vec![declaration(|_, _| {})]).await;
    assert_eq!(USER_RATE.get(&config.view()), Ok(UserRate::PerMinute(1200)));
    let env = MapEnv::new().with("AMOC_USER_RATE", "0");
    let (config, _) = resolve_with(env, vec![declaration(|_, _| {})]).await;
    assert_eq!(USER_RATE.get(&config.view()), Ok(UserRate::PerMinute(0)));
}

#[actix_rt::test]
async fn amoc_user_rate_negative_fails_verification() {
    let env = MapEnv::new().with("AMOC_USER_RATE", "-1");
    let (_, r) = resolve_with(env, vec![declaration(|_, _| {})]).await;
    let Err(ConfigError::VerificationFailed(f)) = r else {
        panic!("unexpected {r:?}")
    };
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].name, "user_rate");
    assert_eq!(f[0].value, Some(json!(-1)));
    assert!(matches!(f[0].reason, FailureReason::TypeMismatch(_)));
}
