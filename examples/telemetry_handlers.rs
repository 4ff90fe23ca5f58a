//! Telemetry handlers: attach the tracing logger and a custom handler actor, emit a few events
//! and a span, and see a handler crash being survived.
//!
//! Run: `cargo run --example telemetry_handlers`

use std::time::Duration;

use actix::{Actor, Context, Handler};
use amoc::telemetry::{
    names, AttachOptions, EventBatch, EventName, EventPattern, Metadata, SpanName, Telemetry,
};
use amoc::{event_name, measurements, metadata, span_name};
use amoc_actors::TracingLogger;

static LOGIN: EventName = event_name!(example, login);
static CRASH: EventName = event_name!(example, crash);
static CHECKOUT: SpanName = span_name!(example, checkout);

/// A custom handler: counts logins and crashes when it sees `[example, crash]`.
struct LoginCounter {
    logins: u64,
}

impl Actor for LoginCounter {
    type Context = Context<Self>;
}

impl Handler<EventBatch> for LoginCounter {
    type Result = ();
    fn handle(&mut self, batch: EventBatch, _: &mut Self::Context) {
        for event in &batch.events {
            if event.name == &CRASH {
                panic!(
                    "the login counter crashed on purpose after {} logins",
                    self.logins
                );
            }
            self.logins += 1;
            println!("login counter: {} logins so far", self.logins);
        }
    }
}

#[actix_rt::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt().with_target(false).init();
    let telemetry = Telemetry::new();
    telemetry.start();

    // The tracing logger sees every event of the example and telemetry's own reports.
    let logger = TracingLogger::default().start();
    let patterns = [
        EventPattern::prefix(&["example"]),
        EventPattern::prefix(&["telemetry"]),
    ];
    telemetry
        .attach_many(
            "logger",
            patterns,
            logger.recipient(),
            AttachOptions::default(),
        )
        .await?;

    // The custom handler is spawned by telemetry, which owns its task and sees its panic.
    let arbiter = actix_rt::Arbiter::current();
    let patterns = [EventPattern::from(&LOGIN), EventPattern::from(&CRASH)];
    telemetry
        .spawn_handler(
            "login-counter",
            patterns,
            &arbiter,
            || LoginCounter { logins: 0 },
            AttachOptions::default(),
        )
        .await?;

    for user in 1..=3 {
        telemetry.execute(
            &LOGIN,
            measurements! { "count" => 1u64 },
            metadata! { "user" => user },
        );
    }
    let total = telemetry
        .span(&CHECKOUT, metadata! { "cart" => "3 items" }, async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            (42, metadata! { "paid" => true })
        })
        .await;
    println!("checkout span returned {total}");

    // The counter crashes; telemetry detaches it and reports a failure; the logger goes on.
    telemetry.execute(&CRASH, Default::default(), Metadata::new());
    telemetry.flush(Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    telemetry.execute(
        &LOGIN,
        measurements! { "count" => 1u64 },
        metadata! { "user" => 4 },
    );
    telemetry.flush(Duration::from_secs(5)).await;

    for h in telemetry.list_handlers(&[]) {
        println!(
            "still attached: {} on {} (delivered {}, dropped {})",
            h.id, h.pattern, h.delivered, h.dropped
        );
    }
    let _ = &names::HANDLER_FAILURE;
    telemetry.shutdown().await;
    Ok(())
}
