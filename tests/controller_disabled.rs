//! A cluster master's controller is `Disabled` (SPEC 9): it runs no users, every run operation
//! is refused with `InvalidStatus(Disabled)`, and `reset` keeps it disabled.

mod common;

use amoc::controller::{ControllerError, StatusKind};
use common::app::{builder, infinity, users_until};
use common::scenarios::Idle;

const DISABLED: ControllerError = ControllerError::InvalidStatus(StatusKind::Disabled);

#[actix_rt::test]
async fn a_disabled_controller_refuses_every_run_operation() {
    let app = builder().scenario(Idle::default()).start().await.unwrap();
    let c = app.controller();
    c.disable().await.unwrap();
    assert_eq!(c.status().kind, StatusKind::Disabled);
    assert_eq!(c.status().kind.to_string(), "disabled");
    assert_eq!(c.start_scenario("idle", infinity()).await, Err(DISABLED));
    assert_eq!(c.add_users(1).await, Err(DISABLED));
    assert_eq!(c.remove_users(1, false).await, Err(DISABLED));
    assert_eq!(c.update_settings(infinity()).await, Err(DISABLED));
    assert_eq!(c.stop_scenario().await.map(|_| ()), Err(DISABLED));
    c.reset().await.unwrap();
    assert_eq!(c.status().kind, StatusKind::Disabled, "reset keeps it");
    assert_eq!(c.wait_finished().await, StatusKind::Disabled);
    app.shutdown().await;
}

#[actix_rt::test]
async fn a_running_controller_cannot_be_disabled() {
    let app = builder().scenario(Idle::default()).start().await.unwrap();
    let c = app.controller();
    c.run("idle", 3, infinity()).await.unwrap();
    users_until(c, |u| u.running == 3).await;
    assert_eq!(
        c.disable().await,
        Err(ControllerError::InvalidStatus(StatusKind::Running))
    );
    c.stop_scenario().await.unwrap();
    c.wait_finished().await;
    c.disable().await.unwrap();
    assert_eq!(c.status().users.running, 0);
    assert_eq!(c.status().kind, StatusKind::Disabled);
    app.shutdown().await;
}
