//! A `Transfer-Encoding: chunked` decoder (RFC 9112 §7.1) that takes its input in pieces as
//! they arrive: it consumes what it can, keeps its place, and asks for more.

use super::wire::{ResponseError, MAX_HEAD};

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before a chunk-size line.
    Size,
    /// Inside a chunk's data: bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines up to an empty one.
    Trailers,
    /// The body is complete.
    Done,
}

/// Decodes one chunked body.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
}

impl ChunkedDecoder {
    /// At the start of a body.
    pub(crate) fn new() -> Self {
        Self { state: State::Size }
    }

    /// Whether the last chunk and the trailers have been read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Decodes from `input`, appending chunk data to `out`; returns how many bytes of `input`
    /// it consumed (the rest is an incomplete line: pass it again with more bytes after it).
    /// Stops at the end of the body: bytes after it are not consumed.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, ResponseError> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match self.state {
                State::Done => return Ok(pos),
                // `httparse` reads an empty size line as 0: a size needs a digit.
                State::Size if rest.first().is_some_and(|b| !b.is_ascii_hexdigit()) => {
                    return Err(ResponseError::Chunked("invalid chunk size"))
                }
                State::Size => match httparse::parse_chunk_size(rest) {
                    Ok(httparse::Status::Complete((used, size))) => {
                        pos += used;
                        self.state = if size == 0 {
                            State::Trailers
                        } else {
                            State::Data(size)
                        };
                    }
                    Ok(httparse::Status::Partial) if rest.len() > MAX_HEAD => {
                        return Err(ResponseError::Chunked("chunk-size line too long"))
                    }
                    Ok(httparse::Status::Partial) => return Ok(pos),
                    Err(_) => return Err(ResponseError::Chunked("invalid chunk size")),
                },
                State::Data(left) => {
                    if rest.is_empty() {
                        return Ok(pos);
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(rest.len());
                    out.extend_from_slice(&rest[..n]);
                    pos += n;
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                }
                State::DataEnd => {
                    if rest.len() < 2 {
                        return match rest {
                            [] | [b'\r'] => Ok(pos),
                            _ => Err(ResponseError::Chunked("no CRLF after chunk data")),
                        };
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(ResponseError::Chunked("no CRLF after chunk data"));
                    }
                    pos += 2;
                    self.state = State::Size;
                }
                State::Trailers => match rest.windows(2).position(|w| w == b"\r\n") {
                    // An empty line ends the body; trailer fields are skipped.
                    Some(0) => {
                        pos += 2;
                        self.state = State::Done;
                    }
                    Some(end) => pos += end + 2,
                    None if rest.len() > MAX_HEAD => {
                        return Err(ResponseError::Chunked("trailer too long"))
                    }
                    None => return Ok(pos),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(pieces: &[&[u8]]) -> Result<(Vec<u8>, usize, bool), ResponseError> {
        let mut d = ChunkedDecoder::new();
        let (mut out, mut pending, mut used_total) = (Vec::new(), Vec::new(), 0);
        for piece in pieces {
            pending.extend_from_slice(piece);
            let used = d.decode(&pending, &mut out)?;
            used_total += used;
            pending.drain(..used);
        }
        Ok((out, used_total, d.is_done()))
    }

    #[test]
    fn decodes_a_body_in_one_piece() {
        let body = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        let (out, used, done) = decode_all(&[body]).unwrap();
        assert_eq!(
            (out.as_slice(), used, done),
            (&b"hello, world"[..], body.len(), true)
        );
    }

    #[test]
    fn decodes_a_body_split_at_every_byte() {
        let body = b"A\r\n0123456789\r\n1\r\n!\r\n0\r\nx-trailer: 1\r\n\r\n";
        let pieces: Vec<&[u8]> = body.chunks(1).collect();
        let (out, used, done) = decode_all(&pieces).unwrap();
        assert_eq!(
            (out.as_slice(), used, done),
            (&b"0123456789!"[..], body.len(), true)
        );
    }

    #[test]
    fn stops_at_the_end_of_the_body() {
        let (out, used, done) = decode_all(&[b"2\r\nok\r\n0\r\n\r\nHTTP/1.1 200"]).unwrap();
        assert_eq!((out.as_slice(), used, done), (&b"ok"[..], 12, true));
    }

    #[test]
    fn waits_for_more_when_incomplete() {
        let (out, _, done) = decode_all(&[b"5\r\nhel"]).unwrap();
        assert_eq!((out.as_slice(), done), (&b"hel"[..], false));
        let (_, _, done) = decode_all(&[b"0\r\n"]).unwrap();
        assert!(!done, "the empty line after the last chunk is missing");
    }

    #[test]
    fn refuses_garbage() {
        for bad in [&b"zz\r\n"[..], b"5\r\nhelloXX", b"\r\n", b"1\r\nab\r\n"] {
            assert!(
                matches!(decode_all(&[bad]), Err(ResponseError::Chunked(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = vec![b'1'; 20];
        assert!(decode_all(&[&long]).is_err(), "a size of more than 64 bits");
    }
}
