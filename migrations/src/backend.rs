//! The SQL dialects the schema is rendered for.

use std::fmt;
use std::str::FromStr;

use sea_query::{Alias, ColumnDef, IntoIden};

/// A database backend with its own DDL dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// PostgreSQL 13 or later (the position function uses `pg_current_xact_id()`).
    Postgres,
    /// SQLite 3.35 or later.
    Sqlite,
    /// MariaDB 10.6 or later (tested), MySQL 8.0 or later (best effort), InnoDB.
    Mysql,
}

impl Backend {
    /// The lowercase name used by the CLI and in file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
            Self::Mysql => "mysql",
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
#[error("unknown backend {0:?}: expected postgres, sqlite or mysql")]
pub struct UnknownBackend(pub String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Self::Postgres),
            "sqlite" | "sqlite3" => Ok(Self::Sqlite),
            "mysql" | "mariadb" => Ok(Self::Mysql),
            _ => Err(UnknownBackend(s.to_owned())),
        }
    }
}

impl From<Backend> for crate::Dialect {
    fn from(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => Self::Postgres,
            Backend::Sqlite => Self::Sqlite,
            Backend::Mysql => Self::Mysql,
        }
    }
}

/// MySQL's microsecond `DATETIME`, in UTC (`TIMESTAMP` ends in 2038).
const MYSQL_INSTANT: &str = "DATETIME(6)";

/// A time column written from the database clock: `timestamptz` on PostgreSQL, integer
/// microseconds since the Unix epoch on SQLite, `DATETIME(6)` in UTC on MySQL.
pub(crate) fn clock(backend: Backend, column: impl IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    match backend {
        Backend::Postgres => def.timestamp_with_time_zone(),
        Backend::Sqlite => def.big_integer(),
        Backend::Mysql => def.custom(Alias::new(MYSQL_INSTANT)),
    };
    def
}

/// A time column written by the client (an event's `created_at`): `timestamptz` on PostgreSQL,
/// sea-query's timestamp text on SQLite, `DATETIME(6)` in UTC on MySQL.
pub(crate) fn instant(backend: Backend, column: impl IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    match backend {
        Backend::Postgres | Backend::Sqlite => def.timestamp_with_time_zone(),
        Backend::Mysql => def.custom(Alias::new(MYSQL_INSTANT)),
    };
    def
}

/// A name or id that keys rows (stream ids, types, consumers, nodes, key scopes): `text`, or on
/// MySQL `VARBINARY(512)`: compared byte for byte (so case-sensitive, whatever the server's
/// collation), and short enough that three of them fit InnoDB's 3 072-byte keys. Names are at
/// most 512 bytes on every backend.
pub(crate) fn name(backend: Backend, column: impl IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    match backend {
        Backend::Postgres | Backend::Sqlite => def.text(),
        Backend::Mysql => def.var_binary(512),
    };
    def
}

/// Free text of any length (error messages, trace ids, JSON kept as written): `text`, or
/// `LONGTEXT` in `utf8mb4_bin` on MySQL (its `TEXT` stops at 64 KiB, and its `JSON` rewrites
/// numbers).
pub(crate) fn long_text(backend: Backend, column: impl IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    match backend {
        Backend::Postgres | Backend::Sqlite => def.text(),
        Backend::Mysql => {
            def.custom(Alias::new("LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"))
        }
    };
    def
}

/// Bytes of any size: `bytea`/`blob`, or `LONGBLOB` on MySQL (its `BLOB` stops at 64 KiB).
pub(crate) fn bytes(backend: Backend, column: impl IntoIden) -> ColumnDef {
    let mut def = ColumnDef::new(column);
    match backend {
        Backend::Postgres | Backend::Sqlite => def.blob(),
        Backend::Mysql => def.custom(Alias::new("LONGBLOB")),
    };
    def
}
