//! The [`Coordinator`](pupsourcing::spi::Coordinator) in MySQL: membership, the leader lease,
//! assignments, checkpoints and consumer status in plain tables, with the server's clock (UTC)
//! for liveness.
//!
//! Fencing: a batch locks its unit's checkpoint row (`FOR UPDATE`) when it starts, and before
//! it moves the checkpoint it share-locks its assignment row while checking owner and epoch. An
//! assignment change therefore either committed before that check (the batch sees it and rolls
//! back) or waits for the batch to commit: a node never commits a batch for a unit it no longer
//! owns.
//!
//! MySQL has no NOTIFY: idle consumers are woken by commits made through this process's
//! [`MysqlDatabase`], and otherwise poll with the worker's back-off.

mod assignments;
mod batches;
mod leadership;
mod membership;
mod operations;
mod sql;

use std::sync::Arc;
use std::time::Duration;

use pupsourcing::{UnitId, WorkerError};
use sea_query::Value;
use sqlx::mysql::MySqlRow;
use sqlx::{AssertSqlSafe, Row};

use crate::convert::{from_bigint, from_int, name, to_bigint, to_int};
use crate::error::Context;
use crate::{MysqlDatabase, MysqlStore, MysqlTx};
use sql::Statements;

/// A [`Coordinator`](pupsourcing::spi::Coordinator) in the same MySQL database as a
/// [`MysqlStore`]; create its tables with [`MysqlStore::migrate`].
#[derive(Debug, Clone)]
pub struct MysqlCoordinator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: MysqlDatabase,
    sql: Statements,
}

const OPERATION: &str = "coordinator";

/// A duration in whole microseconds (`INTERVAL ? MICROSECOND`), saturating.
fn micros(duration: Duration) -> i64 {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

impl MysqlCoordinator {
    /// A coordinator using `store`'s database and table names.
    pub fn new(store: &MysqlStore) -> Self {
        Self {
            inner: Arc::new(Inner {
                db: store.database().clone(),
                sql: Statements::new(store.config().tables()),
            }),
        }
    }

    fn pool(&self) -> &sqlx::MySqlPool {
        self.inner.db.pool()
    }

    async fn create_units(
        &self,
        tx: &mut MysqlTx,
        consumer: &str,
        partitions: u32,
        checkpoint: u64,
    ) -> Result<(), WorkerError> {
        let sql = &self.inner.sql;
        let count = to_int("partitions", partitions)?;
        let checkpoint = to_bigint("checkpoint", checkpoint)?;
        for partition in 0..count {
            for statement in [&sql.create_assignment, &sql.create_status] {
                sqlx::query(AssertSqlSafe(statement.clone()))
                    .bind(consumer)
                    .bind(count)
                    .bind(partition)
                    .execute(&mut **tx)
                    .await
                    .during("apply_plan")?;
            }
            sqlx::query(AssertSqlSafe(sql.create_checkpoint.clone()))
                .bind(consumer)
                .bind(count)
                .bind(partition)
                .bind(checkpoint)
                .execute(&mut **tx)
                .await
                .during("apply_plan")?;
        }
        Ok(())
    }

    async fn drop_units(
        &self,
        tx: &mut MysqlTx,
        consumer: &str,
        partitions: u32,
    ) -> Result<(), WorkerError> {
        let sql = &self.inner.sql;
        for statement in [&sql.drop_assignments, &sql.drop_checkpoints, &sql.drop_status] {
            statement
                .query(&[Value::from(consumer), Value::from(to_int("partitions", partitions)?)])
                .execute(&mut **tx)
                .await
                .during("apply_plan")?;
        }
        Ok(())
    }
}

/// A name column (`VARBINARY`) as text.
fn text(row: &MySqlRow, index: usize, operation: &'static str) -> Result<String, WorkerError> {
    Ok(name(operation, row.try_get::<Vec<u8>, _>(index).during(operation)?)?)
}

/// A nullable name column as text.
fn optional_text(
    row: &MySqlRow,
    index: usize,
    operation: &'static str,
) -> Result<Option<String>, WorkerError> {
    let bytes: Option<Vec<u8>> = row.try_get(index).during(operation)?;
    Ok(bytes.map(|bytes| name(operation, bytes)).transpose()?)
}

fn unit_of(row: &MySqlRow) -> Result<UnitId, WorkerError> {
    Ok(UnitId {
        consumer: text(row, 0, OPERATION)?,
        partitions: from_int(OPERATION, row.try_get(1).during(OPERATION)?)?,
        partition: from_int(OPERATION, row.try_get(2).during(OPERATION)?)?,
    })
}

/// A stored position, epoch or checkpoint, if present.
fn position(value: Option<i64>) -> Result<Option<u64>, WorkerError> {
    Ok(value.map(|value| from_bigint(OPERATION, value)).transpose()?)
}
