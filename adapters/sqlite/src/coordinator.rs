//! The [`Coordinator`](pupsourcing::spi::Coordinator) in SQLite: the same tables and rules as on PostgreSQL. Every write runs
//! in a `BEGIN IMMEDIATE` transaction, which holds SQLite's single write lock, so the ownership
//! check and the checkpoint move of a batch cannot interleave with an assignment change.

mod assignments;
mod batches;
mod leadership;
mod membership;
mod operations;
mod sql;

use sea_query::Value;
use std::sync::Arc;

use pupsourcing::spi::Plan;
use pupsourcing::{Database, UnitId, WorkerError};
use rusqlite::{Connection, Row, params};

use crate::convert::{from_integer, from_small, to_integer};
use crate::error::Context;
use crate::{SqliteDatabase, SqliteStore, SqliteTx};
use sql::Statements;

/// A [`Coordinator`](pupsourcing::spi::Coordinator) in the same SQLite database as a [`SqliteStore`]; create its tables with
/// [`SqliteStore::migrate`]. Wake-ups come from this process's commits; commits of other
/// processes are picked up by polling.
#[derive(Debug, Clone)]
pub struct SqliteCoordinator {
    db: SqliteDatabase,
    sql: Arc<Statements>,
}

fn int(value: u32) -> i64 {
    i64::from(value)
}

fn unsigned(value: i64) -> Result<u64, WorkerError> {
    Ok(from_integer(value).during("coordinator")?)
}

fn small(value: i64) -> Result<u32, WorkerError> {
    Ok(from_small(value).during("coordinator")?)
}

fn unit_of(row: &Row<'_>) -> Result<UnitId, WorkerError> {
    Ok(UnitId {
        consumer: row.get(0).during("coordinator")?,
        partitions: small(row.get(1).during("coordinator")?)?,
        partition: small(row.get(2).during("coordinator")?)?,
    })
}

fn bind_unit(unit: &UnitId) -> (String, i64, i64) {
    (unit.consumer.clone(), int(unit.partitions), int(unit.partition))
}

impl SqliteCoordinator {
    /// A coordinator using `store`'s database and table names.
    pub fn new(store: &SqliteStore) -> Self {
        Self {
            db: store.database().clone(),
            sql: Arc::new(Statements::new(store.config().tables())),
        }
    }

    /// Runs `f` in a write transaction of its own and commits.
    async fn write<T, F>(&self, operation: &'static str, f: F) -> Result<T, WorkerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Statements) -> Result<T, WorkerError> + Send + 'static,
    {
        let mut tx = self.db.begin().await?;
        let sql = Arc::clone(&self.sql);
        let result = tx.run(operation, move |conn| f(conn, &sql)).await?;
        self.db.commit(tx).await?;
        Ok(result)
    }

    /// Runs `f` in a read transaction of its own.
    async fn read<T, F>(&self, operation: &'static str, f: F) -> Result<T, WorkerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Statements) -> Result<T, WorkerError> + Send + 'static,
    {
        let mut tx = self.db.begin_read().await?;
        let sql = Arc::clone(&self.sql);
        let result = tx.run(operation, move |conn| f(conn, &sql)).await?;
        self.db.rollback(tx).await?;
        Ok(result)
    }

    /// Runs `f` inside the caller's transaction.
    async fn within<T, F>(
        &self,
        tx: &mut SqliteTx,
        operation: &'static str,
        f: F,
    ) -> Result<T, WorkerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Statements) -> Result<T, WorkerError> + Send + 'static,
    {
        let sql = Arc::clone(&self.sql);
        tx.run(operation, move |conn| f(conn, &sql)).await
    }
}

fn create_units(
    conn: &Connection,
    sql: &Statements,
    consumer: &str,
    partitions: u32,
    checkpoint: u64,
) -> Result<(), WorkerError> {
    let checkpoint = to_integer("checkpoint", checkpoint)?;
    for partition in 0..partitions.max(1) {
        let key = params![consumer, int(partitions), int(partition)];
        conn.execute(&sql.create_assignment, key).during("apply_plan")?;
        conn.execute(&sql.create_status, key).during("apply_plan")?;
        conn.execute(
            &sql.create_checkpoint,
            params![consumer, int(partitions), int(partition), checkpoint],
        )
        .during("apply_plan")?;
    }
    Ok(())
}

fn apply(conn: &Connection, sql: &Statements, plan: &Plan) -> Result<(), WorkerError> {
    for spec in &plan.create {
        let args = [Value::from(spec.name.as_str()), Value::from(int(spec.partitions))];
        if sql.create_consumer.execute(conn, &args).during("apply_plan")? == 1 {
            create_units(conn, sql, &spec.name, spec.partitions, 0)?;
        }
    }
    for start in &plan.start_transitions {
        // The write lock keeps batches out, so the checkpoints read here cannot move before commit.
        let highest: i64 = conn
            .query_row(
                &sql.highest_old_checkpoint,
                params![start.consumer, int(start.from_partitions)],
                |row| row.get(0),
            )
            .during("apply_plan")?;
        let drain = highest.max(to_integer("drain position", start.drain_position)?);
        let started = sql
            .start_transition
            .execute(
                conn,
                &[
                    Value::from(start.consumer.as_str()),
                    Value::from(int(start.to_partitions)),
                    Value::from(int(start.from_partitions)),
                    Value::from(drain),
                ],
            )
            .during("apply_plan")?;
        if started == 0 {
            continue;
        }
        let args = [
            Value::from(start.consumer.as_str()),
            Value::from(int(start.from_partitions)),
            Value::from(drain),
        ];
        sql.set_drain_limit.execute(conn, &args).during("apply_plan")?;
    }
    for finish in &plan.finish_transitions {
        for statement in [&sql.drop_assignments, &sql.drop_checkpoints, &sql.drop_status] {
            let args =
                [Value::from(finish.consumer.as_str()), Value::from(int(finish.from_partitions))];
            statement.execute(conn, &args).during("apply_plan")?;
        }
        create_units(conn, sql, &finish.consumer, finish.to_partitions, finish.drain_position)?;
        sql.finish_transition
            .execute(conn, &[Value::from(finish.consumer.as_str())])
            .during("apply_plan")?;
    }
    for (unit, owner) in &plan.assign {
        let (consumer, partitions, partition) = bind_unit(unit);
        let args = [
            Value::from(consumer),
            Value::from(partitions),
            Value::from(partition),
            Value::from(owner.clone()),
        ];
        sql.assign.execute(conn, &args).during("apply_plan")?;
    }
    Ok(())
}
