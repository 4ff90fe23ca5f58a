//! The parameter set of Amoc's config scenario suite, with call recorders.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amoc::config::{Config, Declarations, MapEnv, ParamDecl, ParamSpec, Verdict};
use amoc::telemetry::Telemetry;
use amoc::user_rate::declaration;
use amoc::Value;
use serde_json::json;
use tokio::sync::mpsc;

/// The bound of every wait for something that should happen.
#[path = "../common/timeout.rs"]
mod timeout;
pub use timeout::TIMEOUT;
/// How long to watch for something that should not happen.
pub const QUIET: Duration = Duration::from_millis(200);

pub type Calls = Arc<Mutex<Vec<(String, Value)>>>;

pub struct Fixture {
    pub telemetry: Telemetry,
    pub config: Config,
    /// Calls of the custom verification functions (name, value).
    pub verified: Calls,
    /// Calls of the update callbacks (name, value).
    pub updates: mpsc::UnboundedReceiver<(String, Value)>,
    pub updates_tx: mpsc::UnboundedSender<(String, Value)>,
}

impl Fixture {
    /// Telemetry and a config actor running; nothing resolved yet.
    pub fn new(env: MapEnv) -> Self {
        let telemetry = Telemetry::new();
        telemetry.start();
        let config = Config::with_env(telemetry.clone(), env);
        config.start();
        let (updates_tx, updates) = mpsc::unbounded_channel();
        Self {
            telemetry,
            config,
            verified: Calls::default(),
            updates,
            updates_tx,
        }
    }

    /// The controller's `user_rate`, a helper component's `var2`, and the scenario's
    /// `var0`..`var3` (its `var2` overriding the helper's).
    pub fn decls(&self) -> Declarations {
        let tx = self.updates_tx.clone();
        let rate_tx = tx.clone();
        let controller = vec![declaration(move |n, v| {
            let _ = rate_tx.send((n.to_owned(), json!(v)));
        })];
        let helper = vec![ParamSpec::<String>::new("var2", "var2 of the helper")
            .default("def2".into())
            .decl()];
        let v1 = self.verified.clone();
        let v3 = self.verified.clone();
        let tx2 = tx.clone();
        let scenario: Vec<ParamDecl> = vec![
            ParamSpec::<String>::new("var0", "var0").decl(),
            ParamSpec::<String>::new("var1", "var1")
                .default("def1".into())
                .verify(move |v| {
                    v1.lock().unwrap().push(("var1".into(), json!(v)));
                    Verdict::Accept
                })
                .decl(),
            ParamSpec::<String>::new("var2", "var2")
                .default("val2".into())
                .one_of(vec!["new_val2".into(), "val2".into()])
                .on_update(move |n, v| {
                    let _ = tx2.send((n.to_owned(), json!(v)));
                })
                .overriding()
                .decl(),
            ParamSpec::<String>::new("var3", "var3")
                .default("val3".into())
                .verify(move |v| {
                    v3.lock().unwrap().push(("var3".into(), json!(v)));
                    Verdict::Accept
                })
                .on_update(move |n, v| {
                    let _ = tx.send((n.to_owned(), json!(v)));
                })
                .decl(),
        ];
        Declarations::collect([
            ("amoc_controller", controller),
            ("helper", helper),
            ("scenario", scenario),
        ])
        .expect("valid declarations")
    }

    /// Resolves with the suite's regular settings: user_rate 500, var1 def1.
    pub async fn start(&self) {
        self.config
            .resolve(
                self.decls(),
                settings(&[("user_rate", json!(500)), ("var1", json!("def1"))]),
            )
            .await
            .expect("resolved");
        self.verified.lock().unwrap().clear();
    }

    pub fn verified(&self) -> Vec<(String, Value)> {
        self.verified.lock().unwrap().clone()
    }

    /// Callbacks received within `QUIET`, sorted.
    pub async fn updates_now(&mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while let Ok(Some(u)) = tokio::time::timeout(QUIET, self.updates.recv()).await {
            out.push(u);
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Exactly `n` callbacks (waiting up to `TIMEOUT` for them, then `QUIET` for extras), sorted.
    pub async fn updates(&mut self, n: usize) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while out.len() < n {
            match tokio::time::timeout(TIMEOUT, self.updates.recv()).await {
                Ok(Some(u)) => out.push(u),
                _ => break,
            }
        }
        out.extend(self.updates_now().await);
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

pub fn settings(pairs: &[(&str, Value)]) -> Vec<(String, Value)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.clone()))
        .collect()
}

pub fn pair(name: &str, value: Value) -> (String, Value) {
    (name.to_owned(), value)
}
