//! [`Database`] over SQLite, without stalling the async runtime.
//!
//! rusqlite is synchronous, and SQLite may block for as long as the busy timeout while another
//! process holds the write lock. Every call therefore runs where blocking stalls no other task:
//! on tokio's blocking thread pool, or, with
//! [`SqliteOptions::calls_in_place`](crate::SqliteOptions::calls_in_place) on a multi-threaded
//! runtime, on the calling thread (`block_in_place`, which hands the worker's other tasks to
//! another thread). The transaction owns its connection. A pool of connections lets readers
//! run in parallel with the writer (WAL mode).
//!
//! Write transactions start with `BEGIN IMMEDIATE`, taking SQLite's write lock up front: a
//! transaction that read first and upgraded later could fail with `SQLITE_BUSY` mid-way, which
//! is exactly the error an event-store batch must not see. Read transactions (`begin_read`)
//! start deferred and set `query_only`, so they never wait for writers and cannot write.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use pupsourcing::{BackendError, BackendErrorKind, Database};
use rusqlite::{Connection, Params, Row};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit};

use crate::blocking::run_blocking;
use crate::config::SqliteOptions;
use crate::error::{Context, connection_lost};
use crate::pool::Pool;

/// An SQLite database: a file (or a temporary database) and a pool of connections to it. Cheap
/// to clone; clones share the pool.
///
/// ```
/// use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
/// use pupsourcing_sqlite::{SqliteDatabase, SqliteStore};
///
/// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
/// let db = SqliteDatabase::open_in_memory().await?;
/// let store = SqliteStore::new(&db);
/// store.migrate().await?;
///
/// let user = StreamId::new("user", "1");
/// let mut tx = db.begin().await?;
/// store.append(&mut tx, ExpectedVersion::NoStream, vec![Event::new(&user, "Registered", b"{}".to_vec())]).await?;
/// // Your own statements join the same transaction:
/// tx.call(|conn| conn.execute("CREATE TABLE IF NOT EXISTS audit (note TEXT)", [])).await?;
/// db.commit(tx).await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqliteDatabase {
    pool: Arc<Pool>,
}

impl SqliteDatabase {
    /// Opens (creating if needed) the database file at `path`; `":memory:"` opens a temporary
    /// database as [`open_in_memory`](Self::open_in_memory) does.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self, BackendError> {
        Self::open_with(SqliteOptions::new(path)).await
    }

    /// Opens a private database that is deleted when the last handle is dropped.
    ///
    /// It is a WAL-mode file in a fresh directory on tmpfs (`/dev/shm`) where the system has
    /// one, else in the temporary directory, rather than SQLite's `:memory:`: an in-memory SQLite
    /// database either belongs to one connection or makes every reader wait for the writer,
    /// while this one behaves exactly like a file database, concurrency included.
    pub async fn open_in_memory() -> Result<Self, BackendError> {
        Self::open_with(SqliteOptions::temporary()).await
    }

    /// Opens a database with explicit options.
    pub async fn open_with(options: SqliteOptions) -> Result<Self, BackendError> {
        let in_place = options.calls_in_place;
        let pool = run_blocking(in_place, move || Pool::open(options))
            .await
            .map_err(|err| BackendError::new(BackendErrorKind::Other, "open", err))??;
        Ok(Self { pool: Arc::new(pool) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.pool.path()
    }

    /// A receiver that changes whenever a write transaction of this process commits. Other
    /// processes' commits are not seen: consumers fall back to polling for those.
    pub fn subscribe_commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.pool.commits.subscribe()
    }

    async fn start(&self, read_only: bool) -> Result<SqliteTx, BackendError> {
        let write_guard =
            if read_only { None } else { Some(Arc::clone(&self.pool.writer).lock_owned().await) };
        let (conn, permit) = self.pool.acquire().await?;
        let mut tx = SqliteTx {
            pool: Arc::clone(&self.pool),
            conn: Some(conn),
            permit: Some(permit),
            write_guard,
            read_only,
            open: false,
            first_own_position: None,
        };
        let begin =
            if read_only { "PRAGMA query_only = ON; BEGIN DEFERRED" } else { "BEGIN IMMEDIATE" };
        tx.run("begin", move |conn| {
            conn.execute_batch(begin).during("begin").map_err(BackendError::from)
        })
        .await?;
        tx.open = true;
        Ok(tx)
    }

    /// Runs `f` in a write transaction of its own, from `BEGIN IMMEDIATE` to `COMMIT` (or
    /// `ROLLBACK` when `f` fails) in one blocking call: for a caller that has no transaction,
    /// one call instead of three. The locks are let go only once SQLite has ended the
    /// transaction, even if this future is dropped half-way.
    pub(crate) async fn write_once<T, E, F>(&self, operation: &'static str, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<BackendError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let write_guard = Arc::clone(&self.pool.writer).lock_owned().await;
        let (mut conn, permit) = self.pool.acquire().await?;
        let pool = Arc::clone(&self.pool);
        let joined = run_blocking(self.pool.calls_in_place(), move || {
            let outcome = conn
                .execute_batch("BEGIN IMMEDIATE")
                .during("begin")
                .map_err(|err| E::from(BackendError::from(err)));
            let outcome = outcome.and_then(|()| f(&mut conn));
            let outcome = match outcome {
                Ok(value) => conn
                    .execute_batch("COMMIT")
                    .during("commit")
                    .map(|()| value)
                    .map_err(|err| E::from(BackendError::from(err))),
                Err(err) => Err(err),
            };
            if !conn.is_autocommit() {
                // `f` or the commit failed inside the transaction: it must not outlive us.
                let _ = conn.execute_batch("ROLLBACK");
            }
            let committed = outcome.is_ok();
            if conn.is_autocommit() {
                pool.release(conn);
            } else {
                // Closing it ends the transaction; only then may the next writer in.
                drop(conn);
            }
            drop((permit, write_guard));
            if committed {
                pool.commits.send_modify(|count| *count += 1);
            }
            outcome
        })
        .await;
        joined.unwrap_or_else(|err| {
            Err(E::from(BackendError::new(BackendErrorKind::Other, operation, err)))
        })
    }

    /// Runs `f`, whose statements read, on a pooled connection outside any transaction, in one
    /// blocking call. A single `SELECT` reads one consistent snapshot by itself.
    pub(crate) async fn read_once<T, E, F>(&self, operation: &'static str, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<BackendError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let (mut conn, permit) = self.pool.acquire().await?;
        let pool = Arc::clone(&self.pool);
        let joined = run_blocking(self.pool.calls_in_place(), move || {
            let outcome = f(&mut conn);
            if conn.is_autocommit() {
                pool.release(conn);
            }
            drop(permit);
            outcome
        })
        .await;
        joined.unwrap_or_else(|err| {
            Err(E::from(BackendError::new(BackendErrorKind::Other, operation, err)))
        })
    }
}

