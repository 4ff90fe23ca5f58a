//! An embedded HTTP target: a small actix-web server on loopback, so a load test runs with
//! no setup.
//!
//! Routes: `GET /` → 200 `ok`; `GET /delay/{ms}` → 200 after `ms` milliseconds (at most
//! 10 s); `GET /status/{code}` → that status; `POST /echo` → the body back.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};

/// The embedded target server.
///
/// ```
/// # actix_rt::System::new().block_on(async {
/// let target = amoc_actors::TestTarget::start(0, 1).unwrap();
/// assert!(target.url().starts_with("http://127.0.0.1:"));
/// target.stop().await;
/// # });
/// ```
#[derive(Debug)]
pub struct TestTarget {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl TestTarget {
    /// Starts the server on `127.0.0.1:port` (0 = any free port) with `workers` threads.
    /// Must be called inside an actix system.
    pub fn start(port: u16, workers: usize) -> io::Result<Self> {
        let server = HttpServer::new(|| {
            App::new()
                .route(
                    "/",
                    web::get().to(|| async { HttpResponse::Ok().body("ok") }),
                )
                .route("/delay/{ms}", web::get().to(delay))
                .route("/status/{code}", web::get().to(status))
                .route(
                    "/echo",
                    web::post().to(|body: web::Bytes| async move { HttpResponse::Ok().body(body) }),
                )
        })
        .workers(workers.max(1))
        .backlog(4096)
        .max_connection_rate(4096);
        let (addr, handle) = spawn_server!(server, ("127.0.0.1", port), "target")?;
        Ok(Self { addr, handle })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Stops the server, letting requests in progress finish.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

async fn delay(ms: web::Path<u64>) -> HttpResponse {
    tokio::time::sleep(Duration::from_millis((*ms).min(10_000))).await;
    HttpResponse::Ok().body("ok")
}

async fn status(code: web::Path<u16>) -> HttpResponse {
    match actix_web::http::StatusCode::from_u16(*code) {
        Ok(code) => HttpResponse::build(code).finish(),
        Err(_) => HttpResponse::BadRequest().body("invalid status code"),
    }
}
