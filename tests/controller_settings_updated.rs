//! The scenario's live-update hook runs once per accepted `update_settings`, on the
//! controller, with the run's context, before the call returns; never for a refused update.

mod common;

use std::sync::{Arc, Mutex};

use amoc::config::{Param, ParamDecl};
use amoc::controller::ControllerError;
use amoc::scenario::UserContext;
use amoc::scenario::{RunContext, Scenario, ScenarioError};
use amoc::throttle::ThrottleConfig;
use common::app::{builder, infinity};
use serde_json::json;

const RATE: Param<u64> = Param::new("rate");
const LABEL: Param<String> = Param::new("label");
const FIXED: Param<u64> = Param::new("fixed");

/// One hook call: the names that changed, and `rate` as the hook read it.
type Call = (Vec<String>, u64);

/// Records every hook call (the changed names, and `rate` as the hook read it); the hook
/// starts or changes the `hooked` throttle to `rate`, and panics when `rate` is 13.
#[derive(Clone, Default)]
struct Hooked {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl Hooked {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

impl Scenario for Hooked {
    const NAME: &'static str = "hooked";
    type State = ();
    type Message = ();

    fn params(&self) -> Vec<ParamDecl> {
        vec![
            RATE.spec("a rate").default(10).updatable().decl(),
            LABEL.spec("a label").default("a".into()).updatable().decl(),
            FIXED.spec("read-only").default(1).decl(),
        ]
    }

    async fn init(&self, _: RunContext) -> Result<(), ScenarioError> {
        Ok(())
    }

    async fn start(&self, user: UserContext<Self>) -> Result<(), ScenarioError> {
        user.stopping().await;
        Ok(())
    }

    async fn settings_updated(
        &self,
        _: Arc<()>,
        ctx: RunContext,
        changed: Vec<String>,
    ) -> Result<(), ScenarioError> {
        let rate = RATE.get(ctx.config())?;
        self.calls.lock().unwrap().push((changed, rate));
        assert_ne!(rate, 13, "the hook panics on purpose");
        let config = ThrottleConfig::rate(rate);
        if ctx.throttles().info("hooked").await.is_ok() {
            ctx.throttles().change_rate("hooked", config).await?;
        } else {
            ctx.throttles().start("hooked", config).await?;
        }
        Ok(())
    }
}

fn set(name: &str, value: serde_json::Value) -> Vec<(String, amoc::Value)> {
    vec![(name.to_owned(), value)]
}

#[actix_rt::test]
async fn the_hook_runs_once_per_accepted_update_and_never_for_a_refused_one() {
    let scenario = Hooked::default();
    let app = builder().scenario(scenario.clone()).start().await.unwrap();
    let c = app.controller();
    c.run("hooked", 2, infinity()).await.unwrap();
    assert!(scenario.calls().is_empty(), "no update yet");

    c.update_settings(set("rate", json!(30))).await.unwrap();
    assert_eq!(scenario.calls(), vec![(vec!["rate".to_owned()], 30)]);
    let info = app.throttles().info("hooked").await.unwrap();
    assert_eq!(
        info.rate,
        amoc::throttle::Rate::Finite(30),
        "the hook used the run's throttles before the call returned"
    );

    let refused = [
        set("fixed", json!(2)),
        set("nope", json!(1)),
        set("rate", json!("fast")),
        vec![
            ("label".to_owned(), json!("b")),
            ("rate".to_owned(), json!(-1)),
        ],
    ];
    for settings in refused {
        let res = c.update_settings(settings.clone()).await;
        assert!(
            matches!(res, Err(ControllerError::Config(_))),
            "{settings:?} refused, got {res:?}"
        );
    }
    assert_eq!(scenario.calls().len(), 1, "no call for refused updates");

    c.update_settings(vec![
        ("label".to_owned(), json!("b")),
        ("rate".to_owned(), json!(40)),
    ])
    .await
    .unwrap();
    c.update_settings(set("rate", json!(40))).await.unwrap();
    assert_eq!(
        scenario.calls(),
        vec![
            (vec!["rate".to_owned()], 30),
            (vec!["rate".to_owned(), "label".to_owned()], 40),
            (vec![], 40),
        ],
        "once per accepted update, an unchanged one included"
    );

    c.update_settings(set("rate", json!(13))).await.unwrap();
    assert_eq!(scenario.calls().len(), 4, "a panicking hook ran once");
    assert_eq!(
        RATE.get(&app.config().view()).unwrap(),
        13,
        "and did not undo the update"
    );
    c.update_settings(set("rate", json!(14))).await.unwrap();
    assert_eq!(scenario.calls().len(), 5, "the controller lives on");

    c.stop_scenario().await.unwrap();
    common::app::status_is(c, amoc::controller::StatusKind::Finished).await;
    let res = c.update_settings(set("rate", json!(15))).await;
    assert!(matches!(res, Err(ControllerError::InvalidStatus(_))));
    assert_eq!(scenario.calls().len(), 5, "no hook outside a run");
    app.shutdown().await;
}
