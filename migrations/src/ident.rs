//! Validated SQL identifiers.
//!
//! Table and schema names are configurable, so they end up inside SQL text. Rather than trusting
//! quoting alone, names are restricted to `[A-Za-z_][A-Za-z0-9_]*` and quoted as well: no name can
//! carry a quote, a dot or a comment marker, and every derived name (sequence, index, function)
//! stays within PostgreSQL's 63-byte limit.

use std::fmt;

/// Longest accepted name. Derived names append at most 14 bytes, staying under 63.
pub const MAX_IDENT_LEN: usize = 48;

/// A table or schema name that is safe to put into SQL.
///
/// ```
/// use pupsourcing_migrations::Ident;
///
/// assert!(Ident::new("app_events").is_ok());
/// assert!(Ident::new("events; DROP TABLE users").is_err());
/// assert_eq!(Ident::new("Events")?.quoted(), "\"Events\"");
/// # Ok::<(), pupsourcing_migrations::NameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ident(String);

impl Ident {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        let mut chars = name.chars();
        let valid_start = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !valid_start || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(NameError::Invalid { name });
        }
        if name.len() > MAX_IDENT_LEN {
            return Err(NameError::TooLong { len: name.len(), max: MAX_IDENT_LEN, name });
        }
        Ok(Self(name))
    }

    /// The bare name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name in double quotes, as PostgreSQL and SQLite expect a quoted identifier.
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }

    /// A derived name (`<self><suffix>`), for sequences, indexes, constraints and functions.
    pub fn with_suffix(&self, suffix: &str) -> Ident {
        Ident(format!("{}{}", self.0, suffix))
    }

    pub(crate) fn new_static(name: &'static str) -> Ident {
        Ident(name.to_owned())
    }

    pub(crate) fn prefixed(&self, prefix: &str) -> Result<Ident, NameError> {
        Ident::new(format!("{prefix}{}", self.0))
    }
}

impl fmt::Display for Ident {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A refused table or schema name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name has a character outside `[A-Za-z0-9_]` or starts with a digit, or is empty.
    #[error(
        "invalid SQL name {name:?}: use letters, digits and underscores, not starting with a digit"
    )]
    Invalid {
        /// The refused name.
        name: String,
    },
    /// The name is longer than [`MAX_IDENT_LEN`].
    #[error("SQL name {name:?} is {len} bytes, more than the {max} allowed")]
    TooLong {
        /// The refused name.
        name: String,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The backend has no schemas (SQLite).
    #[error("the {backend} backend does not support a schema name")]
    SchemaUnsupported {
        /// The backend.
        backend: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names_and_refuses_everything_else() {
        for ok in ["events", "_x", "A1_b2", &"e".repeat(MAX_IDENT_LEN)] {
            assert!(Ident::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1events", "ev-ents", "ev\"ents", "a.b", "événements", "x y", "t--"] {
            assert!(matches!(Ident::new(bad), Err(NameError::Invalid { .. })), "{bad}");
        }
        assert!(matches!(
            Ident::new("e".repeat(MAX_IDENT_LEN + 1)),
            Err(NameError::TooLong { .. })
        ));
    }
}
