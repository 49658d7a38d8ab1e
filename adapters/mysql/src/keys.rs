//! The [`KeyStore`] in MySQL.
//!
//! Creation, rotation and destruction of one subject's keys serialize on a row of the key-lock
//! table, written (and so locked until the transaction ends) by
//! [`lock_subject`](KeyStore::lock_subject): MySQL has no transaction-scoped advisory locks,
//! and under READ COMMITTED a locking read of absent rows locks nothing. The subject is read
//! again after the lock, with a new statement, which READ COMMITTED makes see every commit
//! before it.

mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use pupsourcing::spi::{KeyId, KeyLookup, KeyStore, NewKey, StoredKey};
use pupsourcing::{BackendError, EncryptionError};
use sqlx::mysql::MySqlRow;
use sqlx::{AssertSqlSafe, Row};

use crate::convert::{from_int, name, row_limit, to_int};
use crate::error::{Context, DUPLICATE_ENTRY, Failure, error_number, failure};
use crate::{MysqlDatabase, MysqlStore, MysqlTx};
use sql::Statements;

/// A [`KeyStore`] in the same MySQL database as a [`MysqlStore`]; create its tables with
/// [`MysqlStore::migrate`].
#[derive(Debug, Clone)]
pub struct MysqlKeyStore {
    sql: Arc<Statements>,
}

impl MysqlKeyStore {
    /// A key store using `store`'s table names.
    pub fn new(store: &MysqlStore) -> Self {
        Self { sql: Arc::new(Statements::new(store.config().tables())) }
    }
}

fn backend(failure: Failure) -> EncryptionError {
    EncryptionError::Backend(BackendError::from(failure))
}

fn version_param(version: u32) -> Result<i32, EncryptionError> {
    to_int("key version", version)
        .map_err(|_| EncryptionError::InvalidInput("key version exceeds the schema's INTEGER"))
}

fn stored_key(row: &MySqlRow, operation: &'static str) -> Result<StoredKey, EncryptionError> {
    let get = |e| backend(failure(operation, e));
    let text = |index: usize| -> Result<String, EncryptionError> {
        name(operation, row.try_get::<Vec<u8>, _>(index).map_err(get)?).map_err(backend)
    };
    Ok(StoredKey {
        id: KeyId {
            scope: text(0)?,
            subject: text(1)?,
            version: from_int(operation, row.try_get(2).map_err(get)?).map_err(backend)?,
        },
        wrapped: row.try_get(3).map_err(get)?,
        algorithm: text(4)?,
        kek_id: text(5)?,
        created_at: row.try_get::<NaiveDateTime, _>(6).map_err(get)?.and_utc(),
        retired_at: row.try_get::<Option<NaiveDateTime>, _>(7).map_err(get)?.map(|at| at.and_utc()),
    })
}

impl MysqlKeyStore {
    async fn newest(
        &self,
        tx: &mut MysqlTx,
        scope: &str,
        subject: &str,
        operation: &'static str,
    ) -> Result<KeyLookup, EncryptionError> {
        let row = sqlx::query(AssertSqlSafe(self.sql.newest.clone()))
            .bind(scope)
            .bind(subject)
            .fetch_optional(&mut **tx)
            .await
            .during(operation)
            .map_err(backend)?;
        match row {
            Some(row) => Ok(KeyLookup::Found(stored_key(&row, operation)?)),
            None => self.tombstone(tx, scope, subject, operation).await,
        }
    }

    async fn tombstone(
        &self,
        tx: &mut MysqlTx,
        scope: &str,
        subject: &str,
        operation: &'static str,
    ) -> Result<KeyLookup, EncryptionError> {
        let up_to: Option<i32> = sqlx::query_scalar(AssertSqlSafe(self.sql.tombstone.clone()))
            .bind(scope)
            .bind(subject)
            .fetch_optional(&mut **tx)
            .await
            .during(operation)
            .map_err(backend)?;
        Ok(match up_to {
            Some(version) => KeyLookup::Destroyed {
                up_to_version: from_int(operation, version).map_err(backend)?,
            },
            None => KeyLookup::Missing,
        })
    }
}

#[async_trait]
impl KeyStore<MysqlDatabase> for MysqlKeyStore {
    async fn lock_subject(
        &self,
        tx: &mut MysqlTx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        sqlx::query(AssertSqlSafe(self.sql.lock.clone()))
            .bind(scope)
            .bind(subject)
            .execute(&mut **tx)
            .await
            .during("lock_subject")
            .map_err(backend)?;
        self.newest(tx, scope, subject, "lock_subject").await
    }

    async fn current(
        &self,
        tx: &mut MysqlTx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        self.newest(tx, scope, subject, "current_key").await
    }

