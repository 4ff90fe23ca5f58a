//! `GET /throttles` and `PATCH /throttles/{name}` on one node: the rates the throttles
//! report, a change that the throttle applies, typed refusals, and the access rules.

mod api_support;

use std::time::Duration;

use amoc::throttle::{Rate, ThrottleConfig};
use api_support::{request, Api};
use serde_json::json;

#[actix_rt::test]
async fn throttles_are_listed_and_their_rates_changed() {
    let api = Api::start().await;
    let t = api.app.throttles();
    t.start(
        "logins",
        ThrottleConfig::rate_per(10, Duration::from_secs(1)),
    )
    .await
    .unwrap();
    t.start("slots", ThrottleConfig::concurrency(3))
        .await
        .unwrap();
    let permit = t.wait("logins").await.unwrap();
    drop(permit);

    let all = api.call("GET", "/throttles", None).await.json();
    let logins = &all["throttles"]["logins"];
    assert_eq!(logins["kind"], "rate", "{all}");
    assert_eq!(logins["rate"], 10);
    assert_eq!(logins["interval_ms"], 1000);
    assert_eq!(logins["granted"], 1);
    assert_eq!(logins["waiting"], 0);
    assert!(logins["missed"].is_u64(), "{all}");
    assert_eq!(all["throttles"]["slots"]["kind"], "concurrency");
    assert_eq!(all["throttles"]["slots"]["rate"], 3);

    let change = json!({"rate": 250, "interval_ms": 500});
    let res = api.call("PATCH", "/throttles/logins", Some(&change)).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["throttle"]["rate"], 250);
    let info = t.info("logins").await.unwrap();
    assert_eq!(
        (info.rate, info.interval),
        (Rate::Finite(250), Duration::from_millis(500))
    );
    let res = api
        .call(
            "PATCH",
            "/throttles/slots",
            Some(&json!({"concurrency": 7})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(t.info("slots").await.unwrap().rate, Rate::Finite(7));
    let res = api
        .call(
            "PATCH",
            "/throttles/slots",
            Some(&json!({"rate": "unlimited"})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["throttle"]["kind"], "unlimited");
    assert_eq!(t.info("slots").await.unwrap().rate, Rate::Unlimited);

    let res = api
        .call("PATCH", "/throttles/nope", Some(&json!({"rate": 1})))
        .await;
    assert_eq!(res.status, 404);
    assert!(res.error().contains("no such throttle"), "{}", res.text());
    let too_long = json!({"rate": 1, "interval_ms": 5_000_000_000u64});
    let res = api
        .call("PATCH", "/throttles/logins", Some(&too_long))
        .await;
    assert_eq!(res.status, 422, "{}", res.text());
    assert!(res.error().contains("invalid throttle config"));
    let res = api
        .call("PATCH", "/throttles/logins", Some(&json!({"rate": "fast"})))
        .await;
    assert_eq!(res.status, 400);
    res.error();
    assert_eq!(t.info("logins").await.unwrap().rate, Rate::Finite(250));
    api.shutdown().await;
}

#[actix_rt::test]
async fn changing_a_rate_takes_json_and_the_token() {
    let api = Api::with_token("s3cret").await;
    api.app
        .throttles()
        .start("t", ThrottleConfig::rate(5))
        .await
        .unwrap();
    let body = br#"{"rate": 9}"#;
    let form = [
        ("authorization", "Bearer s3cret"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let res = request(api.addr(), "PATCH", "/throttles/t", &form, body).await;
    assert_eq!(res.status, 415);
    let no_token = [("content-type", "application/json")];
    let res = request(api.addr(), "PATCH", "/throttles/t", &no_token, body).await;
    assert_eq!(res.status, 401);
    let res = request(api.addr(), "GET", "/throttles", &[], b"").await;
    assert_eq!(res.status, 401);
    let res = api
        .call("PATCH", "/throttles/t", Some(&json!({"rate": 9})))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let info = api.app.throttles().info("t").await.unwrap();
    assert_eq!(info.rate, Rate::Finite(9));
    api.shutdown().await;
}
