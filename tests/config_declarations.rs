//! SPEC 8.7 items 1–3 and 11: declaring parameters.

use amoc::config::{
    ConfigError, Declarations, FailureReason, MapEnv, ParamDecl, ParamSpec, UpdateKind,
    VerificationKind,
};
use serde_json::json;

fn one_param() -> ParamDecl {
    ParamSpec::<u32>::new("single", "declared singly")
        .default(1)
        .decl()
}

fn param_list() -> Vec<ParamDecl> {
    vec![
        ParamSpec::<String>::new("listed_a", "first of a list").decl(),
        ParamSpec::<Vec<u16>>::new("listed_b", "second of a list")
            .default(vec![80, 443])
            .decl(),
    ]
}

#[test]
fn get_module_attributes() {
    let mut params = vec![one_param()];
    params.extend(param_list());
    let decls = Declarations::collect([("my_component", params)]).unwrap();
    let got: Vec<_> = decls
        .iter()
        .map(|p| {
            (
                p.name().to_owned(),
                p.owner().to_owned(),
                p.decl().default_value(),
                p.decl().verification_kind(),
                p.decl().update_kind(),
            )
        })
        .collect();
    let expected = |n: &str, d| {
        (
            n.to_owned(),
            "my_component".to_owned(),
            d,
            VerificationKind::Any,
            UpdateKind::ReadOnly,
        )
    };
    assert_eq!(
        got,
        [
            expected("single", Some(json!(1))),
            expected("listed_a", None),
            expected("listed_b", Some(json!([80, 443]))),
        ]
    );
}

#[test]
fn get_module_configuration() {
    let decls = Declarations::collect([("a", vec![one_param()]), ("b", param_list())]).unwrap();
    let owners: Vec<_> = decls.iter().map(|p| (p.name(), p.owner())).collect();
    assert_eq!(
        owners,
        [("single", "a"), ("listed_a", "b"), ("listed_b", "b")]
    );
}

#[test]
fn description_binary_and_list() {
    let decls = Declarations::collect([(
        "c",
        vec![
            ParamSpec::<u8>::new("a", "café").decl(),
            ParamSpec::<u8>::new("b", "ünïcödé ✓ 参数").decl(),
        ],
    )])
    .unwrap();
    let descriptions: Vec<_> = decls.iter().map(|p| p.decl().description()).collect();
    assert_eq!(descriptions, ["café", "ünïcödé ✓ 参数"]);
}

#[actix_rt::test]
async fn one_of_function() {
    let telemetry = amoc::telemetry::Telemetry::new();
    let config = amoc::config::Config::with_env(telemetry, MapEnv::new());
    config.start();
    let decls = || {
        Declarations::collect([(
            "c",
            vec![ParamSpec::<String>::new("choice", "a or b")
                .one_of(vec!["a".into(), "b".into()])
                .default("a".into())
                .decl()],
        )])
        .unwrap()
    };
    assert_eq!(config.resolve(decls(), vec![]).await, Ok(()));
    assert_eq!(config.view().get::<String>("choice"), Ok("a".into()));
    let err = config
        .resolve(decls(), vec![("choice".into(), json!("c"))])
        .await
        .unwrap_err();
    let ConfigError::VerificationFailed(failures) = err else {
        panic!("unexpected {err:?}")
    };
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].name, "choice");
    assert_eq!(failures[0].value, Some(json!("c")));
    assert_eq!(
        failures[0].reason,
        FailureReason::NotOneOf(vec![json!("a"), json!("b")])
    );
}

#[test]
fn errors_reporting() {
    let result = Declarations::collect([(
        "c",
        vec![
            ParamSpec::<u8>::new("valid_one", "fine").decl(),
            ParamSpec::<u8>::new("Invalid-Name", "bad name").decl(),
            ParamSpec::<u8>::new("no_description", "").decl(),
            ParamSpec::<u8>::new("empty_one_of", "nothing allowed")
                .one_of(vec![])
                .decl(),
            ParamSpec::<u8>::new("valid_two", "fine").default(3).decl(),
        ],
    )]);
    let Err(ConfigError::InvalidDeclaration(list)) = result else {
        panic!("unexpected {result:?}")
    };
    let names: Vec<_> = list.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["Invalid-Name", "no_description", "empty_one_of"]);
    assert!(list[0].1.contains("name"));
    assert!(list[1].1.contains("description"));
    assert!(list[2].1.contains("one_of"));
}

#[test]
fn implicit_variable_redefinition() {
    let decl = || ParamSpec::<u8>::new("shared", "declared twice").decl();
    let result = Declarations::collect([("first", vec![decl()]), ("second", vec![decl()])]);
    assert_eq!(
        result.unwrap_err(),
        ConfigError::ParameterOverriding {
            name: "shared".into(),
            first_owner: "first".into(),
            second_owner: "second".into(),
        }
    );
}

#[test]
fn explicit_override_replaces_and_takes_ownership() {
    let decls = Declarations::collect([
        (
            "helper",
            vec![ParamSpec::<u8>::new("shared", "h").default(1).decl()],
        ),
        (
            "scenario",
            vec![ParamSpec::<u8>::new("shared", "s")
                .default(2)
                .overriding()
                .decl()],
        ),
    ])
    .unwrap();
    let p = decls.get("shared").unwrap();
    assert_eq!(p.owner(), "scenario");
    assert_eq!(p.decl().default_value(), Some(json!(2)));
    assert_eq!(decls.len(), 1);
}
