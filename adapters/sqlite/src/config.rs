//! Database and store options.

use std::path::PathBuf;
use std::time::Duration;

use pupsourcing::AppendLimits;
use pupsourcing_migrations::{NameError, Tables};

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A database file, created if missing.
    File(PathBuf),
    /// A private database that disappears when the last [`SqliteDatabase`](crate::SqliteDatabase)
    /// handle is dropped (what `":memory:"` opens). See [`SqliteDatabase::open_in_memory`](crate::SqliteDatabase::open_in_memory).
    Temporary,
}

/// SQLite's `synchronous` setting: how hard a commit pushes data to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// A committed transaction survives power loss (`FULL`). The default: an event store is a
    /// system of record.
    #[default]
    Full,
    /// A committed transaction survives an application crash but may be lost on power loss
    /// (`NORMAL` in WAL mode). Several times faster for small commits.
    Normal,
}

/// Options for opening a [`SqliteDatabase`](crate::SqliteDatabase).
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub(crate) location: Location,
    pub(crate) max_connections: usize,
    pub(crate) busy_timeout: Duration,
    pub(crate) synchronous: Synchronous,
    pub(crate) calls_in_place: bool,
}

impl SqliteOptions {
    /// Options for a database file (or `":memory:"`), with defaults: 8 connections, a 5 s busy
    /// timeout, `synchronous = FULL`, calls on the blocking thread pool.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let location =
            if path.as_os_str() == ":memory:" { Location::Temporary } else { Location::File(path) };
        Self {
            location,
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Full,
            calls_in_place: false,
        }
    }

    /// Options for a temporary database.
    pub fn temporary() -> Self {
        Self::new(":memory:")
    }

    /// How many connections the pool may open (at least 1). Readers run in parallel; writers of
    /// one process queue in order for the single write lock.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long a writer waits for another process's write lock before failing with a
    /// retryable [`BackendErrorKind::Busy`](pupsourcing::BackendErrorKind::Busy).
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The durability of commits.
    #[must_use]
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Runs SQLite's calls on the calling thread of a multi-threaded tokio runtime
    /// (`tokio::task::block_in_place`, which moves that worker's other tasks to another thread
    /// meanwhile) instead of sending each to the blocking thread pool and back. On a
    /// current-thread runtime calls go to the pool anyway. Default: off.
    ///
    /// Turn it on only where no call comes from a task of a `tokio::task::LocalSet`: tokio
    /// panics when `block_in_place` is called there. With it, a call completes even if its
    /// future is dropped, so a timeout around a store call waits for the call in progress.
    #[must_use]
    pub fn calls_in_place(mut self, in_place: bool) -> Self {
        self.calls_in_place = in_place;
        self
    }

    /// The location these options open.
    pub fn location(&self) -> &Location {
        &self.location
    }
}

/// Options of a [`SqliteStore`](crate::SqliteStore).
#[derive(Debug, Clone, Default)]
pub struct SqliteStoreConfig {
    tables: Tables,
    limits: AppendLimits,
}

impl SqliteStoreConfig {
    /// Uses these table names. SQLite has no schemas: tables with a schema name are refused.
    pub fn with_tables(mut self, tables: Tables) -> Result<Self, NameError> {
        if tables.schema().is_some() {
            return Err(NameError::SchemaUnsupported { backend: "sqlite" });
        }
        self.tables = tables;
        Ok(self)
    }

    /// Replaces the append size limits.
    #[must_use]
    pub fn with_limits(mut self, limits: AppendLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The table names.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The append size limits.
    pub fn limits(&self) -> &AppendLimits {
        &self.limits
    }
}
