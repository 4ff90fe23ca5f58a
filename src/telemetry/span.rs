//! Spans: `start`, then `stop` or `exception`, around a future (SPEC 2.5).

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt;
use tokio::time::Instant;

use super::{monotonic_at, system_time, Measurements, Metadata, SpanName, Telemetry};
use crate::task::panic_message;
use crate::Value;

const CONTEXT_KEY: &str = "telemetry_span_context";
static NEXT_CONTEXT: AtomicU64 = AtomicU64::new(1);

/// A fresh `telemetry_span_context` value, for spans built outside [`Telemetry::span`]
/// (the lean per-user span of `users::life`).
pub(crate) fn next_span_context() -> u64 {
    NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed)
}

/// The body of a span never fails with this error type.
#[derive(Debug)]
enum Never {}
impl Display for Never {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl Telemetry {
    /// Runs `fut` inside a span: emits `start`, then `stop` with `duration` when `fut` yields
    /// `(value, stop_metadata)`, or `exception` (kind `panic`) when it panics — the panic is
    /// then resumed. If the span is dropped before it completes, `exception` with kind `exit`
    /// and reason `cancelled` is emitted.
    ///
    /// ```
    /// # use amoc::telemetry::{Telemetry, Metadata};
    /// static WORK: amoc::telemetry::SpanName = amoc::span_name!(my_app, work);
    /// # actix_rt::System::new().block_on(async {
    /// let telemetry = Telemetry::new();
    /// let v = telemetry.span(&WORK, Metadata::new(), async { (42, Metadata::new()) }).await;
    /// assert_eq!(v, 42);
    /// # });
    /// ```
    pub async fn span<T, F>(&self, name: &'static SpanName, start_metadata: Metadata, fut: F) -> T
    where
        F: Future<Output = (T, Metadata)>,
    {
        let body = fut.map(|(v, md)| Ok::<_, Never>((v, Measurements::new(), md)));
        match self
            .run_span(name, move || start_metadata.clone(), body)
            .await
        {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// As [`span`](Self::span), for a future that also yields extra stop measurements
    /// (the standard `duration` and `monotonic_time` win over extras of the same name).
    pub async fn span_with_measurements<T, F>(
        &self,
        name: &'static SpanName,
        start_metadata: Metadata,
        fut: F,
    ) -> T
    where
        F: Future<Output = (T, Measurements, Metadata)>,
    {
        let start = move || start_metadata.clone();
        match self.run_span(name, start, fut.map(Ok::<_, Never>)).await {
            Ok(v) => v,
            Err(never) => match never {},
        }
    }

    /// As [`span`](Self::span), for a fallible future: `Err(e)` emits `exception` with kind
    /// `error` and reason `e`, and is returned to the caller.
    pub async fn try_span<T, E, F>(
        &self,
        name: &'static SpanName,
        start_metadata: Metadata,
        fut: F,
    ) -> Result<T, E>
    where
        E: Display,
        F: Future<Output = Result<(T, Metadata), E>>,
    {
        let body = fut.map(|r| r.map(|(v, md)| (v, Measurements::new(), md)));
        self.run_span(name, move || start_metadata.clone(), body)
            .await
    }

    /// As [`try_span`](Self::try_span), with the start metadata built by `start_metadata`
    /// only when an event is emitted (for spans that live long, such as a user's: nothing is
    /// kept in memory for telemetry while nobody listens, and a handler attached later still
    /// gets full metadata). The stop metadata is the future's; build it only when
    /// [`is_live`](Self::is_live).
    pub async fn try_span_with<T, E, M, F>(
        &self,
        name: &'static SpanName,
        start_metadata: M,
        fut: F,
    ) -> Result<T, E>
    where
        E: Display,
        M: Fn() -> Metadata,
        F: Future<Output = Result<(T, Metadata), E>>,
    {
        let body = fut.map(|r| r.map(|(v, md)| (v, Measurements::new(), md)));
        self.run_span(name, start_metadata, body).await
    }

    async fn run_span<T, E, M, F>(
        &self,
        name: &'static SpanName,
        start_metadata: M,
        fut: F,
    ) -> Result<T, E>
    where
        E: Display,
        M: Fn() -> Metadata,
        F: Future<Output = Result<(T, Measurements, Metadata), E>>,
    {
        let start = Instant::now();
        let fresh = NEXT_CONTEXT.fetch_add(1, Ordering::Relaxed);
        let with_context = move || {
            let mut md = start_metadata();
            if md.get(CONTEXT_KEY).is_none() {
                md.insert(CONTEXT_KEY, fresh);
            }
            md
        };
        self.execute_with(&name.start, || {
            (
                crate::measurements! {
                    "monotonic_time" => monotonic_at(start),
                    "system_time" => system_time(),
                },
                with_context(),
            )
        });
        let mut guard = SpanGuard {
            telemetry: self,
            name,
            start,
            start_metadata: &with_context,
            armed: true,
        };
        let result = AssertUnwindSafe(fut).catch_unwind().await;
        guard.armed = false;
        match result {
            Ok(Ok((value, extra, mut stop_metadata))) => {
                self.execute_with(&name.stop, || {
                    let now = Instant::now();
                    let mut m = crate::measurements! {
                        "duration" => duration_ns(start, now),
                        "monotonic_time" => monotonic_at(now),
                    };
                    m.merge_missing(&extra);
                    let context = with_context()
                        .get(CONTEXT_KEY)
                        .cloned()
                        .unwrap_or(Value::Null);
                    stop_metadata.insert(CONTEXT_KEY, context);
                    (m, stop_metadata)
                });
                Ok(value)
            }
            Ok(Err(e)) => {
                guard.emit_exception("error", e.to_string());
                Err(e)
            }
            Err(panic) => {
                guard.emit_exception("panic", panic_message(&*panic));
                std::panic::resume_unwind(panic)
            }
        }
    }
}

fn duration_ns(start: Instant, end: Instant) -> u64 {
    u64::try_from(end.saturating_duration_since(start).as_nanos()).unwrap_or(u64::MAX)
}

/// Closes the span with `exception` (kind `exit`) if it is dropped before it completes.
struct SpanGuard<'a> {
    telemetry: &'a Telemetry,
    name: &'static SpanName,
    start: Instant,
    start_metadata: &'a dyn Fn() -> Metadata,
    armed: bool,
}

impl SpanGuard<'_> {
    fn emit_exception(&self, kind: &'static str, reason: String) {
        self.telemetry.execute_with(&self.name.exception, || {
            let now = Instant::now();
            let mut md = (self.start_metadata)();
            md.insert("kind", kind);
            md.insert("reason", reason);
            md.insert("stacktrace", "");
            (
                crate::measurements! {
                    "duration" => duration_ns(self.start, now),
                    "monotonic_time" => monotonic_at(now),
                },
                md,
            )
        });
    }
}

impl Drop for SpanGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.emit_exception("exit", "cancelled".into());
        }
    }
}
