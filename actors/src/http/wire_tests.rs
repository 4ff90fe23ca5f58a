use super::*;

fn head(text: &str) -> Head {
    parse_head(text.as_bytes(), false)
        .unwrap()
        .expect("complete")
}

#[test]
fn encodes_a_get_with_host_cookies_and_headers() {
    let mut out = Vec::new();
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
        String::from_utf8(out).unwrap(),
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
    let h = head("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nDate: x\r\n\r\nok");
    assert_eq!(
        h,
        Head {
            status: 200,
            len: 47,
            framing: Framing::Length(2),
            keep_alive: true
        }
    );
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
    let h = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true)
        .unwrap()
        .unwrap();
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
        assert_eq!(parse_head(&text[..cut], false), Ok(None), "cut at {cut}");
    }
    assert_eq!(parse_head(text, false).unwrap().unwrap().status, 404);
}

#[test]
fn refuses_garbage() {
    assert!(matches!(
        parse_head(b"garbage\r\n\r\n", false),
        Err(ResponseError::Version | ResponseError::Head(_))
    ));
    assert!(matches!(
        parse_head(b"HTTP/1.1 2x0 OK\r\n\r\n", false),
        Err(ResponseError::Head(_))
    ));
    assert!(matches!(
        parse_head(b"HTTP/2.0 200 OK\r\n\r\n", false),
        Err(ResponseError::Version | ResponseError::Head(_))
    ));
    for length in ["-1", "1x", "", "99999999999999999999", "1, 2"] {
        let text = format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\n\r\n");
        assert_eq!(
            parse_head(text.as_bytes(), false),
            Err(ResponseError::ContentLength),
            "{length:?}"
        );
    }
    let text = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    assert_eq!(
        parse_head(text.as_bytes(), false),
        Err(ResponseError::ContentLength)
    );
    let mut huge = b"HTTP/1.1 200 OK\r\nx: ".to_vec();
    huge.resize(MAX_HEAD + 10, b'a');
    assert_eq!(parse_head(&huge, false), Err(ResponseError::HeadTooLarge));
    let many: String = (0..=MAX_HEADERS).map(|i| format!("h{i}: v\r\n")).collect();
    let text = format!("HTTP/1.1 200 OK\r\n{many}\r\n");
    assert_eq!(
        parse_head(text.as_bytes(), false),
        Err(ResponseError::HeadTooLarge)
    );
}

#[test]
fn header_values_share_the_head() {
    let head = Bytes::from_static(
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nX-Y: z\r\n\r\n",
    );
    let map = header_map(&head).unwrap();
    let cookies: Vec<_> = map.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(map["x-y"], "z");
}
