//! The SQL dialects the schema is rendered for.

use std::fmt;
use std::str::FromStr;

use sea_query::{ColumnDef, IntoIden};

/// A database backend with its own DDL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// PostgreSQL 13 or later (the position function uses `pg_current_xact_id()`).
    Postgres,
    /// SQLite 3.35 or later.
    Sqlite,
}

impl Backend {
    /// The lowercase name used by the CLI and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown backend name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {0:?}: expected postgres or sqlite")]
pub struct UnknownBackend(pub String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Self::Postgres),
            "sqlite" | "sqlite3" => Ok(Self::Sqlite),
            _ => Err(UnknownBackend(s.to_owned())),
        }
    }
}

/// A time column written from the database clock: `timestamptz` on PostgreSQL, integer
/// microseconds since the Unix epoch on SQLite.
pub(crate) fn clock(backend: Backend, column: impl IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    match backend {
        Backend::Postgres => def.timestamp_with_time_zone(),
        Backend::Sqlite => def.big_integer(),
    };
    def
}
