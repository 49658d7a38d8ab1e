//! A small pool of SQLite connections.
//!
//! Connections are opened on demand up to the configured maximum and kept idle between
//! transactions so that their prepared-statement caches stay warm. Writers of one process also
//! queue on an in-process FIFO lock before asking SQLite for its write lock, so they are served
//! in arrival order instead of polling SQLite's busy handler; writers of other processes still
//! meet them at SQLite's own lock, bounded by the busy timeout.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use pupsourcing::{BackendError, BackendErrorKind};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::blocking::run_blocking;
use crate::config::{Location, SqliteOptions, Synchronous};
use crate::error::Context;

#[derive(Debug)]
pub(crate) struct Pool {
    options: SqliteOptions,
    path: PathBuf,
    temporary_dir: Option<PathBuf>,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    pub(crate) writer: Arc<tokio::sync::Mutex<()>>,
    /// Counts committed write transactions of this process, for wake-ups.
    pub(crate) commits: tokio::sync::watch::Sender<u64>,
}

impl Pool {
    /// Creates the pool and its first connection, switching the file to WAL mode. Blocking.
    pub(crate) fn open(options: SqliteOptions) -> Result<Pool, BackendError> {
        let (path, temporary_dir) = match &options.location {
            Location::File(path) => (path.clone(), None),
            Location::Temporary => {
                let dir = temporary_root()
                    .join(format!("pupsourcing-sqlite-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(&dir)
                    .map_err(|err| BackendError::new(BackendErrorKind::Other, "open", err))?;
                (dir.join("events.sqlite3"), Some(dir))
            }
        };
        let permits = Arc::new(Semaphore::new(options.max_connections));
        let pool = Pool {
            options,
            path,
            temporary_dir,
            idle: Mutex::new(Vec::new()),
            permits,
            writer: Arc::new(tokio::sync::Mutex::new(())),
            commits: tokio::sync::watch::Sender::new(0),
        };
        let first = pool.connect()?;
        let mode: String =
            first.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).during("open")?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %pool.path.display(), %mode, "SQLite refused WAL mode; readers will wait for writers");
        }
        pool.release(first);
        Ok(pool)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether calls run on the calling thread ([`SqliteOptions::calls_in_place`]).
    pub(crate) fn calls_in_place(&self) -> bool {
        self.options.calls_in_place
    }

    fn connect(&self) -> Result<Connection, BackendError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).during("open")?;
        conn.busy_timeout(self.options.busy_timeout).during("open")?;
        let synchronous = match self.options.synchronous {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous).during("open")?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }

    /// A connection and the permit that counts it against the maximum.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
    ) -> Result<(Connection, OwnedSemaphorePermit), BackendError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|err| BackendError::new(BackendErrorKind::Other, "acquire", err))?;
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let pool = Arc::clone(self);
                run_blocking(self.options.calls_in_place, move || pool.connect())
                    .await
                    .map_err(|err| BackendError::new(BackendErrorKind::Other, "acquire", err))??
            }
        };
        Ok((conn, permit))
    }

    /// Returns a connection that is outside any transaction.
    pub(crate) fn release(&self, conn: Connection) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(conn);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
        if let Some(dir) = &self.temporary_dir
            && let Err(err) = std::fs::remove_dir_all(dir)
        {
            tracing::warn!(dir = %dir.display(), %err, "could not remove a temporary SQLite database");
        }
    }
}

/// tmpfs when the system has one, so temporary databases really live in memory.
fn temporary_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && std::fs::metadata(shm).is_ok_and(|m| !m.permissions().readonly()) {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}
