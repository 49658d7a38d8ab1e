//! The key store's SQL for MySQL.

use pupsourcing_migrations::{Dialect, Tables};

const COLUMNS: &str =
    "scope, subject, version, wrapped_key, algorithm, kek_id, created_at, retired_at";

#[derive(Debug)]
pub(crate) struct Statements {
    /// Takes the subject's lock row for the rest of the transaction.
    pub(crate) lock: String,
    pub(crate) newest: String,
    pub(crate) get: String,
    pub(crate) tombstone: String,
    pub(crate) insert: String,
    pub(crate) retire: String,
    /// The subject's key versions, locked.
    pub(crate) versions: String,
    pub(crate) delete: String,
    pub(crate) bury: String,
    pub(crate) wrapped_by_other: String,
    pub(crate) rewrap: String,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let keys = tables.qualified_in(Dialect::Mysql, tables.data_keys());
        let tombstones = tables.qualified_in(Dialect::Mysql, tables.key_tombstones());
        let locks = tables.qualified_in(Dialect::Mysql, &tables.key_locks());
        let subject = "scope = ? AND subject = ?";
        Self {
            lock: format!(
                "INSERT INTO {locks} (scope, subject) VALUES (?, ?) \
                 ON DUPLICATE KEY UPDATE scope = scope"
            ),
            newest: format!(
                "SELECT {COLUMNS} FROM {keys} WHERE {subject} ORDER BY version DESC LIMIT 1"
            ),
            get: format!("SELECT {COLUMNS} FROM {keys} WHERE {subject} AND version = ?"),
            tombstone: format!("SELECT up_to_version FROM {tombstones} WHERE {subject}"),
            insert: format!(
                "INSERT INTO {keys} ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), NULL)"
            ),
            retire: format!(
                "UPDATE {keys} SET retired_at = UTC_TIMESTAMP(6) \
                 WHERE {subject} AND version < ? AND retired_at IS NULL"
            ),
            versions: format!("SELECT version FROM {keys} WHERE {subject} FOR UPDATE"),
            delete: format!("DELETE FROM {keys} WHERE {subject}"),
            bury: format!(
                "INSERT INTO {tombstones} (scope, subject, up_to_version, destroyed_at) \
                 VALUES (?, ?, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE \
                 up_to_version = GREATEST(up_to_version, VALUES(up_to_version)), \
                 destroyed_at = VALUES(destroyed_at)"
            ),
            wrapped_by_other: format!(
                "SELECT {COLUMNS} FROM {keys} \
                 WHERE kek_id <> ? AND (scope, subject, version) > (?, ?, ?) \
                 ORDER BY scope, subject, version LIMIT ?"
            ),
            rewrap: format!(
                "UPDATE {keys} SET wrapped_key = ?, kek_id = ? WHERE {subject} AND version = ?"
            ),
        }
    }
}