/// A transaction of a [`SqliteDatabase`]: it owns one connection until it commits or rolls
/// back. Dropping it unfinished rolls it back.
///
/// Run your own statements in it with [`execute`](SqliteTx::execute) and
/// [`query`](SqliteTx::query), parameters given by value as a tuple or an array (anything
/// rusqlite binds: integers, floats, text, blobs, options of them), or with
/// [`call`](SqliteTx::call) for anything else rusqlite can do:
///
/// ```
/// use pupsourcing::Database;
///
/// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
/// let backend = pupsourcing_sqlite::open(":memory:").await?;
/// let db = backend.database();
/// let mut tx = db.begin().await?;
/// tx.execute("CREATE TABLE totals (id TEXT PRIMARY KEY, events INTEGER NOT NULL)", ()).await?;
/// let id = String::from("o-17");
/// tx.execute(
///     "INSERT INTO totals (id, events) VALUES (?1, 1) \
///      ON CONFLICT (id) DO UPDATE SET events = events + 1",
///     (id.clone(),),
/// ).await?;
/// let events: Vec<i64> =
///     tx.query("SELECT events FROM totals WHERE id = ?1", (id,), |row| row.get(0)).await?;
/// assert_eq!(events, vec![1]);
/// db.commit(tx).await?;
/// # Ok::<(), pupsourcing::BackendError>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct SqliteTx {
    pool: Arc<Pool>,
    conn: Option<Connection>,
    permit: Option<OwnedSemaphorePermit>,
    write_guard: Option<OwnedMutexGuard<()>>,
    read_only: bool,
    open: bool,
    first_own_position: Option<u64>,
}

