//! The [`KeyStore`] in PostgreSQL.
//!
//! Creation, rotation and destruction of one subject's keys serialize on a transaction-scoped
//! advisory lock derived from the table names and the subject, so concurrent first uses create
//! one key and a key is never created beside a fresh tombstone. After the lock, the subject is
//! read again with a new snapshot, which READ COMMITTED gives and REPEATABLE READ does not:
//! [`lock_subject`](KeyStore::lock_subject) refuses REPEATABLE READ transactions with
//! [`EncryptionError::Configuration`]. SERIALIZABLE is safe: its conflict detection turns the
//! same race into a retryable serialization failure. If your [`PgDatabase`] opens REPEATABLE
//! READ transactions for the worker, give the encryptor its own `PgDatabase` on the same pool.

mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pupsourcing::spi::{KeyId, KeyLookup, KeyStore, NewKey, StoredKey};
use pupsourcing::{BackendError, EncryptionError};
use pupsourcing_migrations::Tables;
use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::convert::{from_int, row_limit, to_int};
use crate::error::{Context, Failure, failure};
use crate::{PgDatabase, PgTx, PostgresStore};
use sql::Statements;

/// A [`KeyStore`] in the same PostgreSQL database (and schema) as a [`PostgresStore`]; create
/// its tables with [`PostgresStore::migrate`].
#[derive(Debug, Clone)]
pub struct PostgresKeyStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sql: Statements,
    lock_base: i64,
}

fn backend(failure: Failure) -> EncryptionError {
    EncryptionError::Backend(BackendError::from(failure))
}

fn decode(
    operation: &'static str,
    err: impl std::error::Error + Send + Sync + 'static,
) -> EncryptionError {
    backend(failure(operation, sqlx::Error::Decode(Box::new(err))))
}

/// A key version as the schema stores it; the encryptor never hands out a version above
/// [`MAX_KEY_VERSION`](pupsourcing::spi::MAX_KEY_VERSION).
fn version_param(version: u32) -> Result<i32, EncryptionError> {
    to_int("key version", version)
        .map_err(|_| EncryptionError::InvalidInput("key version exceeds the schema's INTEGER"))
}

fn version_of(operation: &'static str, value: i32) -> Result<u32, EncryptionError> {
    from_int(operation, value).map_err(backend)
}

