//! The key store's SQL for SQLite. Times are integer microseconds from SQLite's clock.

use pupsourcing_migrations::Tables;

const NOW: &str = "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)";

const COLUMNS: &str =
    "scope, subject, version, wrapped_key, algorithm, kek_id, created_at, retired_at";

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) newest: String,
    pub(crate) get: String,
    pub(crate) tombstone: String,
    pub(crate) retire: String,
    pub(crate) insert: String,
    pub(crate) delete: String,
    pub(crate) bury: String,
    pub(crate) wrapped_by_other: String,
    pub(crate) rewrap: String,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let keys = tables.qualified(tables.data_keys());
        let tombstones = tables.qualified(tables.key_tombstones());
        Self {
            newest: format!(
                "SELECT {COLUMNS} FROM {keys} WHERE scope = ?1 AND subject = ?2 \
                 ORDER BY version DESC LIMIT 1"
            ),
            get: format!(
                "SELECT {COLUMNS} FROM {keys} WHERE scope = ?1 AND subject = ?2 AND version = ?3"
            ),
            tombstone: format!(
                "SELECT up_to_version FROM {tombstones} WHERE scope = ?1 AND subject = ?2"
            ),
            retire: format!(
                "UPDATE {keys} SET retired_at = {NOW} \
                 WHERE scope = ?1 AND subject = ?2 AND version < ?3 AND retired_at IS NULL"
            ),
            insert: format!(
                "INSERT INTO {keys} ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, {NOW}, NULL) \
                 RETURNING created_at"
            ),
            delete: format!(
                "DELETE FROM {keys} WHERE scope = ?1 AND subject = ?2 RETURNING version"
            ),
            bury: format!(
                "INSERT INTO {tombstones} (scope, subject, up_to_version, destroyed_at) \
                 VALUES (?1, ?2, ?3, {NOW}) ON CONFLICT (scope, subject) DO UPDATE \
                 SET up_to_version = max(up_to_version, excluded.up_to_version), \
                 destroyed_at = excluded.destroyed_at"
            ),
            wrapped_by_other: format!(
                "SELECT {COLUMNS} FROM {keys} \
                 WHERE kek_id <> ?1 AND (scope, subject, version) > (?2, ?3, ?4) \
                 ORDER BY scope, subject, version LIMIT ?5"
            ),
            rewrap: format!(
                "UPDATE {keys} SET wrapped_key = ?4, kek_id = ?5 \
                 WHERE scope = ?1 AND subject = ?2 AND version = ?3"
            ),
        }
    }
}
