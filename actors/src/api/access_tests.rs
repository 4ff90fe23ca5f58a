use proptest::prelude::*;

use super::*;

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

fn token(text: &str) -> ApiToken {
    ApiToken::new(text).unwrap()
}

fn head<'a>(host: &'a str, auth: Option<&'a str>, origin: Option<&'a str>) -> RequestHead<'a> {
    RequestHead {
        host: Some(host),
        origin,
        authorization: auth,
    }
}

#[test]
fn exposure_is_loopback_only_when_every_address_is() {
    assert_eq!(Exposure::of(&[addr("127.0.0.1:4000")]), Exposure::Loopback);
    assert_eq!(Exposure::of(&[addr("[::1]:4000")]), Exposure::Loopback);
    assert_eq!(Exposure::of(&[addr("127.0.0.9:1")]), Exposure::Loopback);
    assert_eq!(Exposure::of(&[addr("0.0.0.0:4000")]), Exposure::Beyond);
    assert_eq!(Exposure::of(&[addr("[::]:4000")]), Exposure::Beyond);
    assert_eq!(Exposure::of(&[addr("192.168.1.5:4000")]), Exposure::Beyond);
    let mixed = [addr("127.0.0.1:4000"), addr("10.0.0.1:4000")];
    assert_eq!(Exposure::of(&mixed), Exposure::Beyond);
    assert_eq!(Exposure::of(&[]), Exposure::Beyond);
}

#[test]
fn beyond_loopback_a_token_is_required() {
    let err = AccessPolicy::new(&[addr("0.0.0.0:4000")], None, None, false).unwrap_err();
    assert_eq!(err, PolicyError::TokenRequired);
    assert!(AccessPolicy::new(&[addr("10.1.2.3:4000")], None, None, true).is_err());
    let p = AccessPolicy::new(&[addr("0.0.0.0:4000")], None, Some(token("s3cret")), false).unwrap();
    assert_eq!(p.exposure(), Exposure::Beyond);
    // Any Host on an unspecified address, but never without the token.
    assert_eq!(
        p.check(&head("203.0.113.7:4000", None, None)),
        Err(Refusal::Unauthorized)
    );
    assert_eq!(
        p.check(&head("203.0.113.7:4000", Some("Bearer wrong"), None)),
        Err(Refusal::Unauthorized)
    );
    assert_eq!(
        p.check(&head("203.0.113.7:4000", Some("Bearer s3cret"), None)),
        Ok(())
    );
    assert_eq!(Refusal::Unauthorized.status(), 401);
}

#[test]
fn on_loopback_the_token_is_optional_but_honoured() {
    let open = AccessPolicy::new(&[addr("127.0.0.1:4000")], None, None, false).unwrap();
    assert!(!open.requires_token());
    assert_eq!(open.check(&head("127.0.0.1:4000", None, None)), Ok(()));
    let closed =
        AccessPolicy::new(&[addr("127.0.0.1:4000")], None, Some(token("t")), false).unwrap();
    assert_eq!(
        closed.check(&head("127.0.0.1:4000", None, None)),
        Err(Refusal::Unauthorized)
    );
    assert_eq!(
        closed.check(&head("127.0.0.1:4000", Some("bearer t"), None)),
        Ok(())
    );
}

#[test]
fn hosts_name_the_listener_and_nothing_else() {
    let p = AccessPolicy::new(&[addr("127.0.0.1:4000")], Some("Amoc.Lan"), None, false).unwrap();
    for ok in [
        "127.0.0.1:4000",
        "localhost:4000",
        "LOCALHOST:4000",
        "amoc.lan:4000",
    ] {
        assert_eq!(p.check(&head(ok, None, None)), Ok(()), "{ok}");
    }
    for bad in ["evil.example:4000", "127.0.0.1:4001", "localhost", ""] {
        assert_eq!(
            p.check(&head(bad, None, None)),
            Err(Refusal::ForeignHost),
            "{bad}"
        );
    }
    let missing = RequestHead::default();
    assert_eq!(p.check(&missing), Err(Refusal::ForeignHost));
    let v6 = AccessPolicy::new(&[addr("[::1]:80")], None, None, false).unwrap();
    assert_eq!(v6.check(&head("[::1]:80", None, None)), Ok(()));
    assert_eq!(v6.check(&head("[::1]", None, None)), Ok(()), "default port");
    assert_eq!(v6.check(&head("localhost", None, None)), Ok(()));
}

#[test]
fn a_present_origin_must_be_the_apis_own() {
    let p = AccessPolicy::new(&[addr("127.0.0.1:4000")], None, None, false).unwrap();
    let own = head("127.0.0.1:4000", None, Some("http://127.0.0.1:4000"));
    assert_eq!(p.check(&own), Ok(()));
    for bad in [
        "https://evil.example",
        "null",
        "http://127.0.0.1:4001",
        "https://127.0.0.1:4000",
        "http://127.0.0.1:4000.evil.example",
    ] {
        let req = head("127.0.0.1:4000", None, Some(bad));
        assert_eq!(p.check(&req), Err(Refusal::ForeignOrigin), "{bad}");
    }
    let tls = AccessPolicy::new(&[addr("127.0.0.1:4000")], None, None, true).unwrap();
    let own = head("localhost:4000", None, Some("https://localhost:4000"));
    assert_eq!(tls.check(&own), Ok(()));
}

#[test]
fn tokens_are_checked_on_input_and_never_shown() {
    assert_eq!(ApiToken::new(""), Err(TokenError::Empty));
    assert_eq!(ApiToken::new("\n"), Err(TokenError::Empty));
    assert_eq!(ApiToken::new("two words"), Err(TokenError::Invalid));
    assert_eq!(token("abc\n").reveal(), "abc");
    assert_eq!(format!("{:?}", token("abc")), "ApiToken(..)");
    let t = ApiToken::generate().unwrap();
    assert_eq!(t.reveal().len(), 64);
    assert_ne!(t, ApiToken::generate().unwrap());
    assert!(t.matches(&format!("Bearer {}", t.reveal())));
    assert!(!t.matches(t.reveal()), "the scheme is required");
    assert!(!t.matches(&format!("Basic {}", t.reveal())));
}

#[test]
fn json_content_types() {
    assert!(is_json(Some("application/json")));
    assert!(is_json(Some("Application/JSON; charset=utf-8")));
    for bad in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonp"),
    ] {
        assert!(!is_json(bad), "{bad:?}");
    }
}

proptest! {
    /// Only the exact token passes, whatever is guessed.
    #[test]
    fn only_the_exact_token_passes(secret in "[!-~]{1,40}", guess in "[ -~]{0,44}") {
        let t = token(&secret);
        prop_assert_eq!(t.matches(&format!("Bearer {guess}")), guess.trim() == secret);
        let exact = format!("Bearer {secret}");
        prop_assert!(t.matches(&exact));
    }

    /// A listener is loopback-only exactly when all its addresses are loopback, and then only
    /// does it serve without a token.
    #[test]
    fn a_token_is_required_exactly_beyond_loopback(
        ips in proptest::collection::vec(any::<[u8; 4]>(), 1..4),
        port in 1u16..,
    ) {
        let addrs: Vec<SocketAddr> = ips
            .iter()
            .map(|b| SocketAddr::from((std::net::Ipv4Addr::from(*b), port)))
            .collect();
        let loopback = ips.iter().all(|b| b[0] == 127);
        prop_assert_eq!(AccessPolicy::new(&addrs, None, None, false).is_ok(), loopback);
    }
}