/// The advisory lock key of one subject: FNV-1a over the store's key-store lock and the names.
fn subject_lock(base: i64, scope: &str, subject: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes =
        base.to_be_bytes().into_iter().chain(scope.bytes()).chain([0]).chain(subject.bytes());
    for byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// A key row at column offset 0, if the (outer-joined) row holds one.
fn stored_key(row: &PgRow, operation: &'static str) -> Result<Option<StoredKey>, EncryptionError> {
    let Some(version) = row.try_get::<Option<i32>, _>(2).during(operation).map_err(backend)? else {
        return Ok(None);
    };
    let get = |e| backend(failure(operation, e));
    Ok(Some(StoredKey {
        id: KeyId {
            scope: row.try_get(0).map_err(get)?,
            subject: row.try_get(1).map_err(get)?,
            version: version_of(operation, version)?,
        },
        wrapped: row.try_get(3).map_err(get)?,
        algorithm: row.try_get(4).map_err(get)?,
        kek_id: row.try_get(5).map_err(get)?,
        created_at: row.try_get::<DateTime<Utc>, _>(6).map_err(get)?,
        retired_at: row.try_get::<Option<DateTime<Utc>>, _>(7).map_err(get)?,
    }))
}

fn tombstone_of(row: &PgRow, operation: &'static str) -> Result<Option<u32>, EncryptionError> {
    row.try_get::<Option<i32>, _>(8)
        .during(operation)
        .map_err(backend)?
        .map(|v| version_of(operation, v))
        .transpose()
}

impl PostgresKeyStore {
    /// A key store using `store`'s table names (and schema).
    pub fn new(store: &PostgresStore) -> Self {
        Self::with_tables(store.config().tables())
    }

    fn with_tables(tables: &Tables) -> Self {
        Self {
            inner: Arc::new(Inner {
                sql: Statements::new(tables),
                lock_base: tables.lock_key("keys"),
            }),
        }
    }

    async fn newest(
        &self,
        tx: &mut PgTx,
        scope: &str,
        subject: &str,
        operation: &'static str,
    ) -> Result<KeyLookup, EncryptionError> {
        let row = sqlx::query(self.inner.sql.newest.clone())
            .bind(scope)
            .bind(subject)
            .fetch_one(&mut **tx)
            .await
            .during(operation)
            .map_err(backend)?;
        if let Some(key) = stored_key(&row, operation)? {
            return Ok(KeyLookup::Found(key));
        }
        Ok(match tombstone_of(&row, operation)? {
            Some(up_to_version) => KeyLookup::Destroyed { up_to_version },
            None => KeyLookup::Missing,
        })
    }
}

#[async_trait]
impl KeyStore<PgDatabase> for PostgresKeyStore {
    async fn lock_subject(
        &self,
        tx: &mut PgTx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        let isolation: String = sqlx::query_scalar(self.inner.sql.lock.clone())
            .bind(subject_lock(self.inner.lock_base, scope, subject))
            .fetch_one(&mut **tx)
            .await
            .during("lock_subject")
            .map_err(backend)?;
        if isolation == "repeatable read" {
            return Err(EncryptionError::Configuration {
                reason: "creating, rotating or destroying keys needs a READ COMMITTED or \
                         SERIALIZABLE transaction, not REPEATABLE READ"
                    .into(),
                source: None,
            });
        }
        self.newest(tx, scope, subject, "lock_subject").await
    }

    async fn current(
        &self,
        tx: &mut PgTx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        self.newest(tx, scope, subject, "current_key").await
    }

    async fn get(&self, tx: &mut PgTx, id: &KeyId) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(&id.scope, &id.subject)?;
        let row = sqlx::query(self.inner.sql.get.clone())
            .bind(&id.scope)
            .bind(&id.subject)
            .bind(version_param(id.version)?)
            .fetch_one(&mut **tx)
            .await
            .during("get_key")
            .map_err(backend)?;
        if let Some(key) = stored_key(&row, "get_key")? {
            return Ok(KeyLookup::Found(key));
        }
        Ok(match tombstone_of(&row, "get_key")? {
            Some(up_to_version) if id.version <= up_to_version => {
                KeyLookup::Destroyed { up_to_version }
            }
            _ => KeyLookup::Missing,
        })
    }

    async fn insert(&self, tx: &mut PgTx, key: &NewKey) -> Result<StoredKey, EncryptionError> {
        key.check()?;
        let created_at: Option<DateTime<Utc>> = sqlx::query_scalar(self.inner.sql.insert.clone())
            .bind(&key.id.scope)
            .bind(&key.id.subject)
            .bind(version_param(key.id.version)?)
            .bind(&key.wrapped)
            .bind(&key.algorithm)
            .bind(&key.kek_id)
            .fetch_optional(&mut **tx)
            .await
            .during("insert_key")
            .map_err(backend)?;
        let Some(created_at) = created_at else {
            return Err(EncryptionError::KeyExists {
                scope: key.id.scope.clone(),
                subject: key.id.subject.clone(),
            });
        };
        Ok(StoredKey {
            id: key.id.clone(),
            wrapped: key.wrapped.clone(),
            algorithm: key.algorithm.clone(),
            kek_id: key.kek_id.clone(),
            created_at,
            retired_at: None,
        })
    }

    async fn destroy(
        &self,
        tx: &mut PgTx,
        scope: &str,
        subject: &str,
    ) -> Result<u64, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        let deleted: i64 = sqlx::query_scalar(self.inner.sql.destroy.clone())
            .bind(scope)
            .bind(subject)
            .fetch_one(&mut **tx)
            .await
            .during("destroy_keys")
            .map_err(backend)?;
        u64::try_from(deleted).map_err(|err| decode("destroy_keys", err))
    }

    async fn wrapped_by_other(
        &self,
        tx: &mut PgTx,
        kek_id: &str,
        after: Option<KeyId>,
        limit: usize,
    ) -> Result<Vec<StoredKey>, EncryptionError> {
        let after = after.unwrap_or_else(|| KeyId::new("", "", 0));
        let rows = sqlx::query(self.inner.sql.wrapped_by_other.clone())
            .bind(kek_id)
            .bind(&after.scope)
            .bind(&after.subject)
            .bind(version_param(after.version)?)
            .bind(row_limit(limit))
            .fetch_all(&mut **tx)
            .await
            .during("keys_to_rewrap")
            .map_err(backend)?;
        rows.iter().filter_map(|row| stored_key(row, "keys_to_rewrap").transpose()).collect()
    }

    async fn rewrap(
        &self,
        tx: &mut PgTx,
        id: &KeyId,
        wrapped: &[u8],
        kek_id: &str,
    ) -> Result<bool, EncryptionError> {
        StoredKey::check_wrapping(wrapped, kek_id)?;
        let done = sqlx::query(self.inner.sql.rewrap.clone())
            .bind(&id.scope)
            .bind(&id.subject)
            .bind(version_param(id.version)?)
            .bind(wrapped)
            .bind(kek_id)
            .execute(&mut **tx)
            .await
            .during("rewrap_key")
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_locks_differ_per_subject_and_store() {
        let base = Tables::new().lock_key("keys");
        let other = Tables::new().with_prefix("b_").unwrap().lock_key("keys");
        assert_eq!(subject_lock(base, "users", "1"), subject_lock(base, "users", "1"));
        assert_ne!(subject_lock(base, "users", "1"), subject_lock(base, "users", "2"));
        assert_ne!(subject_lock(base, "users1", ""), subject_lock(base, "users", "1"));
        assert_ne!(subject_lock(base, "users", "1"), subject_lock(other, "users", "1"));
    }
}