impl SqliteTx {
    /// Runs `f` on the transaction's connection, where it may block (see the module docs), and
    /// returns its result. Errors are classified like the store's own (a busy database is
    /// retryable).
    ///
    /// If the returned future is dropped before it completes, the connection is lost to the
    /// transaction: SQLite rolls it back, and later calls fail with a connection error. (With
    /// [`SqliteOptions::calls_in_place`](crate::SqliteOptions::calls_in_place) on a
    /// multi-threaded runtime the call completes before its future can be dropped.)
    pub async fn call<T, F>(&mut self, f: F) -> Result<T, BackendError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        self.run("call", move |conn| f(conn).during("call").map_err(BackendError::from)).await
    }

    /// Runs one statement with `params` (by value: a tuple or an array) and returns the number
    /// of rows it changed. The statement is prepared once per connection and cached.
    pub async fn execute<P>(&mut self, sql: &str, params: P) -> Result<usize, BackendError>
    where
        P: Params + Send + 'static,
    {
        let sql = sql.to_owned();
        self.call(move |conn| conn.prepare_cached(&sql)?.execute(params)).await
    }

    /// Runs a query with `params` (by value) and maps every row with `map`, in order.
    pub async fn query<T, P, F>(
        &mut self,
        sql: &str,
        params: P,
        map: F,
    ) -> Result<Vec<T>, BackendError>
    where
        T: Send + 'static,
        P: Params + Send + 'static,
        F: FnMut(&Row<'_>) -> rusqlite::Result<T> + Send + 'static,
    {
        let sql = sql.to_owned();
        self.call(move |conn| {
            let mut statement = conn.prepare_cached(&sql)?;
            let rows = statement.query_map(params, map)?;
            rows.collect()
        })
        .await
    }

    /// Whether this transaction was opened with `begin_read`.
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Remembers the lowest position this transaction appended, which the safe frontier must
    /// stay below until the transaction commits.
    pub(crate) fn note_appended(&mut self, position: u64) {
        self.first_own_position =
            Some(self.first_own_position.map_or(position, |p| p.min(position)));
    }

    /// The lowest position this transaction appended, if any.
    pub(crate) fn first_own_position(&self) -> Option<u64> {
        self.first_own_position
    }

    /// Runs `f` on the connection where it may block, and takes the connection back.
    pub(crate) async fn run<T, E, F>(&mut self, operation: &'static str, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<BackendError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let mut conn = self.conn.take().ok_or_else(|| E::from(connection_lost(operation)))?;
        let joined = run_blocking(self.pool.calls_in_place(), move || {
            let result = f(&mut conn);
            (conn, result)
        })
        .await;
        match joined {
            Ok((conn, result)) => {
                self.conn = Some(conn);
                result
            }
            Err(err) => Err(E::from(BackendError::new(BackendErrorKind::Other, operation, err))),
        }
    }

    /// Ends the transaction with `statement` (`COMMIT` or `ROLLBACK`) and returns the connection
    /// to the pool. A failed commit is rolled back before the connection goes back.
    async fn finish(mut self, statement: &'static str) -> Result<(), BackendError> {
        let read_only = self.read_only;
        let operation = if statement == "COMMIT" { "commit" } else { "rollback" };
        let outcome = self
            .run(operation, move |conn| {
                let result = conn.execute_batch(statement).during(operation);
                if result.is_err() && !conn.is_autocommit() {
                    // The commit failed and left the transaction open; it must not outlive us.
                    let _ = conn.execute_batch("ROLLBACK");
                }
                if read_only {
                    conn.execute_batch("PRAGMA query_only = OFF").during(operation)?;
                }
                result.map_err(BackendError::from)
            })
            .await;
        self.open = false;
        if outcome.is_ok() && !read_only && statement == "COMMIT" {
            self.pool.commits.send_modify(|count| *count += 1);
        }
        if let Some(conn) = self.conn.take()
            && conn.is_autocommit()
        {
            self.pool.release(conn);
        }
        outcome
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        if !self.open {
            return;
        }
        let pool = Arc::clone(&self.pool);
        let permit = self.permit.take();
        let write_guard = self.write_guard.take();
        let read_only = self.read_only;
        let roll_back = move || {
            let rolled_back = conn.execute_batch("ROLLBACK").is_ok();
            let reset = !read_only || conn.execute_batch("PRAGMA query_only = OFF").is_ok();
            if rolled_back && reset {
                pool.release(conn);
            } else {
                drop(conn);
            }
            // The locks go only once SQLite has let go of the transaction.
            drop((permit, write_guard));
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn_blocking(roll_back);
            }
            Err(_) => roll_back(),
        }
    }
}

#[async_trait]
impl Database for SqliteDatabase {
    type Tx = SqliteTx;

    async fn begin(&self) -> Result<SqliteTx, BackendError> {
        self.start(false).await
    }

    async fn begin_read(&self) -> Result<SqliteTx, BackendError> {
        self.start(true).await
    }

    async fn commit(&self, tx: SqliteTx) -> Result<(), BackendError> {
        tx.finish("COMMIT").await
    }

    async fn rollback(&self, tx: SqliteTx) -> Result<(), BackendError> {
        tx.finish("ROLLBACK").await
    }

    /// `true`: write transactions take SQLite's write lock at `BEGIN IMMEDIATE`, one at a time.
    fn serializes_writers(&self) -> bool {
        true
    }

    /// Classifies a `rusqlite::Error` (a handler's own statement) by the adapter's result-code
    /// rules.
    fn classify(error: &(dyn std::error::Error + 'static)) -> Option<BackendErrorKind> {
        error.downcast_ref::<rusqlite::Error>().map(crate::error::classify)
    }
}
