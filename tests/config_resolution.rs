//! SPEC 8.7 items 6, 12–15: resolution and verification at scenario start.

mod config_support;

use std::sync::{Arc, Mutex};

use amoc::config::{
    Config, ConfigError, Declarations, FailureReason, GetError, MapEnv, ParamSpec, Verdict,
    VerificationFailure,
};
use amoc::telemetry::{names, EventPattern, Telemetry};
use amoc::user_rate::{UserRate, USER_RATE};
use amoc::Value;
use config_support::{settings, Fixture, QUIET, TIMEOUT};
use serde_json::json;

#[actix_rt::test]
async fn parse_scenario_settings() {
    let mut f = Fixture::new(MapEnv::new());
    let mut rec = amoc::telemetry::test::Recorder::attach(
        &f.telemetry,
        [EventPattern::from(&names::CONFIG_GET)],
    )
    .await
    .unwrap();
    let result = f
        .config
        .resolve(
            f.decls(),
            settings(&[("user_rate", json!(500)), ("var1", json!("def1"))]),
        )
        .await;
    assert_eq!(result, Ok(()));
    assert_eq!(
        f.verified(),
        [
            ("var1".into(), json!("def1")),
            ("var3".into(), json!("val3"))
        ]
    );
    assert_eq!(f.updates_now().await, []);

    let view = f.config.view();
    assert_eq!(
        view.get::<String>("undefined_var"),
        Err(GetError::Undeclared("undefined_var".into()))
    );
    let event = rec.next(TIMEOUT).await.expect("[amoc, config, get]");
    assert_eq!(
        event.measurements.get("error").map(|n| n.as_f64()),
        Some(1.0)
    );
    assert_eq!(event.metadata.get("setting"), Some(&json!("undefined_var")));
    assert_eq!(
        event.metadata.get("msg"),
        Some(&json!("no scenario setting"))
    );
    assert_eq!(event.metadata.get("log_level"), Some(&json!("error")));
    assert!(event.metadata.get("monotonic_time").is_some());

    assert_eq!(
        view.get::<String>("var0"),
        Err(GetError::Unset("var0".into()))
    );
    assert_eq!(view.get_or("var0", "x".to_string()), "x");
    assert_eq!(view.get::<String>("var1"), Ok("def1".into()));
    assert_eq!(view.get_or("var1", "fallback".to_string()), "def1");
    assert_eq!(view.get::<String>("var2"), Ok("val2".into()));
    assert_eq!(USER_RATE.get(&view), Ok(UserRate::PerMinute(500)));
    assert_eq!(view.get::<u64>("user_rate"), Ok(500));
    assert_eq!(
        view.get::<u64>("var1"),
        Err(GetError::TypeMismatch {
            name: "var1".into(),
            expected: "expected a non-negative integer".into()
        })
    );
    assert_eq!(view.get::<Value>("var3"), Ok(json!("val3")));
}

#[actix_rt::test]
async fn invalid_settings() {
    let f = Fixture::new(MapEnv::new());
    let result = f
        .config
        .resolve(
            f.decls(),
            settings(&[
                ("invalid_var1", json!(1)),
                ("var2", json!("val2")),
                ("invalid_var2", json!(2)),
            ]),
        )
        .await;
    assert_eq!(
        result,
        Err(ConfigError::UndefinedParameters(vec![
            "invalid_var1".into(),
            "invalid_var2".into()
        ]))
    );
    assert_eq!(f.verified(), []);
    // Nothing was published.
    assert!(matches!(
        f.config.view().get::<String>("var2"),
        Err(GetError::Undeclared(_))
    ));
}

#[actix_rt::test]
async fn invalid_value() {
    let f = Fixture::new(MapEnv::new());
    let result = f
        .config
        .resolve(f.decls(), settings(&[("var2", json!("invalid_val2"))]))
        .await;
    assert_eq!(
        result,
        Err(ConfigError::VerificationFailed(vec![VerificationFailure {
            name: "var2".into(),
            value: Some(json!("invalid_val2")),
            reason: FailureReason::NotOneOf(vec![json!("new_val2"), json!("val2")]),
        }]))
    );
    assert_eq!(
        f.verified(),
        [
            ("var1".into(), json!("def1")),
            ("var3".into(), json!("val3"))
        ]
    );
}

/// A scenario with one parameter of each kind used by the `process_scenario_config` cases.
fn process_decls() -> Declarations {
    Declarations::collect([(
        "scenario",
        vec![
            ParamSpec::<u32>::new("interarrival", "ms between users")
                .default(50)
                .decl(),
            ParamSpec::<String>::new("host", "target")
                .default("localhost".into())
                .decl(),
        ],
    )])
    .unwrap()
}

async fn resolved(env: MapEnv, settings: Vec<(String, Value)>) -> Config {
    let config = Config::with_env(Telemetry::new(), env);
    config.start();
    config.resolve(process_decls(), settings).await.unwrap();
    config
}

#[actix_rt::test]
async fn process_scenario_config_uses_default_values() {
    let view = resolved(MapEnv::new(), vec![]).await.view();
    assert_eq!(view.get::<u32>("interarrival"), Ok(50));
    assert_eq!(view.get::<String>("host"), Ok("localhost".into()));
}

