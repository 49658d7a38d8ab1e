//! Everything in one call: connect a pool with its store, coordinator and key store.

use pupsourcing::{Backend, BackendError};
use sqlx::PgPool;

use crate::{
    PgDatabase, PostgresCoordinator, PostgresKeyStore, PostgresStore, PostgresStoreConfig,
};

/// A PostgreSQL database with its store, coordinator and key store.
pub type PostgresBackend =
    Backend<PgDatabase, PostgresStore, PostgresCoordinator, PostgresKeyStore>;

/// Connects a pool of up to `max_connections` to `url`, with default table names and NOTIFY on.
/// Create the tables with `backend.store().migrate()`.
///
/// ```no_run
/// # async fn run() -> Result<(), pupsourcing::BackendError> {
/// let backend = pupsourcing_postgres::connect("postgres://localhost/app", 10).await?;
/// backend.store().migrate().await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str, max_connections: u32) -> Result<PostgresBackend, BackendError> {
    let db = PgDatabase::connect(url, max_connections).await?;
    Ok(from_store(PostgresStore::new(&db)))
}

/// Everything over an existing `pool`, with the store settings `config`.
pub fn from_pool(pool: PgPool, config: PostgresStoreConfig) -> PostgresBackend {
    from_store(PostgresStore::with_config(&PgDatabase::new(pool), config))
}

/// Everything beside an existing `store`.
pub fn from_store(store: PostgresStore) -> PostgresBackend {
    let (coordinator, keys) = (PostgresCoordinator::new(&store), PostgresKeyStore::new(&store));
    Backend::from_parts(store.database().clone(), store, coordinator, keys)
}
