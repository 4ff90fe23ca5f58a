//! A telemetry handler that appends one JSON object per event to a file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix::{Actor, ActorContext, AsyncContext, Context, Handler, Message};
use amoc::telemetry::{system_time, Event, EventBatch};
use serde::Serialize;

/// How often buffered lines are written out while the actor runs.
const FLUSH_PERIOD: Duration = Duration::from_secs(1);

/// Writes each event it receives as one line of JSON:
/// `{"name":["amoc","throttle","rate"],"measurements":{..},"metadata":{..},"timestamp":ns}`,
/// where `timestamp` is the wall-clock time (ns since the UNIX epoch) the line was written.
///
/// Lines are buffered and written out every second, on [`Flush`], and when the actor stops
/// or is dropped: on graceful shutdown no received event is lost.
///
/// Failure: the first write error is logged once (with the path) and ends the writing: the
/// file cannot be trusted to hold every event after it, so later events are counted as lost
/// rather than written with a gap. [`Flush`] then answers [`EventsError`] with the cause and
/// the count, so a caller reports the loss once and fails (the CLI exits 1).
///
/// ```no_run
/// use actix::Actor;
/// use amoc::telemetry::{AttachOptions, EventPattern, Telemetry};
/// use amoc_actors::JsonLinesWriter;
/// # actix_rt::System::new().block_on(async {
/// let telemetry = Telemetry::new();
/// telemetry.start();
/// let writer = JsonLinesWriter::create("events.jsonl").unwrap().start();
/// telemetry
///     .attach("jsonl", EventPattern::prefix(&["amoc"]), writer.recipient(), AttachOptions::default())
///     .await
///     .unwrap();
/// # });
/// ```
#[derive(Debug)]
pub struct JsonLinesWriter {
    path: PathBuf,
    /// `None` once a write failed.
    out: Option<BufWriter<File>>,
    pending: u64,
    failure: Option<io::Error>,
    lost: u64,
    log_failure: bool,
}

/// The events file could not be written: the first error, and how many events are lost.
#[derive(Debug, thiserror::Error)]
#[error("cannot write events to {}: {source} ({lost} events lost)", path.display())]
pub struct EventsError {
    /// The file.
    pub path: PathBuf,
    /// The first write error.
    #[source]
    pub source: io::Error,
    /// Events received and not written (those buffered when it failed included).
    pub lost: u64,
}

#[derive(Serialize)]
struct Line<'a> {
    name: &'a [&'a str],
    measurements: &'a amoc::telemetry::Measurements,
    metadata: &'a amoc::telemetry::Metadata,
    timestamp: i64,
}

impl JsonLinesWriter {
    /// Opens `path` for appending (creating it if needed).
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Self {
            path,
            out: Some(BufWriter::with_capacity(256 * 1024, file)),
            pending: 0,
            failure: None,
            lost: 0,
            log_failure: true,
        })
    }

    /// Leaves reporting a failure to the caller, who learns of it from [`Flush`] (the CLI
    /// asks every second and reports it in one line); by default it is also logged.
    pub fn without_failure_log(mut self) -> Self {
        self.log_failure = false;
        self
    }

    /// Whether a write has failed (the writer then writes nothing more).
    pub fn failed(&self) -> bool {
        self.failure.is_some()
    }

    /// The failure, if a write failed: its cause and the events lost so far.
    fn error(&self) -> Option<EventsError> {
        self.failure.as_ref().map(|e| EventsError {
            path: self.path.clone(),
            source: io::Error::new(e.kind(), e.to_string()),
            lost: self.lost,
        })
    }

    fn write(&mut self, event: &Event) {
        let Some(out) = &mut self.out else {
            self.lost += 1;
            return;
        };
        let line = Line {
            name: event.name.segments(),
            measurements: &event.measurements,
            metadata: &event.metadata,
            timestamp: system_time(),
        };
        let res = serde_json::to_writer(&mut *out, &line)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        match res {
            Ok(()) => self.pending += 1,
            Err(e) => self.fail(e, 1),
        }
    }

    fn flush(&mut self) -> Result<(), EventsError> {
        if let Some(out) = &mut self.out {
            match out.flush() {
                Ok(()) => self.pending = 0,
                Err(e) => self.fail(e, 0),
            }
        }
        self.error().map_or(Ok(()), Err)
    }

    /// Records the first failure, logged once: the buffered lines (and `more`) are lost, and
    /// the buffer is dropped unwritten so the file never gets lines after a gap.
    fn fail(&mut self, e: io::Error, more: u64) {
        self.lost += self.pending + more;
        self.pending = 0;
        if let Some(out) = self.out.take() {
            drop(out.into_parts());
        }
        if self.log_failure {
            tracing::error!(path = %self.path.display(), error = %e, "cannot write events; no more will be written");
        }
        self.failure = Some(e);
    }
}

impl Actor for JsonLinesWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(FLUSH_PERIOD, |act, _| {
            let _ = act.flush();
        });
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        let _ = self.flush();
    }
}

impl Handler<EventBatch> for JsonLinesWriter {
    type Result = ();

    fn handle(&mut self, batch: EventBatch, _: &mut Self::Context) {
        for event in &batch.events {
            self.write(event);
        }
    }
}

/// Writes out buffered lines now; with `stop: true` the writer then stops.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flush {
    /// Stop the writer after flushing.
    pub stop: bool,
}

impl Message for Flush {
    type Result = Result<(), EventsError>;
}

impl Handler<Flush> for JsonLinesWriter {
    type Result = Result<(), EventsError>;

    fn handle(&mut self, msg: Flush, ctx: &mut Self::Context) -> Self::Result {
        let res = self.flush();
        if msg.stop {
            ctx.stop();
        }
        res
    }
}
