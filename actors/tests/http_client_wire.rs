//! The HTTP client on the wire, against scripted servers on 127.0.0.1 that answer exactly
//! what each test needs (framings, split writes, closes, garbage), and against the embedded
//! target for bodies larger than a connection's buffer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amoc::metrics::RunStats;
use amoc::telemetry::Telemetry;
use amoc_actors::http::{HttpClient, HttpError, UserHttp};
use amoc_actors::TestTarget;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One answer: pieces written with a pause between them.
type Answer = Vec<&'static [u8]>;

/// A scripted server: its URL, its count of accepted connections, and the count of
/// connections it has closed (awaitable).
struct Scripted {
    url: String,
    accepted: Arc<AtomicUsize>,
    closed: watch::Receiver<usize>,
}

/// A server whose `i`th connection follows `scripts[i]` (the last one for later
/// connections): each request is answered with the script's next answer, and after the last
/// one the connection is closed.
async fn scripted(scripts: Vec<Vec<Answer>>) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let (closes, closed) = watch::channel(0);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let i = count.fetch_add(1, Ordering::SeqCst);
            let script = scripts[i.min(scripts.len() - 1)].clone();
            let closes = closes.clone();
            tokio::spawn(async move {
                answer(stream, script).await;
                closes.send_modify(|n| *n += 1);
            });
        }
    });
    Scripted {
        url,
        accepted,
        closed,
    }
}

async fn answer(mut stream: TcpStream, answers: Vec<Answer>) {
    let mut buf = Vec::new();
    for pieces in answers {
        // Wait for a whole request head (these tests send no bodies).
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0; 1024];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        buf.drain(..end);
        for piece in pieces {
            if stream.write_all(piece).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

async fn user(url: &str) -> UserHttp {
    HttpClient::builder(url)
        .timeout(Duration::from_secs(5))
        .build_with(RunStats::new(), Telemetry::new())
        .await
        .unwrap()
        .user()
}

#[actix_rt::test]
async fn reads_a_chunked_body_split_across_writes_and_keeps_the_connection() {
    let answer: Vec<&[u8]> = vec![
        b"HTTP/1.1 200 OK\r\nTransfer-",
        b"Encoding: chunked\r\nX-A: 1\r\n\r\n5\r\nhel",
        b"lo\r\n7;x=y\r\n, wor",
        b"ld\r\n0\r\n",
        b"\r\n",
    ];
    let Scripted { url, accepted, .. } = scripted(vec![vec![answer.clone(), answer]]).await;
    let mut http = user(&url).await;
    for _ in 0..2 {
        let r = http.get("chunked", "/").send().await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"hello, world"[..]));
        assert_eq!(r.headers["x-a"], "1");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one kept-alive connection"
    );
}

#[actix_rt::test]
async fn connection_close_and_bodies_until_close_open_a_new_connection() {
    let Scripted { url, accepted, .. } = scripted(vec![vec![
        vec![b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\none"],
        // Never used: the client must not send a second request on this connection.
        vec![b"HTTP/1.1 500 Wrong\r\nContent-Length: 0\r\n\r\n"],
    ]])
    .await;
    let mut http = user(&url).await;
    for _ in 0..2 {
        let r = http.get("close", "/").send().await.unwrap();
        assert_eq!((r.status, &r.body[..]), (200, &b"one"[..]));
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2);

    let Scripted { url, accepted, .. } = scripted(vec![vec![vec![
        b"HTTP/1.1 200 OK\r\n\r\nuntil ",
        b"the end",
    ]]])
    .await;
    let mut http = user(&url).await;
    for _ in 0..2 {
        let r = http.get("eof", "/").send().await.unwrap();
        assert_eq!(&r.body[..], b"until the end");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[actix_rt::test]
async fn a_connection_closed_mid_response_is_an_error_and_the_next_request_reconnects() {
    let Scripted { url, accepted, .. } = scripted(vec![
        vec![vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..",
        ]],
        vec![vec![b"HTTP/1.1 200 OK\r\nContent-Le"]],
        vec![vec![b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]],
    ])
    .await;
    let stats = RunStats::new();
    let mut http = HttpClient::builder(&url)
        .build_with(stats.clone(), Telemetry::new())
        .await
        .unwrap()
        .user();
    for _ in 0..2 {
        let r = http.get("cut", "/").send().await;
        assert!(matches!(r, Err(HttpError::Closed)), "{r:?}");
    }
    let r = http.get("whole", "/").send().await.unwrap();
    assert_eq!(&r.body[..], b"ok");
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    let snap = stats.snapshot();
    assert_eq!(snap.get("cut").map(|s| s.classes.failed), Some(2));
}

#[actix_rt::test]
async fn an_idle_connection_the_server_closed_is_replaced() {
    // Each connection answers one request, then the server closes it (no `Connection:
    // close` said): the client must notice, or retry its GET on a new connection.
    let Scripted {
        url,
        accepted,
        mut closed,
    } = scripted(vec![vec![vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]]])
    .await;
    let mut http = user(&url).await;
    for i in 1..=3 {
        let r = http.get("again", "/").send().await.unwrap();
        assert_eq!(&r.body[..], b"ok");
        assert_eq!(accepted.load(Ordering::SeqCst), i);
        // The next request goes out only once the server has closed this connection.
        closed.wait_for(|n| *n >= i).await.unwrap();
    }
}

#[actix_rt::test]
async fn interim_responses_are_skipped_and_garbage_is_refused() {
    let Scripted { url, .. } = scripted(vec![vec![
        vec![b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"],
        vec![b"NOT HTTP AT ALL\r\n\r\n"],
    ]])
    .await;
    let mut http = user(&url).await;
    let r = http.get("created", "/").send().await.unwrap();
    assert_eq!((r.status, r.body.len()), (201, 0));
    let r = http.get("garbage", "/").send().await;
    assert!(matches!(r, Err(HttpError::InvalidResponse(_))), "{r:?}");

    let Scripted { url, .. } = scripted(vec![vec![vec![
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n",
    ]]])
    .await;
    let r = user(&url).await.get("bad chunk", "/").send().await;
    assert!(matches!(r, Err(HttpError::InvalidResponse(_))), "{r:?}");
}

#[actix_rt::test]
async fn bodies_larger_than_the_buffer_go_both_ways() {
    let target = TestTarget::start(0, 1).unwrap();
    let mut http = user(&target.url()).await;
    for size in [0, 1, 511, 512, 513, 70_000, 3_000_000] {
        let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let r = http
            .post("echo", "/echo", body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body == body, "{size} bytes echoed as {}", r.body.len());
        let r = http.get("small", "/").send().await.unwrap();
        assert_eq!(&r.body[..], b"ok");
    }
    let head = http
        .request(http::Method::HEAD, "head", "/", Default::default())
        .send()
        .await
        .unwrap();
    assert_eq!(head.status, 404, "no HEAD route");
    assert_eq!(target.requests(), 15);
    target.stop().await;
}
