//! The key store's SQL, rendered once from the table names.

use std::sync::Arc;

use pupsourcing_migrations::Tables;
use sqlx::{AssertSqlSafe, SqlSafeStr, SqlStr};

fn sql(text: String) -> SqlStr {
    AssertSqlSafe(Arc::<str>::from(text)).into_sql_str()
}

const COLUMNS: &str =
    "scope, subject, version, wrapped_key, algorithm, kek_id, created_at, retired_at";

#[derive(Debug)]
pub(crate) struct Statements {
    /// Takes the subject's advisory lock and reports the transaction's isolation level.
    pub(crate) lock: SqlStr,
    /// The newest key of `$1`/`$2` (if any) and its tombstone (if any), as one row.
    pub(crate) newest: SqlStr,
    /// Version `$3` of `$1`/`$2` (if any) and the tombstone (if any), as one row.
    pub(crate) get: SqlStr,
    /// Inserts a key unless its version exists, and retires older versions.
    pub(crate) insert: SqlStr,
    /// Deletes every key of the subject and raises its tombstone; returns how many.
    pub(crate) destroy: SqlStr,
    pub(crate) wrapped_by_other: SqlStr,
    pub(crate) rewrap: SqlStr,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let keys = tables.qualified(tables.data_keys());
        let tombstones = tables.qualified(tables.key_tombstones());
        let key_columns =
            COLUMNS.split(", ").map(|c| format!("k.{c}")).collect::<Vec<_>>().join(", ");
        let with_tombstone = |key_join: &str| {
            format!(
                "SELECT {key_columns}, t.up_to_version FROM (SELECT 1) AS one \
                 LEFT JOIN {key_join} ON true \
                 LEFT JOIN {tombstones} AS t ON t.scope = $1 AND t.subject = $2"
            )
        };
        Self {
            lock: sql("SELECT current_setting('transaction_isolation') \
                 FROM (SELECT pg_advisory_xact_lock($1)) AS locked"
                .to_owned()),
            newest: sql(with_tombstone(&format!(
                "LATERAL (SELECT {COLUMNS} FROM {keys} WHERE scope = $1 AND subject = $2 \
                 ORDER BY version DESC LIMIT 1) AS k"
            ))),
            get: sql(with_tombstone(&format!(
                "LATERAL (SELECT {COLUMNS} FROM {keys} \
                 WHERE scope = $1 AND subject = $2 AND version = $3) AS k"
            ))),
            insert: sql(format!(
                "WITH inserted AS (\
                   INSERT INTO {keys} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, now(), NULL) \
                   ON CONFLICT DO NOTHING RETURNING created_at), \
                 retired AS (\
                   UPDATE {keys} SET retired_at = now() \
                   WHERE scope = $1 AND subject = $2 AND version < $3 AND retired_at IS NULL \
                   AND EXISTS (SELECT 1 FROM inserted)) \
                 SELECT created_at FROM inserted"
            )),
            destroy: sql(format!(
                "WITH deleted AS (\
                   DELETE FROM {keys} WHERE scope = $1 AND subject = $2 RETURNING version), \
                 buried AS (\
                   INSERT INTO {tombstones} AS t (scope, subject, up_to_version, destroyed_at) \
                   SELECT $1, $2, COALESCE(max(version), 0), now() FROM deleted \
                   ON CONFLICT (scope, subject) DO UPDATE \
                   SET up_to_version = GREATEST(t.up_to_version, EXCLUDED.up_to_version), \
                       destroyed_at = EXCLUDED.destroyed_at) \
                 SELECT count(*) FROM deleted"
            )),
            wrapped_by_other: sql(format!(
                "SELECT {COLUMNS} FROM {keys} \
                 WHERE kek_id <> $1 AND (scope, subject, version) > ($2, $3, $4) \
                 ORDER BY scope, subject, version LIMIT $5"
            )),
            rewrap: sql(format!(
                "UPDATE {keys} SET wrapped_key = $4, kek_id = $5 \
                 WHERE scope = $1 AND subject = $2 AND version = $3"
            )),
        }
    }
}
