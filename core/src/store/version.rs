//! Optimistic concurrency: what version the writer believes the stream is at.

use std::fmt;

/// The version a writer expects a stream to be at when it appends.
///
/// | value | appends when | otherwise |
/// |---|---|---|
/// | `NoStream` | the stream has no event | [`Conflict`](crate::StoreError::Conflict) |
/// | `Exact(n)` | the stream is at version `n` (`Exact(0)` is `NoStream`) | `Conflict` |
/// | `Any` | always; concurrent `Any` writers queue and get consecutive versions | — |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExpectedVersion {
    /// The stream must not exist yet.
    NoStream,
    /// The stream must be at exactly this version.
    Exact(u64),
    /// No check: append at the end, whatever the version.
    Any,
}

impl ExpectedVersion {
    /// The version the stream must be at, or `None` for [`ExpectedVersion::Any`].
    pub fn required_version(self) -> Option<u64> {
        match self {
            Self::NoStream => Some(0),
            Self::Exact(version) => Some(version),
            Self::Any => None,
        }
    }

    /// Whether a stream currently at `actual` satisfies this expectation.
    pub fn admits(self, actual: u64) -> bool {
        self.required_version().is_none_or(|required| required == actual)
    }
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoStream => f.write_str("no stream"),
            Self::Exact(version) => write!(f, "version {version}"),
            Self::Any => f.write_str("any version"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExpectedVersion::{Any, Exact, NoStream};

    #[test]
    fn admits_follows_the_table() {
        assert!(NoStream.admits(0));
        assert!(!NoStream.admits(1));
        assert!(Exact(0).admits(0));
        assert!(Exact(3).admits(3));
        assert!(!Exact(3).admits(2));
        assert!(!Exact(3).admits(4));
        assert!(Any.admits(0) && Any.admits(99));
    }
}
