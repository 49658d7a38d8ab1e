//! The [`KeyStore`] in SQLite. Write transactions hold SQLite's single write lock from their
//! `BEGIN IMMEDIATE`, so locking a subject needs no statement of its own.

mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pupsourcing::spi::{KeyId, KeyLookup, KeyStore, NewKey, StoredKey};
use pupsourcing::{BackendError, EncryptionError};
use rusqlite::{Connection, OptionalExtension, Row, ffi, params};

use crate::convert::row_limit;
use crate::error::{Context, Failure};
use crate::{SqliteDatabase, SqliteStore, SqliteTx};
use sql::Statements;

/// A [`KeyStore`] in the same SQLite database as a [`SqliteStore`]; create its tables with
/// [`SqliteStore::migrate`].
#[derive(Debug, Clone)]
pub struct SqliteKeyStore {
    sql: Arc<Statements>,
}

impl SqliteKeyStore {
    /// A key store using `store`'s table names.
    pub fn new(store: &SqliteStore) -> Self {
        Self { sql: Arc::new(Statements::new(store.config().tables())) }
    }

    async fn run<T, F>(
        &self,
        tx: &mut SqliteTx,
        operation: &'static str,
        f: F,
    ) -> Result<T, EncryptionError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Statements) -> Result<T, EncryptionError> + Send + 'static,
    {
        let sql = Arc::clone(&self.sql);
        tx.run(operation, move |conn| f(conn, &sql)).await
    }
}

fn backend(failure: Failure) -> EncryptionError {
    EncryptionError::Backend(BackendError::from(failure))
}

fn micros_to_time(column: usize, micros: i64) -> rusqlite::Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or(rusqlite::Error::IntegralValueOutOfRange(column, micros))
}

fn version_of(column: usize, value: i64) -> rusqlite::Result<u32> {
    u32::try_from(value).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(column, value))
}

fn stored_key(row: &Row<'_>) -> rusqlite::Result<StoredKey> {
    Ok(StoredKey {
        id: KeyId {
            scope: row.get(0)?,
            subject: row.get(1)?,
            version: version_of(2, row.get(2)?)?,
        },
        wrapped: row.get(3)?,
        algorithm: row.get(4)?,
        kek_id: row.get(5)?,
        created_at: micros_to_time(6, row.get(6)?)?,
        retired_at: row.get::<_, Option<i64>>(7)?.map(|at| micros_to_time(7, at)).transpose()?,
    })
}

fn newest(
    conn: &Connection,
    sql: &Statements,
    scope: &str,
    subject: &str,
    operation: &'static str,
) -> Result<KeyLookup, EncryptionError> {
    let found = conn
        .query_row(&sql.newest, params![scope, subject], stored_key)
        .optional()
        .during(operation);
    match found.map_err(backend)? {
        Some(key) => Ok(KeyLookup::Found(key)),
        None => tombstone(conn, sql, scope, subject, operation),
    }
}

fn tombstone(
    conn: &Connection,
    sql: &Statements,
    scope: &str,
    subject: &str,
    operation: &'static str,
) -> Result<KeyLookup, EncryptionError> {
    let up_to = conn
        .query_row(&sql.tombstone, params![scope, subject], |row| version_of(0, row.get(0)?))
        .optional()
        .during(operation)
        .map_err(backend)?;
    Ok(up_to.map_or(KeyLookup::Missing, |up_to_version| KeyLookup::Destroyed { up_to_version }))
}

fn is_key_conflict(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(code, _)
        if code.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || code.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE)
}

#[async_trait]
impl KeyStore<SqliteDatabase> for SqliteKeyStore {
    async fn lock_subject(
        &self,
        tx: &mut SqliteTx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError> {
        self.current(tx, scope, subject).await
    }

    async fn current(
        &self,
        tx: &mut SqliteTx,
        scope: &str,
        subject: &str,
    ) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        let (scope, subject) = (scope.to_owned(), subject.to_owned());
        self.run(tx, "current_key", move |conn, sql| {
            newest(conn, sql, &scope, &subject, "current_key")
        })
        .await
    }

