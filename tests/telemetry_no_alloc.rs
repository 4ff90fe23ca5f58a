//! `execute` with no matching handler allocates nothing (a counting global allocator).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::Actor;
use amoc::telemetry::{AttachOptions, EventBatch, EventName, Telemetry};
use amoc::{event_name, measurements, metadata};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

static UNHEARD: EventName = event_name!(no_alloc, unheard);
static HEARD: EventName = event_name!(no_alloc, heard);

struct Sink;
impl Actor for Sink {
    type Context = actix::Context<Self>;
}
impl actix::Handler<EventBatch> for Sink {
    type Result = ();
    fn handle(&mut self, _: EventBatch, _: &mut Self::Context) {}
}

fn allocations_during(t: &Telemetry, n: usize) -> usize {
    let before = ALLOCS.load(Ordering::SeqCst);
    for i in 0..n {
        t.execute_with(&UNHEARD, || {
            (
                measurements! { "i" => i },
                metadata! { "text" => format!("{i}") },
            )
        });
    }
    ALLOCS.load(Ordering::SeqCst) - before
}

#[actix_rt::test]
async fn execute_without_matching_handler_does_not_allocate() {
    let t = Telemetry::new();
    t.start();
    // Warm up: intern the name once.
    allocations_during(&t, 1);
    assert_eq!(allocations_during(&t, 10_000), 0, "no handler at all");

    t.attach(
        "sink",
        &HEARD,
        Sink.start().recipient(),
        AttachOptions::default(),
    )
    .await
    .unwrap();
    allocations_during(&t, 1);
    assert_eq!(
        allocations_during(&t, 10_000),
        0,
        "handlers on other names only"
    );
}
