//! What went wrong, as one line, a hint, and an exit code scripts can rely on.

use std::fmt;
use std::process::ExitCode;

use pupsourcing::{BackendError, BackendErrorKind, EncryptionError, StoreError, WorkerError};

/// The class of a failure; each has its own exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Anything else (exit code 1).
    Failed,
    /// The command line is wrong: a bad URL, option or value (exit code 2, as clap's own).
    Usage,
    /// The consumer, stream, event or table does not exist (exit code 3).
    NotFound,
    /// The operation was refused: not confirmed, or not allowed in the current state (exit code 4).
    Refused,
    /// The database cannot be reached (exit code 5).
    Unreachable,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Self::Failed => 1,
            Self::Usage => 2,
            Self::NotFound => 3,
            Self::Refused => 4,
            Self::Unreachable => 5,
        }
    }
}

/// A failed command.
#[derive(Debug)]
pub(crate) struct CliError {
    kind: Kind,
    message: String,
    hint: Option<String>,
}

impl CliError {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), hint: None }
    }

    #[must_use]
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.code())
    }

    fn backend(err: &BackendError) -> Self {
        match err.kind() {
            BackendErrorKind::Connection => Self::new(Kind::Unreachable, err.to_string())
                .hint("is the database running, and the URL right?"),
            BackendErrorKind::Schema => Self::new(Kind::NotFound, err.to_string()).hint(
                "check --schema, --prefix and the table options, or create the tables with \
                 `pupsourcing migrate --apply`",
            ),
            BackendErrorKind::Privilege => Self::new(Kind::Refused, err.to_string())
                .hint("the URL's user lacks a privilege the command needs"),
            _ => Self::new(Kind::Failed, err.to_string()),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl From<BackendError> for CliError {
    fn from(err: BackendError) -> Self {
        Self::backend(&err)
    }
}

impl From<StoreError> for CliError {
    fn from(err: StoreError) -> Self {
        match &err {
            StoreError::Backend(backend) => Self::backend(backend),
            StoreError::InvalidInput(_) => Self::new(Kind::Usage, err.to_string()),
            _ => Self::new(Kind::Failed, err.to_string()),
        }
    }
}

impl From<WorkerError> for CliError {
    fn from(err: WorkerError) -> Self {
        match err {
            WorkerError::Backend(backend) => Self::backend(&backend),
            WorkerError::Store(store) => store.into(),
            WorkerError::UnknownConsumer(name) => {
                Self::new(Kind::NotFound, format!("no consumer named {name:?}"))
                    .hint("`pupsourcing status` lists the consumers the workers run")
            }
            WorkerError::Repartitioning(name) => Self::new(
                Kind::Refused,
                format!("consumer {name:?} is being repartitioned; its checkpoints cannot move"),
            )
            .hint("try again once `pupsourcing status` shows no drain limit"),
            WorkerError::InvalidInput(_) => Self::new(Kind::Usage, err.to_string()),
            other => Self::new(Kind::Failed, other.to_string()),
        }
    }
}

impl From<EncryptionError> for CliError {
    fn from(err: EncryptionError) -> Self {
        match &err {
            EncryptionError::Backend(backend) => Self::backend(backend),
            EncryptionError::InvalidInput(_) | EncryptionError::Configuration { .. } => {
                Self::new(Kind::Usage, err.to_string())
            }
            EncryptionError::KeyNotFound { .. } | EncryptionError::Shredded { .. } => {
                Self::new(Kind::NotFound, err.to_string())
            }
            _ => Self::new(Kind::Failed, err.to_string()),
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(err: std::io::Error) -> Self {
        Self::new(Kind::Failed, err.to_string())
    }
}

pub(crate) type Result<T, E = CliError> = std::result::Result<T, E>;
