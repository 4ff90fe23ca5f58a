use super::*;

/// Measures and parses a head that is complete.
fn parse(text: &[u8], head_request: bool) -> Result<Head, ResponseError> {
    let len = head_len(text)?.expect("complete");
    parse_head(&Bytes::copy_from_slice(&text[..len]), head_request)
}

fn head(text: &str) -> Head {
    parse(text.as_bytes(), false).unwrap()
}

#[test]
fn encodes_a_get_with_host_cookies_and_headers() {
    let mut out = bytes::BytesMut::new();
    let host = HeaderValue::from_static("127.0.0.1:8080");
    let cookies = [("a".to_owned(), "1".to_owned()), ("b".into(), "2".into())];
    let headers = [(
        HeaderName::from_static("accept"),
        HeaderValue::from_static("text/html"),
    )];
    encode_request(
        &mut out,
        &Method::GET,
        "/x?y=1",
        &host,
        &cookies,
        &headers,
        0,
    );
    assert_eq!(
        String::from_utf8(out.to_vec()).unwrap(),
        "GET /x?y=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\ncookie: a=1; b=2\r\naccept: text/html\r\n\r\n"
    );
}

#[test]
fn encodes_the_length_of_a_body_and_keeps_a_given_host() {
    let mut out = Vec::new();
    let host = HeaderValue::from_static("h");
    let headers = [(HOST_NAME, HeaderValue::from_static("other"))];
    encode_request(&mut out, &Method::POST, "/", &host, &[], &headers, 1234);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "POST / HTTP/1.1\r\ncontent-length: 1234\r\nhost: other\r\n\r\n"
    );
    let mut out = Vec::new();
    encode_request(&mut out, &Method::PUT, "/", &host, &[], &[], 0);
    assert!(String::from_utf8(out)
        .unwrap()
        .contains("content-length: 0\r\n"));
}

const HOST_NAME: HeaderName = http::header::HOST;

#[test]
fn frames_by_content_length() {
    let text = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: x\r\n\r\nok";
    assert_eq!(head_len(text), Ok(Some(47)));
    let h = parse(text, false).unwrap();
    assert_eq!(
        (h.status, h.framing, h.keep_alive),
        (200, Framing::Length(2), true)
    );
    assert_eq!(h.headers["date"], "x");
    // Bare LF line ends, as httparse accepts them.
    assert_eq!(head_len(b"HTTP/1.1 200 OK\nA: b\n\nbody"), Ok(Some(22)));
    let h = head("HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length:  2 \r\n\r\n");
    assert_eq!(h.framing, Framing::Length(2));
}

#[test]
fn frames_chunked_by_the_last_coding() {
    let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n");
    assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, true));
    let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n");
    assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
    // Both framings: chunked wins, and the connection is not reused.
    let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n");
    assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, false));
}

#[test]
fn knows_bodyless_responses() {
    for status in ["204 No Content", "304 Not Modified", "100 Continue"] {
        let h = head(&format!("HTTP/1.1 {status}\r\nContent-Length: 5\r\n\r\n"));
        assert_eq!(h.framing, Framing::Empty, "{status}");
    }
    let h = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true).unwrap();
    assert_eq!(h.framing, Framing::Empty, "the answer to HEAD");
}

#[test]
fn decides_keep_alive() {
    let h = head("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n");
    assert!(!h.keep_alive);
    let h = head("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert!(!h.keep_alive, "HTTP/1.0 closes by default");
    let h = head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
    assert!(h.keep_alive);
    let h = head("HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
}

#[test]
fn waits_for_a_head_split_anywhere() {
    let text = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    for cut in 0..text.len() {
        assert_eq!(head_len(&text[..cut]), Ok(None), "cut at {cut}");
    }
    assert_eq!(parse(text, false).unwrap().status, 404);
}

#[test]
fn refuses_garbage() {
    assert_eq!(head_len(b"garbage"), Err(ResponseError::Version));
    assert_eq!(head_len(b"HTTX"), Err(ResponseError::Version));
    assert!(matches!(
        parse(b"HTTP/1.1 2x0 OK\r\n\r\n", false),
        Err(ResponseError::Head(_))
    ));
    assert!(matches!(
        parse(b"HTTP/2.0 200 OK\r\n\r\n", false),
        Err(ResponseError::Version | ResponseError::Head(_))
    ));
    assert!(matches!(
        parse(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", false),
        Err(ResponseError::Head(_))
    ));
    for length in ["-1", "1x", "", "99999999999999999999", "1, 2"] {
        let text = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
        assert_eq!(
            parse(text.as_bytes(), false),
            Err(ResponseError::ContentLength),
            "{length:?}"
        );
    }
    let text = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    assert_eq!(
        parse(text.as_bytes(), false),
        Err(ResponseError::ContentLength)
    );
    let mut huge = b"HTTP/1.1 200 OK\r\nx: ".to_vec();
    huge.resize(MAX_HEAD + 10, b'a');
    assert_eq!(head_len(&huge), Err(ResponseError::HeadTooLarge));
    let many: String = (0..=MAX_HEADERS).map(|i| format!("h{i}: v\r\n")).collect();
    let text = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
    assert_eq!(
        parse(text.as_bytes(), false),
        Err(ResponseError::HeadTooLarge)
    );
}

#[test]
fn header_values_share_the_head() {
    let text = b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Y: z\r\n\r\n";
    let h = parse(text, false).unwrap();
    let cookies: Vec<_> = h.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(h.headers["x-y"], "z");
}
