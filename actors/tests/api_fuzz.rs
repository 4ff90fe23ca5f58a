//! A bounded fuzz of the control API: a few thousand random requests (methods, paths,
//! headers, bodies, content types) never get a 5xx, never crash the server, and leave its
//! memory flat.

mod api_support;

use api_support::{try_request, Api};
use serde_json::json;

/// xorshift64*: a reproducible stream (the seed is printed on failure).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const METHODS: &[&str] = &[
    "GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "FOO",
];
const PATHS: &[&str] = &[
    "/status",
    "/status/local",
    "/status/amoc@far",
    "/status/%00",
    "/nodes",
    "/scenarios",
    "/scenarios/info/idle",
    "/scenarios/defaults/nope",
    "/metrics",
    "/openapi.json",
    "/execution/start",
    "/execution/add_users",
    "/execution/remove_users",
    "/execution/update_settings",
    "/execution/stop",
    "/execution/reset",
    "/",
    "//status",
    "/status/../execution/reset",
    "/execution/start?x=1",
    "/%e2%82%ac",
    "/scenarios/info/",
];
const TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=z",
    "application/jsonx",
    "",
];

fn body(rng: &mut Rng) -> Vec<u8> {
    let number = match rng.below(6) {
        0 => json!(-1),
        1 => json!(u64::MAX),
        2 => json!(1.5),
        3 => json!("12"),
        4 => json!(null),
        _ => json!(rng.below(40)),
    };
    match rng.below(10) {
        0 => json!({"scenario": "idle", "users": number, "settings": {"user_rate": "infinity"}})
            .to_string()
            .into_bytes(),
        1 => json!({"scenario": "nope", "settings": {"pause_ms": number}})
            .to_string()
            .into_bytes(),
        2 => json!({"users": number, "force": rng.below(2) == 1})
            .to_string()
            .into_bytes(),
        3 => json!({"count": number, "nodes": ["local"]})
            .to_string()
            .into_bytes(),
        4 => json!({"settings": {"pause_ms": number, "user_rate": number}})
            .to_string()
            .into_bytes(),
        5 => b"{}".to_vec(),
        6 => Vec::new(),
        7 => (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        8 => vec![b'['; 2000 + rng.below(10_000)],
        _ => b"{\"users\": ".to_vec(),
    }
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[actix_rt::test]
async fn random_requests_get_no_5xx_and_memory_stays_flat() {
    let api = Api::with_token("fuzz-token").await;
    let addr = api.addr();
    let seed = 0x005e_ed0f_a111;
    let mut rng = Rng(seed);
    let own_host = addr.to_string();
    let mut rss_after_warmup = 0;
    const REQUESTS: usize = 3000;
    for i in 0..REQUESTS {
        if i == 500 {
            rss_after_warmup = rss_kb();
        }
        let method = rng.pick(METHODS);
        let path = rng.pick(PATHS);
        let mut headers: Vec<(&str, String)> = Vec::new();
        match rng.below(10) {
            0 => {}
            1 => headers.push(("authorization", "Bearer wrong".into())),
            2 => headers.push(("authorization", "Basic fuzz-token".into())),
            _ => headers.push(("authorization", "Bearer fuzz-token".into())),
        }
        let content_type = rng.pick(TYPES);
        if !content_type.is_empty() {
            headers.push(("content-type", content_type.into()));
        }
        match rng.below(12) {
            0 => headers.push(("origin", "https://evil.example".into())),
            1 => headers.push(("origin", format!("http://{own_host}"))),
            2 => headers.push(("host", "evil.example".into())),
            3 => headers.push(("host", "".into())),
            4 => headers.push(("content-length", "99999999".into())),
            5 => headers.push(("accept", "application/openmetrics-text".into())),
            _ => {}
        }
        let body = body(&mut rng);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let res = try_request(addr, method, path, &headers, &body).await;
        let res = res.unwrap_or_else(|| panic!("request {i} (seed {seed:#x}): no connection"));
        assert!(
            res.status < 500,
            "request {i} (seed {seed:#x}) {method} {path} {headers:?}: {} {}",
            res.status,
            res.text()
        );
    }
    let rss_end = rss_kb();
    // The server still answers, and did not grow with the requests.
    let status = api.call("GET", "/status", None).await;
    assert_eq!(status.status, 200);
    if rss_after_warmup > 0 {
        assert!(
            rss_end < rss_after_warmup + 32 * 1024,
            "RSS grew from {rss_after_warmup} kB to {rss_end} kB over {REQUESTS} requests"
        );
    }
    api.shutdown().await;
}