    async fn get(&self, tx: &mut MysqlTx, id: &KeyId) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(&id.scope, &id.subject)?;
        let row = sqlx::query(AssertSqlSafe(self.sql.get.clone()))
            .bind(&id.scope)
            .bind(&id.subject)
            .bind(version_param(id.version)?)
            .fetch_optional(&mut **tx)
            .await
            .during("get_key")
            .map_err(backend)?;
        if let Some(row) = row {
            return Ok(KeyLookup::Found(stored_key(&row, "get_key")?));
        }
        Ok(match self.tombstone(tx, &id.scope, &id.subject, "get_key").await? {
            KeyLookup::Destroyed { up_to_version } if id.version <= up_to_version => {
                KeyLookup::Destroyed { up_to_version }
            }
            _ => KeyLookup::Missing,
        })
    }

    async fn insert(&self, tx: &mut MysqlTx, key: &NewKey) -> Result<StoredKey, EncryptionError> {
        key.check()?;
        let inserted = sqlx::query(AssertSqlSafe(self.sql.insert.clone()))
            .bind(&key.id.scope)
            .bind(&key.id.subject)
            .bind(version_param(key.id.version)?)
            .bind(&key.wrapped)
            .bind(&key.algorithm)
            .bind(&key.kek_id)
            .execute(&mut **tx)
            .await;
        match inserted {
            Ok(_) => {}
            Err(err) if error_number(&err) == Some(DUPLICATE_ENTRY) => {
                return Err(EncryptionError::KeyExists {
                    scope: key.id.scope.clone(),
                    subject: key.id.subject.clone(),
                });
            }
            Err(err) => return Err(backend(failure("insert_key", err))),
        }
        sqlx::query(AssertSqlSafe(self.sql.retire.clone()))
            .bind(&key.id.scope)
            .bind(&key.id.subject)
            .bind(version_param(key.id.version)?)
            .execute(&mut **tx)
            .await
            .during("insert_key")
            .map_err(backend)?;
        match self.get(tx, &key.id).await? {
            KeyLookup::Found(stored) => Ok(stored),
            _ => Err(EncryptionError::InvalidInput("the inserted key did not read back")),
        }
    }

    async fn destroy(
        &self,
        tx: &mut MysqlTx,
        scope: &str,
        subject: &str,
    ) -> Result<u64, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        let versions: Vec<i32> = sqlx::query_scalar(AssertSqlSafe(self.sql.versions.clone()))
            .bind(scope)
            .bind(subject)
            .fetch_all(&mut **tx)
            .await
            .during("destroy_keys")
            .map_err(backend)?;
        sqlx::query(AssertSqlSafe(self.sql.delete.clone()))
            .bind(scope)
            .bind(subject)
            .execute(&mut **tx)
            .await
            .during("destroy_keys")
            .map_err(backend)?;
        sqlx::query(AssertSqlSafe(self.sql.bury.clone()))
            .bind(scope)
            .bind(subject)
            .bind(versions.iter().copied().max().unwrap_or(0))
            .execute(&mut **tx)
            .await
            .during("destroy_keys")
            .map_err(backend)?;
        Ok(u64::try_from(versions.len()).unwrap_or(u64::MAX))
    }

    async fn wrapped_by_other(
        &self,
        tx: &mut MysqlTx,
        kek_id: &str,
        after: Option<KeyId>,
        limit: usize,
    ) -> Result<Vec<StoredKey>, EncryptionError> {
        let after = after.unwrap_or_else(|| KeyId::new("", "", 0));
        let rows = sqlx::query(AssertSqlSafe(self.sql.wrapped_by_other.clone()))
            .bind(kek_id)
            .bind(&after.scope)
            .bind(&after.subject)
            .bind(version_param(after.version)?)
            .bind(row_limit(limit))
            .fetch_all(&mut **tx)
            .await
            .during("keys_to_rewrap")
            .map_err(backend)?;
        rows.iter().map(|row| stored_key(row, "keys_to_rewrap")).collect()
    }

    async fn rewrap(
        &self,
        tx: &mut MysqlTx,
        id: &KeyId,
        wrapped: &[u8],
        kek_id: &str,
    ) -> Result<bool, EncryptionError> {
        StoredKey::check_wrapping(wrapped, kek_id)?;
        let done = sqlx::query(AssertSqlSafe(self.sql.rewrap.clone()))
            .bind(wrapped)
            .bind(kek_id)
            .bind(&id.scope)
            .bind(&id.subject)
            .bind(version_param(id.version)?)
            .execute(&mut **tx)
            .await
            .during("rewrap_key")
            .map_err(backend)?;
        Ok(done.rows_affected() == 1)
    }
}
