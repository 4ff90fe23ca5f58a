//! [`HttpError::class`]: which [`ErrorClass`] a failed request is counted under.
//!
//! The class is read from the error's cause chain (the variant, then the I/O error kind),
//! not from its message, so it holds whichever layer saw the failure first.

use std::error::Error as StdError;
use std::io;

use amoc::metrics::ErrorClass;

use super::HttpError;

impl HttpError {
    /// The class a report counts this failure under: a refused connection, a timeout, a
    /// connection closed before the response was whole, or another failure. An
    /// [`UnexpectedStatus`](HttpError::UnexpectedStatus) is classed by the status received.
    pub fn class(&self) -> ErrorClass {
        match self {
            HttpError::Timeout(_) => return ErrorClass::Timeout,
            HttpError::Closed => return ErrorClass::ClosedBeforeResponse,
            HttpError::UnexpectedStatus { got, .. } => {
                return ErrorClass::of_status(*got).unwrap_or(ErrorClass::OtherFailure)
            }
            _ => {}
        }
        let mut cause: Option<&(dyn StdError + 'static)> = StdError::source(self);
        while let Some(c) = cause {
            if let Some(class) = class_of_cause(c) {
                return class;
            }
            cause = c.source();
        }
        ErrorClass::OtherFailure
    }
}

fn class_of_cause(c: &(dyn StdError + 'static)) -> Option<ErrorClass> {
    if let Some(e) = c.downcast_ref::<io::Error>() {
        return match e.kind() {
            io::ErrorKind::ConnectionRefused => Some(ErrorClass::ConnectRefused),
            io::ErrorKind::TimedOut => Some(ErrorClass::Timeout),
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => Some(ErrorClass::ClosedBeforeResponse),
            _ => None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn classes_come_from_the_cause() {
        let refused = HttpError::Connect {
            addr: ([127, 0, 0, 1], 1).into(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(refused.class(), ErrorClass::ConnectRefused);
        let reset = HttpError::Tls(io::Error::from(io::ErrorKind::ConnectionReset));
        assert_eq!(reset.class(), ErrorClass::ClosedBeforeResponse);
        let timeout = HttpError::Timeout(Duration::from_secs(1));
        assert_eq!(timeout.class(), ErrorClass::Timeout);
        let status = HttpError::UnexpectedStatus {
            expected: 200,
            got: 503,
        };
        assert_eq!(status.class(), ErrorClass::Status5xx);
        assert_eq!(HttpError::Closed.class(), ErrorClass::ClosedBeforeResponse);
        assert_eq!(
            HttpError::InvalidHeader("x".into()).class(),
            ErrorClass::OtherFailure
        );
    }
}
