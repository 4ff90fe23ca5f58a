//! Event patterns: which event names a handler is attached to.

use std::fmt;

use super::event::EventName;
use super::TelemetryError;

/// What a handler is attached to.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum EventPattern {
    /// Exactly this name.
    Exact(Vec<String>),
    /// Every name strictly longer than these segments that starts with them
    /// (`[amoc, throttle, *]`). An explicit opt-in: it never changes what `Exact` matches.
    Prefix(Vec<String>),
}

impl EventPattern {
    /// `Exact` from segments.
    pub fn exact(segments: &[&str]) -> Self {
        EventPattern::Exact(segments.iter().map(|s| (*s).to_owned()).collect())
    }

    /// `Prefix` from segments.
    pub fn prefix(segments: &[&str]) -> Self {
        EventPattern::Prefix(segments.iter().map(|s| (*s).to_owned()).collect())
    }

    /// The fixed segments of the pattern.
    pub fn segments(&self) -> &[String] {
        match self {
            EventPattern::Exact(s) | EventPattern::Prefix(s) => s,
        }
    }

    /// Whether an event with this name reaches a handler attached with this pattern.
    pub fn matches(&self, name: &[&str]) -> bool {
        match self {
            EventPattern::Exact(s) => {
                s.len() == name.len() && s.iter().zip(name).all(|(a, b)| a == b)
            }
            EventPattern::Prefix(s) => {
                s.len() < name.len() && s.iter().zip(name).all(|(a, b)| a == b)
            }
        }
    }

    /// Whether `list_handlers(prefix)` lists this pattern: its fixed segments start with `prefix`.
    pub fn listed_under(&self, prefix: &[&str]) -> bool {
        let s = self.segments();
        prefix.len() <= s.len() && s.iter().zip(prefix).all(|(a, b)| a == b)
    }

    pub(crate) fn validate(&self) -> Result<(), TelemetryError> {
        let s = self.segments();
        if s.is_empty() || s.iter().any(|seg| seg.is_empty()) {
            return Err(TelemetryError::InvalidEventName(self.to_string()));
        }
        Ok(())
    }
}

impl From<&'static EventName> for EventPattern {
    fn from(name: &'static EventName) -> Self {
        EventPattern::exact(name.segments())
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventPattern::Exact(s) => write!(f, "[{}]", s.join(", ")),
            EventPattern::Prefix(s) => write!(f, "[{}, *]", s.join(", ")),
        }
    }
}

impl fmt::Debug for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_matches_only_itself() {
        let p = EventPattern::exact(&["a", "b"]);
        assert!(p.matches(&["a", "b"]));
        assert!(!p.matches(&["a"]));
        assert!(!p.matches(&["a", "b", "c"]));
    }

    #[test]
    fn prefix_matches_longer_names_only() {
        let p = EventPattern::prefix(&["amoc", "throttle"]);
        assert!(p.matches(&["amoc", "throttle", "rate"]));
        assert!(!p.matches(&["amoc", "throttle"]));
        assert!(!p.matches(&["amoc", "coordinator", "add"]));
    }

    #[test]
    fn listing_is_segment_wise() {
        let p = EventPattern::exact(&["a", "test", "event"]);
        for prefix in [&[][..], &["a"], &["a", "test"], &["a", "test", "event"]] {
            assert!(p.listed_under(prefix));
        }
        assert!(!p.listed_under(&["a", "test", "event", "x"]));
        assert!(!p.listed_under(&["a", "te"]));
    }

    #[test]
    fn empty_names_are_invalid() {
        assert!(EventPattern::exact(&[]).validate().is_err());
        assert!(EventPattern::exact(&["a", ""]).validate().is_err());
        assert!(EventPattern::prefix(&["a"]).validate().is_ok());
    }
}
