//! Everything in one call: open a database file with its store, coordinator and key store.

use std::path::PathBuf;

use pupsourcing::{Backend, BackendError};

use crate::{
    SqliteCoordinator, SqliteDatabase, SqliteKeyStore, SqliteOptions, SqliteStore,
    SqliteStoreConfig,
};

/// A SQLite database with its store, coordinator and key store.
pub type SqliteBackend = Backend<SqliteDatabase, SqliteStore, SqliteCoordinator, SqliteKeyStore>;

/// Opens (creating it if needed) the database at `path`, with default options and table names;
/// `":memory:"` gives a private temporary database. Create the tables with
/// `backend.store().migrate()`.
///
/// ```
/// # tokio::runtime::Builder::new_multi_thread().build().unwrap().block_on(async {
/// let backend = pupsourcing_sqlite::open(":memory:").await?;
/// backend.store().migrate().await?;
/// # Ok::<(), pupsourcing::BackendError>(())
/// # }).unwrap();
/// ```
pub async fn open(path: impl Into<PathBuf>) -> Result<SqliteBackend, BackendError> {
    open_with(SqliteOptions::new(path), SqliteStoreConfig::default()).await
}

/// Opens the database described by `options`, with the store settings `config`.
pub async fn open_with(
    options: SqliteOptions,
    config: SqliteStoreConfig,
) -> Result<SqliteBackend, BackendError> {
    let db = SqliteDatabase::open_with(options).await?;
    Ok(from_store(SqliteStore::with_config(&db, config)))
}

/// Everything beside an existing `store`.
pub fn from_store(store: SqliteStore) -> SqliteBackend {
    let (coordinator, keys) = (SqliteCoordinator::new(&store), SqliteKeyStore::new(&store));
    Backend::from_parts(store.database().clone(), store, coordinator, keys)
}
