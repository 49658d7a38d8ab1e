//! A read model: one row per user with the current email, written by a consumer in the
//! worker's batch transaction with plain SQL.

use pupsourcing::async_trait;
use pupsourcing::{Consumer, DomainEvent, EventFilter, HandlerError, PersistedEvent};

use crate::sql::{SqlDatabase, Value};
use crate::users::{EmailChanged, Registered, UserEvent};

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

    /// The DDL of the table (every backend accepts it).
    pub fn create_table(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {} (user_id VARCHAR(255) PRIMARY KEY, name TEXT NOT NULL, \
             email TEXT NOT NULL, version BIGINT NOT NULL, handled_by TEXT NOT NULL)",
            self.table
        )
    }

    /// The statement for `event` and its parameters in order, with `mark(n)` as the n-th
    /// placeholder.
    fn write(
        &self,
        event: &PersistedEvent,
        mark: fn(usize) -> String,
    ) -> Result<(String, Vec<Value>), HandlerError> {
        let user = Value::Text(event.stream().aggregate_id().to_owned());
        let version = Value::Int(i64::try_from(event.aggregate_version)?);
        let node = Value::Text(self.node.clone());
        Ok(match UserEvent::decode(event)? {
            UserEvent::Registered(Registered { name, email }) => (
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
            UserEvent::EmailChanged(EmailChanged { new, .. }) => (
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

#[async_trait]
impl<D: SqlDatabase> Consumer<D> for Directory {
    fn name(&self) -> &str {
        "user-directory"
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate_types(["user"])
    }

    fn partitions(&self) -> u32 {
        4
    }

    async fn handle(&self, tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError> {
        let (sql, values) = self.write(event, D::placeholder)?;
        D::execute(tx, sql, values).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut D::Tx) -> Result<(), HandlerError> {
        D::execute(tx, format!("DELETE FROM {}", self.table), Vec::new()).await?;
        Ok(())
    }
}
