//! The [`Coordinator`](pupsourcing::spi::Coordinator) in PostgreSQL: membership, the leader lease, assignments, checkpoints
//! and consumer status in plain tables, with the database's clock for liveness.
//!
//! Fencing: a batch locks its unit's checkpoint row (`FOR UPDATE`) when it starts, and before
//! it moves the checkpoint it takes a share lock on its assignment row while checking owner and
//! epoch, in the same statement. An assignment change therefore either committed before that
//! check (the batch sees it and rolls back) or waits for the batch to commit: a node never
//! commits a batch for a unit it no longer owns.

mod assignments;
mod batches;
mod leadership;
mod membership;
mod operations;
mod sql;
mod wakeups;

use sea_query::Value;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pupsourcing::spi::Wakeups;
use pupsourcing::{UnitId, WorkerError};
use sqlx::Row;

use crate::convert::{from_bigint, from_int, to_bigint, to_int};
use crate::error::Context;
use crate::{PgDatabase, PgTx, PostgresStore};
use sql::Statements;

/// A [`Coordinator`](pupsourcing::spi::Coordinator) in the same PostgreSQL database (and schema) as a [`PostgresStore`].
///
/// Create its tables with [`PostgresStore::migrate`]. Wake-ups use the store's NOTIFY channel
/// ([`PostgresStoreConfig::with_notify_channel`](crate::PostgresStoreConfig::with_notify_channel));
/// without one, idle consumers poll.
#[derive(Debug, Clone)]
pub struct PostgresCoordinator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: PgDatabase,
    channel: Option<String>,
    sql: Statements,
    wakeups: OnceLock<Wakeups>,
}

const OPERATION: &str = "coordinator";

fn seconds(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

impl PostgresCoordinator {
    /// A coordinator using `store`'s database, table names and NOTIFY channel.
    pub fn new(store: &PostgresStore) -> Self {
        let config = store.config();
        Self {
            inner: Arc::new(Inner {
                db: store.database().clone(),
                channel: config.notify_channel().map(str::to_owned),
                sql: Statements::new(config.tables()),
                wakeups: OnceLock::new(),
            }),
        }
    }

    fn pool(&self) -> &sqlx::PgPool {
        self.inner.db.pool()
    }

    async fn create_units(
        &self,
        tx: &mut PgTx,
        consumer: &str,
        partitions: u32,
        checkpoint: u64,
    ) -> Result<(), WorkerError> {
        let sql = &self.inner.sql;
        for statement in [&sql.create_assignments, &sql.create_status] {
            sqlx::query(statement.clone())
                .bind(consumer)
                .bind(to_int("partitions", partitions)?)
                .execute(&mut **tx)
                .await
                .during("apply_plan")?;
        }
        sqlx::query(sql.create_checkpoints.clone())
            .bind(consumer)
            .bind(to_int("partitions", partitions)?)
            .bind(to_bigint("checkpoint", checkpoint)?)
            .execute(&mut **tx)
            .await
            .during("apply_plan")?;
        Ok(())
    }

    async fn drop_units(
        &self,
        tx: &mut PgTx,
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

fn unit_of(row: &sqlx::postgres::PgRow) -> Result<UnitId, WorkerError> {
    Ok(UnitId {
        consumer: row.try_get(0).during(OPERATION)?,
        partitions: from_int(OPERATION, row.try_get(1).during(OPERATION)?)?,
        partition: from_int(OPERATION, row.try_get(2).during(OPERATION)?)?,
    })
}

/// A stored position, epoch or checkpoint, if present.
fn position(value: Option<i64>) -> Result<Option<u64>, WorkerError> {
    Ok(value.map(|value| from_bigint(OPERATION, value)).transpose()?)
}
