//! Everything in one call: connect a pool with its store, coordinator and key store.

use pupsourcing::{Backend, BackendError};
use sqlx::MySqlPool;

use crate::{MysqlCoordinator, MysqlDatabase, MysqlKeyStore, MysqlStore, MysqlStoreConfig};

/// A MySQL or MariaDB database with its store, coordinator and key store.
pub type MysqlBackend = Backend<MysqlDatabase, MysqlStore, MysqlCoordinator, MysqlKeyStore>;

/// Connects a pool of up to `max_connections` to `url` (`mysql://user:password@host/db`), with
/// default table names. Create the tables with `backend.store().migrate()`.
///
/// ```no_run
/// # async fn run() -> Result<(), pupsourcing::BackendError> {
/// let backend = pupsourcing_mysql::connect("mysql://app@localhost/app", 10).await?;
/// backend.store().migrate().await?;
/// # Ok(()) }
/// ```
pub async fn connect(url: &str, max_connections: u32) -> Result<MysqlBackend, BackendError> {
    let db = MysqlDatabase::connect(url, max_connections).await?;
    Ok(from_store(MysqlStore::new(&db)))
}

/// Everything over an existing `pool` (built with [`MysqlDatabase::pool_options`], so that
/// its connections run READ COMMITTED in UTC), with the store settings `config`.
pub fn from_pool(pool: MySqlPool, config: MysqlStoreConfig) -> MysqlBackend {
    from_store(MysqlStore::with_config(&MysqlDatabase::new(pool), config))
}

/// Everything beside an existing `store`.
pub fn from_store(store: MysqlStore) -> MysqlBackend {
    let (coordinator, keys) = (MysqlCoordinator::new(&store), MysqlKeyStore::new(&store));
    Backend::from_parts(store.database().clone(), store, coordinator, keys)
}
