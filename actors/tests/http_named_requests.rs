//! Named requests through a user's HTTP handle: statistics per name, status classes,
//! expected statuses, headers, bodies and cookies per user.

use std::time::Duration;

use amoc::metrics::RunStats;
use amoc::telemetry::Telemetry;
use amoc_actors::http::{HttpClient, HttpError};
use amoc_actors::TestTarget;

async fn client(target: &TestTarget, stats: &RunStats, cookies: bool) -> HttpClient {
    HttpClient::builder(target.url())
        .cookies(cookies)
        .timeout(Duration::from_secs(5))
        .build_with(stats.clone(), Telemetry::new())
        .await
        .unwrap()
}

#[actix_rt::test]
async fn statistics_are_kept_per_request_name() {
    let target = TestTarget::start(0, 1).unwrap();
    let stats = RunStats::new();
    let mut http = client(&target, &stats, false).await.user();
    for _ in 0..3 {
        let r = http
            .get("home", "/")
            .expect_status(200)
            .send()
            .await
            .unwrap();
        assert_eq!(&r.body[..], b"ok");
    }
    let echoed = http
        .post("login", "/echo", "user=7")
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(&echoed.body[..], b"user=7");
    let missing = http.get("missing", "/status/404").send().await.unwrap();
    assert_eq!(missing.status, 404);
    let wrong = http
        .get("missing", "/status/503")
        .expect_status(200)
        .send()
        .await;
    assert!(matches!(
        wrong,
        Err(HttpError::UnexpectedStatus {
            expected: 200,
            got: 503
        })
    ));
    let bad_header = http
        .get("never", "/")
        .header("bad header", "x")
        .send()
        .await;
    assert!(matches!(bad_header, Err(HttpError::InvalidHeader(_))));
    http.get("probe", "/").unrecorded().send().await.unwrap();

    let snap = stats.snapshot();
    assert_eq!(snap.total().count, 6);
    let home = snap.get("home").unwrap();
    assert_eq!((home.count, home.classes.success, home.errors()), (3, 3, 0));
    assert_eq!(snap.get("login").map(|s| s.count), Some(1));
    let missing = snap.get("missing").unwrap();
    assert_eq!(missing.classes.client_error, 1);
    assert_eq!(missing.classes.server_error, 1);
    assert!(snap.get("never").is_none() && snap.get("probe").is_none());
    // One connection served every request of this user (plus nothing else).
    assert_eq!(target.requests(), 7);
    target.stop().await;
}

#[actix_rt::test]
async fn cookies_are_kept_per_user_when_asked() {
    let target = TestTarget::start(0, 1).unwrap();
    let stats = RunStats::new();
    let with = client(&target, &stats, true).await;
    let (mut alice, mut bob) = (with.user(), with.user());
    alice.get("set", "/cookie/alice").send().await.unwrap();
    bob.get("set", "/cookie/bob").send().await.unwrap();
    let a = alice.get("whoami", "/whoami").send().await.unwrap();
    let b = bob.get("whoami", "/whoami").send().await.unwrap();
    assert_eq!(
        (&a.body[..], &b.body[..]),
        (&b"amoc=alice"[..], &b"amoc=bob"[..])
    );
    assert_eq!(alice.cookie("amoc"), Some("alice"));

    let mut plain = client(&target, &stats, false).await.user();
    plain.get("set", "/cookie/carol").send().await.unwrap();
    let c = plain.get("whoami", "/whoami").send().await.unwrap();
    assert!(c.body.is_empty(), "cookies off, yet sent {:?}", c.body);
    target.stop().await;
}

#[actix_rt::test]
async fn failures_and_timeouts_are_counted_as_failed() {
    let target = TestTarget::start(0, 1).unwrap();
    let stats = RunStats::new();
    let slow = HttpClient::builder(target.url())
        .timeout(Duration::from_millis(100))
        .build_with(stats.clone(), Telemetry::new())
        .await
        .unwrap();
    let mut http = slow.user();
    let r = http.get("slow", "/delay/2000").send().await;
    assert!(matches!(r, Err(HttpError::Timeout(_))), "{r:?}");
    // The connection was dropped with the timeout; the next request opens a new one.
    http.get("fast", "/")
        .expect_status(200)
        .send()
        .await
        .unwrap();
    let addr = target.addr();
    target.stop().await;

    let gone = HttpClient::builder(format!("http://{addr}/"))
        .build_with(stats.clone(), Telemetry::new())
        .await
        .unwrap();
    let r = gone.user().get("gone", "/").send().await;
    assert!(matches!(r, Err(HttpError::Connect { .. })), "{r:?}");

    let snap = stats.snapshot();
    assert_eq!(snap.get("slow").map(|s| s.classes.failed), Some(1));
    assert_eq!(snap.get("fast").map(|s| s.classes.success), Some(1));
    assert_eq!(snap.get("gone").map(|s| s.classes.failed), Some(1));
}
