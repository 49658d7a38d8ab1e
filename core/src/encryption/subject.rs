//! Whose personal data a field holds.

use std::fmt;

use crate::EncryptionError;
use crate::spi::KeyId;

/// A data subject: a key scope (the kind of subject, such as `"users"` or `"tenants"`) and the
/// subject's id within it. Every field of one subject is encrypted with the subject's data key,
/// and shredding the subject erases all of them. Checked once, when made: 1 to 512 bytes each,
/// no NUL.
///
/// ```
/// use pupsourcing::encryption::Subject;
///
/// let ann = Subject::new("users", "ann")?;
/// assert_eq!((ann.scope(), ann.id()), ("users", "ann"));
/// assert_eq!(ann.to_string(), "users/ann");
/// assert!(Subject::new("users", "").is_err());
/// # Ok::<(), pupsourcing::EncryptionError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    scope: String,
    id: String,
}

impl Subject {
    /// The subject `id` in `scope`, refused with [`EncryptionError::InvalidInput`] when either
    /// is empty, longer than 512 bytes or holds a NUL character.
    pub fn new(scope: impl Into<String>, id: impl Into<String>) -> Result<Self, EncryptionError> {
        let (scope, id) = (scope.into(), id.into());
        KeyId::check_names(&scope, &id)?;
        Ok(Self { scope, id })
    }

    /// The key scope.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The subject's id within its scope.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.scope, self.id)
    }
}