    async fn get(&self, tx: &mut SqliteTx, id: &KeyId) -> Result<KeyLookup, EncryptionError> {
        KeyId::check_names(&id.scope, &id.subject)?;
        let id = id.clone();
        self.run(tx, "get_key", move |conn, sql| {
            let found = conn
                .query_row(&sql.get, params![id.scope, id.subject, id.version], stored_key)
                .optional()
                .during("get_key")
                .map_err(backend)?;
            if let Some(key) = found {
                return Ok(KeyLookup::Found(key));
            }
            Ok(match tombstone(conn, sql, &id.scope, &id.subject, "get_key")? {
                KeyLookup::Destroyed { up_to_version } if id.version <= up_to_version => {
                    KeyLookup::Destroyed { up_to_version }
                }
                _ => KeyLookup::Missing,
            })
        })
        .await
    }

    async fn insert(&self, tx: &mut SqliteTx, key: &NewKey) -> Result<StoredKey, EncryptionError> {
        key.check()?;
        let key = key.clone();
        self.run(tx, "insert_key", move |conn, sql| {
            let NewKey { id, wrapped, algorithm, kek_id } = key;
            let created = conn.query_row(
                &sql.insert,
                params![id.scope, id.subject, id.version, wrapped, algorithm, kek_id],
                |row| row.get::<_, i64>(0),
            );
            let created_at = match created {
                Ok(micros) => micros_to_time(6, micros).during("insert_key").map_err(backend)?,
                Err(err) if is_key_conflict(&err) => {
                    return Err(EncryptionError::KeyExists {
                        scope: id.scope,
                        subject: id.subject,
                    });
                }
                Err(err) => return Err(backend(crate::error::failure("insert_key", err))),
            };
            conn.execute(&sql.retire, params![id.scope, id.subject, id.version])
                .during("insert_key")
                .map_err(backend)?;
            Ok(StoredKey { id, wrapped, algorithm, kek_id, created_at, retired_at: None })
        })
        .await
    }

    async fn destroy(
        &self,
        tx: &mut SqliteTx,
        scope: &str,
        subject: &str,
    ) -> Result<u64, EncryptionError> {
        KeyId::check_names(scope, subject)?;
        let (scope, subject) = (scope.to_owned(), subject.to_owned());
        self.run(tx, "destroy_keys", move |conn, sql| {
            let mut delete =
                conn.prepare_cached(&sql.delete).during("destroy_keys").map_err(backend)?;
            let versions = delete
                .query_map(params![scope, subject], |row| row.get::<_, i64>(0))
                .and_then(Iterator::collect::<rusqlite::Result<Vec<i64>>>)
                .during("destroy_keys")
                .map_err(backend)?;
            let highest = versions.iter().copied().max().unwrap_or(0);
            conn.execute(&sql.bury, params![scope, subject, highest])
                .during("destroy_keys")
                .map_err(backend)?;
            Ok(u64::try_from(versions.len()).unwrap_or(u64::MAX))
        })
        .await
    }

    async fn wrapped_by_other(
        &self,
        tx: &mut SqliteTx,
        kek_id: &str,
        after: Option<KeyId>,
        limit: usize,
    ) -> Result<Vec<StoredKey>, EncryptionError> {
        let kek_id = kek_id.to_owned();
        let after = after.unwrap_or_else(|| KeyId::new("", "", 0));
        let limit = row_limit(limit);
        self.run(tx, "keys_to_rewrap", move |conn, sql| {
            let mut select = conn
                .prepare_cached(&sql.wrapped_by_other)
                .during("keys_to_rewrap")
                .map_err(backend)?;
            select
                .query_map(
                    params![kek_id, after.scope, after.subject, after.version, limit],
                    stored_key,
                )
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .during("keys_to_rewrap")
                .map_err(backend)
        })
        .await
    }

    async fn rewrap(
        &self,
        tx: &mut SqliteTx,
        id: &KeyId,
        wrapped: &[u8],
        kek_id: &str,
    ) -> Result<bool, EncryptionError> {
        StoredKey::check_wrapping(wrapped, kek_id)?;
        let (id, wrapped, kek_id) = (id.clone(), wrapped.to_vec(), kek_id.to_owned());
        self.run(tx, "rewrap_key", move |conn, sql| {
            let changed = conn
                .execute(&sql.rewrap, params![id.scope, id.subject, id.version, wrapped, kek_id])
                .during("rewrap_key")
                .map_err(backend)?;
            Ok(changed == 1)
        })
        .await
    }
}
