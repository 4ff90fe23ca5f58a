//! OTP-style supervision on actix: supervisors own their children's tasks, see every end of
//! them exactly once, and restart them by Erlang/OTP's rules (SPEC section 3).
//!
//! # Children
//!
//! A [`ChildSpec`] names a start function. The function receives a [`ChildStarter`], spawns
//! the child actor with it (on the current arbiter, or on any arbiter with
//! [`ChildStarter::spawn_on`]) and returns [`Start::Started`] with the [`ChildHandle`], or
//! [`Start::Ignore`]. The supervisor owns the task: a watcher awaits it and reports one exit
//! reason, whatever the arbiter:
//!
//! * the actor stopped by itself → the reason it recorded with
//!   [`ChildContext::stop_with`] (or the reason of the [`StopRequest`] it obeyed), else
//!   [`ExitReason::Normal`];
//! * a handler panicked → [`ExitReason::Panicked`] with the message. Only that child's task
//!   ends: its arbiter and the other actors on it go on;
//! * the task was aborted (brutal kill, shutdown timeout, [`ChildRef::kill`]) →
//!   [`ExitReason::Killed`].
//!
//! [`ExitReason::is_normal`] is true for `Normal`, `Shutdown` and `ShutdownWith`.
//!
//! # Restarts and intensity
//!
//! A child that exits *on its own* is restarted if it is `Permanent` (any reason) or
//! `Transient` (abnormal reason); `Temporary` children are never restarted and their spec is
//! removed. Only such restarts count toward the intensity: each restart attempt (including
//! every retry of a failed start) records the current instant; instants older than `period`
//! are forgotten; if more than `intensity` remain, the supervisor gives up. A group restart
//! (`OneForAll`, `RestForOne`) counts once. `start_child`, `restart_child`,
//! `terminate_child` and group-restart bystanders never count. A failed restart is retried
//! through the supervisor's own mailbox, so management calls and shutdown are served
//! between attempts.
//!
//! Giving up: the supervisor logs `reached_max_restart_intensity`, stops its remaining
//! children in reverse start order and exits with `Shutdown`. Its parent then applies its
//! own rules: a permanent child supervisor is restarted there (costing the parent one unit),
//! so failure escalates up the tree.
//!
//! # Shutdown
//!
//! A static [`Supervisor`] stops its children one at a time, newest first; a
//! [`DynamicSupervisor`] asks all of them at once and arms one timer. Per child:
//! `BrutalKill` aborts at once; `Timeout(t)` sends [`StopRequest`]`(Shutdown)`, waits `t`,
//! then aborts; `Infinity` sends the request and waits (the default for supervisors). A
//! stop request is handled like any message: after those already queued.
//!
//! **What abort cannot interrupt:** an abort takes effect at the child's next `.await`; a
//! handler that never yields (a busy loop, blocking I/O) cannot be stopped. After an abort
//! the supervisor waits at most 5 s more, reports `shutdown_error` (reason `unkillable`),
//! forgets the task and carries on.
//!
//! While a supervisor stops or starts children it serves no other message (as an OTP
//! supervisor is busy during a restart). A supervisor that itself panics or is dropped
//! aborts all its children (OTP's links); its parent sees `Panicked`.
//!
//! Reports go to `tracing`: child started (debug), child exited abnormally (error),
//! child restarted (info), `reached_max_restart_intensity` (error), `shutdown_error`
//! (error).
//!
//! ```
//! use amoc::supervisor::*;
//! # struct Worker;
//! # impl actix::Actor for Worker { type Context = actix::Context<Self>; }
//! # #[actix_rt::main] async fn main() {
//! let worker = ChildSpec::new("worker", |starter| async move {
//!     let (_addr, handle) = starter.spawn_local(|_cx| Worker);
//!     Ok(Start::Started(handle, None))
//! });
//! let flags = SupFlags::new(Strategy::OneForOne).intensity(3, std::time::Duration::from_secs(5));
//! let sup = Supervisor::start(move || Init::Supervise(flags, vec![worker.clone()]))
//!     .await
//!     .unwrap()
//!     .running()
//!     .unwrap();
//! let child = sup.which_child("worker").await.unwrap().child().cloned().unwrap();
//! child.kill(); // restarted with a new ChildRef
//! # let _ = child.wait().await;
//! # assert_ne!(sup.which_child("worker").await.unwrap().child(), Some(&child));
//! assert_eq!(sup.stop().await, ExitReason::Shutdown);
//! # }
//! ```
mod child;
mod dynamic;
mod dynamic_core;
mod errors;
mod exit;
mod info;
mod intensity;
mod runner;
mod shutdown;
mod spec;
mod static_core;
mod static_sup;
mod strategy;

pub use child::{ChildHandle, ChildRef, ChildStarter};
pub use dynamic::{DynamicSupervisor, DynamicSupervisorRef};
pub use errors::{ChildError, StartError, SupervisorStartError};
pub use exit::{ChildContext, ExitReason, StopRequest};
pub use info::{ChildCounts, ChildInfo, ChildStarted, ChildState};
pub use spec::{
    validate_all, AutoShutdown, ChildKind, ChildSpec, Restart, Shutdown, SpecError, Start, StartFn,
    StartFuture, Strategy, SupFlags, DEFAULT_WORKER_SHUTDOWN,
};
pub use static_sup::{Init, Started, Supervisor, SupervisorRef};
