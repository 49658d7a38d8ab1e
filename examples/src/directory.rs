//! A read model: one row per user with the current email, written by a consumer in the
//! worker's batch transaction with the backend's own SQL.

use async_trait::async_trait;
use pupsourcing::{Consumer, EventFilter, HandlerError, PersistedEvent};
use pupsourcing_postgres::{PgDatabase, PgTx};
use pupsourcing_sqlite::{SqliteDatabase, SqliteTx};
use sqlx::AssertSqlSafe;

use crate::users::UserEvent;

/// Maintains `<prefix>user_directory (user_id, name, email, version, handled_by)`.
#[derive(Debug, Clone)]
pub struct Directory {
    table: String,
    node: String,
}

impl Directory {
    /// The projection as run by `node`, in table `<prefix>user_directory`.
    pub fn new(prefix: &str, node: &str) -> Self {
        Self { table: format!("{prefix}user_directory"), node: node.to_owned() }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DDL of the table (both backends accept it).
    pub fn create_table(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (user_id TEXT PRIMARY KEY, name TEXT NOT NULL, \
             email TEXT NOT NULL, version BIGINT NOT NULL, handled_by TEXT NOT NULL)",
            self.table
        )
    }

    /// The statement for `event` and its parameters in order, with `mark(n)` as the n-th
    /// placeholder (`$n` on PostgreSQL, `?n` on SQLite).
    fn write(
        &self,
        event: &PersistedEvent,
        mark: fn(usize) -> String,
    ) -> Result<(String, Vec<Value>), HandlerError> {
        let user = Value::Text(event.stream().aggregate_id().to_owned());
        let version = Value::Int(i64::try_from(event.aggregate_version)?);
        let node = Value::Text(self.node.clone());
        Ok(match event.decode_json::<UserEvent>()? {
            UserEvent::UserRegistered { name, email } => (
                format!(
                    "INSERT INTO {} (user_id, name, email, version, handled_by) VALUES ({}, {}, {}, {}, {})",
                    self.table,
                    mark(1),
                    mark(2),
                    mark(3),
                    mark(4),
                    mark(5)
                ),
                vec![user, Value::Text(name), Value::Text(email), version, node],
            ),
            UserEvent::EmailChanged { new, .. } => (
                format!(
                    "UPDATE {} SET email = {}, version = {}, handled_by = {} WHERE user_id = {}",
                    self.table,
                    mark(1),
                    mark(2),
                    mark(3),
                    mark(4)
                ),
                vec![Value::Text(new), version, node, user],
            ),
        })
    }
}

/// A statement parameter.
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Int(i64),
}

#[async_trait]
impl Consumer<PgDatabase> for Directory {
    fn name(&self) -> &str {
        "user-directory"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate_types(["user"])
    }

    fn partitions(&self) -> u32 {
        4
    }

    async fn handle(&self, tx: &mut PgTx, event: &PersistedEvent) -> Result<(), HandlerError> {
        let (sql, values) = self.write(event, |n| format!("${n}"))?;
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in values {
            query = match value {
                Value::Text(text) => query.bind(text),
                Value::Int(int) => query.bind(int),
            };
        }
        query.execute(&mut **tx).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut PgTx) -> Result<(), HandlerError> {
        sqlx::query(AssertSqlSafe(format!("DELETE FROM {}", self.table)))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Consumer<SqliteDatabase> for Directory {
    fn name(&self) -> &str {
        "user-directory"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate_types(["user"])
    }

    fn partitions(&self) -> u32 {
        4
    }

    async fn handle(&self, tx: &mut SqliteTx, event: &PersistedEvent) -> Result<(), HandlerError> {
        let (sql, values) = self.write(event, |n| format!("?{n}"))?;
        let values: Vec<rusqlite::types::Value> = values
            .into_iter()
            .map(|value| match value {
                Value::Text(text) => rusqlite::types::Value::Text(text),
                Value::Int(int) => rusqlite::types::Value::Integer(int),
            })
            .collect();
        tx.call(move |conn| conn.execute(&sql, rusqlite::params_from_iter(values))).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut SqliteTx) -> Result<(), HandlerError> {
        let sql = format!("DELETE FROM {}", self.table);
        tx.call(move |conn| conn.execute(&sql, [])).await?;
        Ok(())
    }
}
