//! SPEC 8.7 items 7–10: runtime updates (`update_settings`).

mod config_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use amoc::config::{
    Config, ConfigError, Declarations, FailureReason, MapEnv, ParamSpec, VerificationFailure,
};
use amoc::telemetry::Telemetry;
use amoc::user_rate::{UserRate, USER_RATE};
use config_support::{pair, settings, Fixture, TIMEOUT};
use serde_json::json;

#[actix_rt::test]
async fn update_settings() {
    let mut f = Fixture::new(MapEnv::new());
    f.start().await;
    let result = f
        .config
        .update_settings(settings(&[
            ("var3", json!("new_val3")),
            ("var2", json!("new_val2")),
        ]))
        .await;
    assert_eq!(result, Ok(()));
    let view = f.config.view();
    assert_eq!(view.get::<String>("var2"), Ok("new_val2".into()));
    assert_eq!(view.get::<String>("var3"), Ok("new_val3".into()));
    assert_eq!(f.verified(), [pair("var3", json!("new_val3"))]);
    assert_eq!(
        f.updates(2).await,
        [
            pair("var2", json!("new_val2")),
            pair("var3", json!("new_val3"))
        ]
    );
}

#[actix_rt::test]
async fn update_just_one_parameter() {
    let mut f = Fixture::new(MapEnv::new());
    f.start().await;
    let r = f
        .config
        .update_settings(settings(&[("var2", json!("new_val2"))]))
        .await;
    assert_eq!(r, Ok(()));
    assert_eq!(f.updates(1).await, [pair("var2", json!("new_val2"))]);
    assert_eq!(f.verified(), []);

    let r = f
        .config
        .update_settings(settings(&[("var3", json!("new_val3"))]))
        .await;
    assert_eq!(r, Ok(()));
    assert_eq!(f.updates(1).await, [pair("var3", json!("new_val3"))]);
    assert_eq!(f.verified(), [pair("var3", json!("new_val3"))]);

    assert_eq!(f.config.update_settings(vec![]).await, Ok(()));
    assert_eq!(f.updates_now().await, []);
    assert_eq!(f.verified().len(), 1);
}

#[actix_rt::test]
async fn update_parameters_with_the_same_values() {
    let mut f = Fixture::new(MapEnv::new());
    f.start().await;
    let same = settings(&[("var2", json!("val2")), ("var3", json!("val3"))]);
    assert_eq!(f.config.update_settings(same).await, Ok(()));
    assert_eq!(f.updates_now().await, []);
    assert_eq!(f.verified(), []);

    let one_changed = settings(&[("var2", json!("val2")), ("var3", json!("new_val3"))]);
    assert_eq!(f.config.update_settings(one_changed).await, Ok(()));
    assert_eq!(f.updates(1).await, [pair("var3", json!("new_val3"))]);
    assert_eq!(f.verified(), [pair("var3", json!("new_val3"))]);
}

#[actix_rt::test]
async fn update_settings_readonly() {
    let mut f = Fixture::new(MapEnv::new());
    f.start().await;
    let r = f
        .config
        .update_settings(settings(&[
            ("var0", json!("val0")),
            ("var1", json!("def1")),
            ("var3", json!("new_val3")),
        ]))
        .await;
    assert_eq!(
        r,
        Err(ConfigError::ReadOnlyParameters(vec![
            ("var0".into(), "scenario".into()),
            ("var1".into(), "scenario".into()),
        ]))
    );
    assert_eq!(f.config.view().get::<String>("var3"), Ok("val3".into()));
    assert_eq!(f.updates_now().await, []);
    assert_eq!(f.verified(), []);
}

#[actix_rt::test]
async fn update_settings_invalid_value() {
    let mut f = Fixture::new(MapEnv::new());
    f.start().await;
    let r = f
        .config
        .update_settings(settings(&[
            ("var3", json!("new_val3")),
            ("var2", json!("invalid_val2")),
        ]))
        .await;
    assert_eq!(
        r,
        Err(ConfigError::VerificationFailed(vec![VerificationFailure {
            name: "var2".into(),
            value: Some(json!("invalid_val2")),
            reason: FailureReason::NotOneOf(vec![json!("new_val2"), json!("val2")]),
        }]))
    );
    let view = f.config.view();
    assert_eq!(view.get::<String>("var2"), Ok("val2".into()));
    assert_eq!(view.get::<String>("var3"), Ok("val3".into()));
    assert_eq!(f.updates_now().await, []);
}

#[actix_rt::test]
async fn update_settings_undef_param() {
    let mut f = Fixture::new(MapEnv::new());
    f.start().await;
    let r = f
        .config
        .update_settings(settings(&[
            ("var0", json!("val0")),
            ("var3", json!("new_val3")),
            ("invalid_var2", json!(1)),
        ]))
        .await;
    assert_eq!(
        r,
        Err(ConfigError::UndefinedParameters(
            vec!["invalid_var2".into()]
        ))
    );
    assert_eq!(f.config.view().get::<String>("var3"), Ok("val3".into()));
    assert_eq!(f.updates_now().await, []);
    assert_eq!(f.verified(), []);
}

#[actix_rt::test]
async fn update_user_rate_calls_back() {
    let mut f = Fixture::new(MapEnv::new());
    f.start().await;
    let r = f
        .config
        .update_settings(settings(&[("user_rate", json!("infinity"))]))
        .await;
    assert_eq!(r, Ok(()));
    assert_eq!(USER_RATE.get(&f.config.view()), Ok(UserRate::Infinity));
    assert_eq!(f.updates(1).await, [pair("user_rate", json!("infinity"))]);
}

#[actix_rt::test]
async fn panicking_callback_does_not_undo_the_update() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let (called_tx, mut called) = tokio::sync::mpsc::unbounded_channel();
    let decls = Declarations::collect([(
        "scenario",
        vec![
            ParamSpec::<u32>::new("fragile", "its callback panics")
                .default(1)
                .on_update(|name, v| panic!("{name} cannot take {v}"))
                .decl(),
            ParamSpec::<u32>::new("sturdy", "its callback counts")
                .default(1)
                .on_update(move |_, _| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = called_tx.send(());
                })
                .decl(),
        ],
    )])
    .unwrap();
    let config = Config::with_env(Telemetry::new(), MapEnv::new());
    config.start();
    config.resolve(decls, vec![]).await.unwrap();
    let r = config
        .update_settings(settings(&[("fragile", json!(2)), ("sturdy", json!(2))]))
        .await;
    assert_eq!(r, Ok(()));
    let waited = tokio::time::timeout(TIMEOUT, called.recv()).await;
    assert_eq!(waited, Ok(Some(())), "the sturdy callback ran");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(config.view().get::<u32>("fragile"), Ok(2));
    // The actor is still there.
    assert_eq!(
        config
            .update_settings(settings(&[("fragile", json!(3))]))
            .await,
        Ok(())
    );
    assert_eq!(config.view().get::<u32>("fragile"), Ok(3));
}

#[actix_rt::test]
async fn restarted_actor_keeps_the_table_and_reset_clears_it() {
    let f = Fixture::new(MapEnv::new());
    f.start().await;
    let addr = f.config.start(); // a second actor takes over writes
    drop(addr);
    assert_eq!(
        f.config
            .update_settings(settings(&[("var2", json!("new_val2"))]))
            .await,
        Ok(())
    );
    assert_eq!(f.config.view().get::<String>("var2"), Ok("new_val2".into()));
    assert_eq!(f.config.reset().await, Ok(()));
    assert!(f.config.view().values().is_empty());
}