#[actix_rt::test]
async fn process_scenario_config_shadows_default_values() {
    let env = MapEnv::new()
        .with("AMOC_INTERARRIVAL", "7")
        .with("AMOC_HOST", "example.com:8080");
    let view = resolved(env.clone(), vec![]).await.view();
    assert_eq!(view.get::<u32>("interarrival"), Ok(7));
    assert_eq!(view.get::<String>("host"), Ok("example.com:8080".into()));

    let explicit = settings(&[("interarrival", json!(9))]);
    let view = resolved(env, explicit).await.view();
    assert_eq!(view.get::<u32>("interarrival"), Ok(9));
    assert_eq!(view.get::<String>("host"), Ok("example.com:8080".into()));

    // The variables removed: defaults again.
    let view = resolved(MapEnv::new(), vec![]).await.view();
    assert_eq!(view.get::<u32>("interarrival"), Ok(50));
}

#[actix_rt::test]
async fn process_scenario_config_returns_error_for_invalid_values() {
    let decls = Declarations::collect([(
        "scenario",
        vec![
            ParamSpec::<u32>::new("fine", "valid").default(1).decl(),
            ParamSpec::<u32>::new("too_big", "rejected with a reason")
                .default(1000)
                .verify(|v| match *v < 100 {
                    true => Verdict::Accept,
                    false => Verdict::RejectWith("must be below 100".into()),
                })
                .decl(),
            ParamSpec::<bool>::new("never", "always rejected")
                .default(true)
                .verify(|_| Verdict::Reject)
                .decl(),
            ParamSpec::<u32>::new("number", "a number").decl(),
            ParamSpec::<String>::new("needed", "required")
                .required()
                .decl(),
        ],
    )])
    .unwrap();
    let config = Config::with_env(Telemetry::new(), MapEnv::new().with("AMOC_NUMBER", "five"));
    config.start();
    let err = config.resolve(decls, vec![]).await.unwrap_err();
    let ConfigError::VerificationFailed(failures) = err else {
        panic!("unexpected {err:?}")
    };
    let got: Vec<_> = failures
        .iter()
        .map(|f| (f.name.as_str(), f.value.clone(), f.reason.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "too_big",
                Some(json!(1000)),
                FailureReason::RejectedWith("must be below 100".into())
            ),
            ("never", Some(json!(true)), FailureReason::Rejected),
            (
                "number",
                Some(json!("five")),
                FailureReason::TypeMismatch("expected an integer from 0 to 4294967295".into())
            ),
            ("needed", None, FailureReason::Required),
        ]
    );
}

#[actix_rt::test]
async fn process_scenario_config_returns_preprocessed_value() {
    let decls = Declarations::collect([(
        "scenario",
        vec![ParamSpec::<String>::new("word", "normalised")
            .default("value".into())
            .verify(|_| Verdict::Replace("another".into()))
            .decl()],
    )])
    .unwrap();
    let config = Config::with_env(Telemetry::new(), MapEnv::new());
    config.start();
    config.resolve(decls, vec![]).await.unwrap();
    assert_eq!(config.view().get::<String>("word"), Ok("another".into()));
}

#[actix_rt::test]
async fn panicking_verification_is_reported() {
    let telemetry = Telemetry::new();
    telemetry.start();
    let mut rec = amoc::telemetry::test::Recorder::attach(
        &telemetry,
        [EventPattern::from(&names::CONFIG_VERIFY)],
    )
    .await
    .unwrap();
    let other_ran = Arc::new(Mutex::new(false));
    let flag = other_ran.clone();
    let decls = Declarations::collect([(
        "scenario",
        vec![
            ParamSpec::<u32>::new("boom", "panics")
                .default(3)
                .verify(|v| panic!("cannot verify {v}"))
                .decl(),
            ParamSpec::<u32>::new("after", "still verified")
                .default(1)
                .verify(move |_| {
                    *flag.lock().unwrap() = true;
                    Verdict::Reject
                })
                .decl(),
        ],
    )])
    .unwrap();
    let config = Config::with_env(telemetry.clone(), MapEnv::new());
    config.start();
    let err = config.resolve(decls, vec![]).await.unwrap_err();
    assert_eq!(
        err,
        ConfigError::VerificationFailed(vec![
            VerificationFailure {
                name: "boom".into(),
                value: Some(json!(3)),
                reason: FailureReason::Panicked("cannot verify 3".into()),
            },
            VerificationFailure {
                name: "after".into(),
                value: Some(json!(1)),
                reason: FailureReason::Rejected,
            },
        ])
    );
    assert!(*other_ran.lock().unwrap());
    let event = rec.next(TIMEOUT).await.expect("[amoc, config, verify]");
    assert_eq!(
        event.measurements.get("error").map(|n| n.as_f64()),
        Some(1.0)
    );
    assert_eq!(event.metadata.get("setting"), Some(&json!("boom")));
    assert_eq!(event.metadata.get("kind"), Some(&json!("panic")));
    assert_eq!(
        event.metadata.get("reason"),
        Some(&json!("cannot verify 3"))
    );
    assert_eq!(event.metadata.get("verification_arg"), Some(&json!(3)));
    assert_eq!(
        event.metadata.get("msg"),
        Some(&json!("invalid verification method"))
    );
    assert!(event.metadata.get("monotonic_time").is_some());
    rec.assert_no_event(QUIET).await;
    // The actor survived the panic.
    assert_eq!(config.update_settings(vec![]).await, Ok(()));
}
