//! An embedded HTTP target: a small actix-web server on loopback, so a load test runs with
//! no setup.
//!
//! Routes: `GET /` → 200 `ok`; `GET /delay/{ms}` → 200 after `ms` milliseconds (at most
//! 10 s); `GET /status/{code}` → that status; `POST /echo` → the body back; `GET /cookie/{v}`
//! → sets cookie `amoc={v}`; `GET /whoami` → the request's `Cookie` header. The server
//! counts the requests it answered ([`TestTarget::requests`]), so a test can compare a
//! report with what the target saw. [`TestTarget::start_tls`] serves HTTPS.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

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
    requests: Arc<AtomicU64>,
    tls: bool,
}

impl TestTarget {
    /// Starts the server on `127.0.0.1:port` (0 = any free port) with `workers` threads.
    /// Must be called inside an actix system.
    pub fn start(port: u16, workers: usize) -> io::Result<Self> {
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let server = HttpServer::new(move || app(counter.clone()))
            .workers(workers.max(1))
            .backlog(4096)
            .max_connection_rate(4096);
        let (addr, handle) = spawn_server!(server, ("127.0.0.1", port), "target")?;
        Ok(Self {
            addr,
            handle,
            requests,
            tls: false,
        })
    }

    /// As [`start`](Self::start), serving HTTPS with `config` (a certificate and its key).
    pub fn start_tls(port: u16, workers: usize, config: rustls::ServerConfig) -> io::Result<Self> {
        let requests = Arc::new(AtomicU64::new(0));
        let counter = requests.clone();
        let server = HttpServer::new(move || app(counter.clone()))
            .workers(workers.max(1))
            .backlog(4096)
            .disable_signals()
            .bind_rustls_0_23(("127.0.0.1", port), config)?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| io::Error::other("target bound to no address"))?;
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        Ok(Self {
            addr,
            handle,
            requests,
            tls: true,
        })
    }

    /// Requests answered so far (every route counts).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Acquire)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/` (`https://` when serving TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
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

fn app(
    counter: Arc<AtomicU64>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .wrap_fn(move |req, srv| {
            use actix_web::dev::Service;
            let counter = counter.clone();
            let fut = srv.call(req);
            async move {
                let res = fut.await;
                counter.fetch_add(1, Ordering::AcqRel);
                res
            }
        })
        .route(
            "/",
            web::get().to(|| async { HttpResponse::Ok().body("ok") }),
        )
        .route("/delay/{ms}", web::get().to(delay))
        .route("/status/{code}", web::get().to(status))
        .route("/cookie/{value}", web::get().to(set_cookie))
        .route("/whoami", web::get().to(whoami))
        .route(
            "/echo",
            web::post().to(|body: web::Bytes| async move { HttpResponse::Ok().body(body) }),
        )
}

async fn set_cookie(value: web::Path<String>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("set-cookie", format!("amoc={}; Path=/; HttpOnly", *value)))
        .body("ok")
}

async fn whoami(req: HttpRequest) -> HttpResponse {
    let cookie = req
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    HttpResponse::Ok().body(cookie)
}
