//! Transactions over process memory, with the semantics the SQL backends give.
//!
//! One writer at a time, like SQLite: a transaction takes the write lock at its first write (not
//! at `begin`, so readers never wait), works on a private copy of the state and publishes it
//! atomically on commit. Dropping or rolling back discards the copy. Reads outside a write see the
//! latest committed state (read committed); inside a write they see the transaction's own copy.
//! The lock is FIFO, so concurrent writers queue in arrival order.
//!
//! Like any single-writer database, a task that holds one writing transaction and opens a second
//! one that writes will wait for itself forever.

use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use pupsourcing::{BackendError, BackendErrorKind, Database};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use crate::state::State;

/// A database held in memory. Clones share the same data.
///
/// ```
/// use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
/// use pupsourcing_memory::{MemoryDatabase, MemoryStore};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let db = MemoryDatabase::new();
/// let store = MemoryStore::new(&db);
/// let user = StreamId::new("user", "1");
///
/// let mut tx = db.begin().await?;
/// store.append(&mut tx, ExpectedVersion::NoStream, vec![Event::new(&user, "Registered", b"{}".to_vec())]).await?;
/// db.commit(tx).await?;
///
/// let mut tx = db.begin().await?;
/// assert_eq!(store.stream_version(&mut tx, &user).await?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryDatabase {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    committed: RwLock<Arc<State>>,
    writer: Arc<Mutex<()>>,
    commits: watch::Sender<u64>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            committed: RwLock::default(),
            writer: Arc::default(),
            commits: watch::Sender::new(0),
        }
    }
}

impl MemoryDatabase {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    /// The latest committed state.
    pub(crate) fn committed(&self) -> Arc<State> {
        self.shared.committed.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// A receiver that changes on every commit that wrote something (its value counts commits).
    pub fn subscribe_commits(&self) -> watch::Receiver<u64> {
        self.shared.commits.subscribe()
    }
}

/// A transaction of a [`MemoryDatabase`]. Dropping it unfinished rolls it back.
#[derive(Debug)]
pub struct MemoryTx {
    db: MemoryDatabase,
    read_only: bool,
    write: Option<Write>,
}

#[derive(Debug)]
struct Write {
    _guard: OwnedMutexGuard<()>,
    state: State,
}

impl MemoryTx {
    /// Runs `f` on the state this transaction sees.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        match &self.write {
            Some(write) => f(&write.state),
            None => f(&self.db.committed()),
        }
    }

    /// The transaction's private copy of the state, taking the write lock first if needed.
    pub(crate) async fn write(
        &mut self,
        operation: &'static str,
    ) -> Result<&mut State, BackendError> {
        if self.read_only {
            return Err(BackendError::new(
                BackendErrorKind::Other,
                operation,
                "cannot write in a read-only transaction",
            ));
        }
        let write = match self.write.take() {
            Some(write) => write,
            None => {
                let guard = Arc::clone(&self.db.shared.writer).lock_owned().await;
                let state = State::clone(&self.db.committed());
                Write { _guard: guard, state }
            }
        };
        Ok(&mut self.write.insert(write).state)
    }
}

#[async_trait]
impl Database for MemoryDatabase {
    type Tx = MemoryTx;

    async fn begin(&self) -> Result<MemoryTx, BackendError> {
        Ok(MemoryTx { db: self.clone(), read_only: false, write: None })
    }

    async fn begin_read(&self) -> Result<MemoryTx, BackendError> {
        Ok(MemoryTx { db: self.clone(), read_only: true, write: None })
    }

    async fn commit(&self, tx: MemoryTx) -> Result<(), BackendError> {
        if let Some(write) = tx.write {
            let shared = &tx.db.shared;
            *shared.committed.write().unwrap_or_else(PoisonError::into_inner) =
                Arc::new(write.state);
            shared.commits.send_modify(|count| *count += 1);
        }
        Ok(())
    }

    async fn rollback(&self, tx: MemoryTx) -> Result<(), BackendError> {
        drop(tx);
        Ok(())
    }
}
