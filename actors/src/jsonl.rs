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
/// or is dropped: on graceful shutdown no received event is lost. A write error is logged
/// (with the path and the number of lines lost) and counted in [`JsonLinesWriter::errors`].
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
    out: BufWriter<File>,
    pending: u64,
    errors: u64,
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
            out: BufWriter::with_capacity(256 * 1024, file),
            pending: 0,
            errors: 0,
        })
    }

    /// Write errors seen so far.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    fn write(&mut self, event: &Event) {
        let line = Line {
            name: event.name.segments(),
            measurements: &event.measurements,
            metadata: &event.metadata,
            timestamp: system_time(),
        };
        let res = serde_json::to_writer(&mut self.out, &line)
            .map_err(io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        match res {
            Ok(()) => self.pending += 1,
            Err(e) => self.fail(&e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let res = self.out.flush();
        match &res {
            Ok(()) => self.pending = 0,
            Err(e) => self.fail(e),
        }
        res
    }

    fn fail(&mut self, e: &io::Error) {
        self.errors += 1;
        tracing::error!(path = %self.path.display(), error = %e, lines_at_risk = self.pending, "cannot write telemetry events");
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
    type Result = io::Result<()>;
}

impl Handler<Flush> for JsonLinesWriter {
    type Result = io::Result<()>;

    fn handle(&mut self, msg: Flush, ctx: &mut Self::Context) -> Self::Result {
        let res = self.flush();
        if msg.stop {
            ctx.stop();
        }
        res
    }
}
