//! [`Batches`] in SQLite: checkpoints moved in batch transactions, and failures.

use async_trait::async_trait;
use pupsourcing::spi::{Batches, Claim, FailureRecord, FailureReport, Wakeups};
use pupsourcing::{UnitId, WorkerError};
use rusqlite::{OptionalExtension, params};
use sea_query::Value;

use super::{SqliteCoordinator, bind_unit, int, small, unsigned};
use crate::convert::{micros, to_integer};
use crate::error::Context;
use crate::{SqliteDatabase, SqliteTx};

#[async_trait]
impl Batches<SqliteDatabase> for SqliteCoordinator {
    async fn begin_batch(
        &self,
        tx: &mut SqliteTx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
    ) -> Result<Claim, WorkerError> {
        let (consumer, partitions, partition) = bind_unit(unit);
        let (id, epoch) = (node_id.to_owned(), to_integer("epoch", epoch)?);
        self.within(tx, "begin_batch", move |conn, sql| {
            let owned: bool = conn
                .query_row(&sql.owned, params![consumer, partitions, partition, id, epoch], |row| {
                    row.get(0)
                })
                .during("begin_batch")?;
            let row: Option<(i64, Option<i64>, bool, Option<i64>)> = conn
                .query_row(&sql.begin_batch, params![consumer, partitions, partition], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                })
                .optional()
                .during("begin_batch")?;
            Ok(match row {
                Some(_) if !owned => Claim::Fenced,
                None => Claim::Fenced,
                Some((_, _, true, _)) => Claim::Paused,
                Some((checkpoint, upto, false, skip)) => Claim::Ready {
                    checkpoint: unsigned(checkpoint)?,
                    upto: upto.map(unsigned).transpose()?,
                    skip: skip.map(unsigned).transpose()?,
                },
            })
        })
        .await
    }

    async fn commit_batch(
        &self,
        tx: &mut SqliteTx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
        checkpoint: u64,
    ) -> Result<bool, WorkerError> {
        let (consumer, partitions, partition) = bind_unit(unit);
        let (id, epoch) = (node_id.to_owned(), to_integer("epoch", epoch)?);
        let checkpoint = to_integer("checkpoint", checkpoint)?;
        self.within(tx, "commit_batch", move |conn, sql| {
            let owned: bool = conn
                .query_row(&sql.owned, params![consumer, partitions, partition, id, epoch], |row| {
                    row.get(0)
                })
                .during("commit_batch")?;
            if owned {
                let key = params![consumer, partitions, partition, checkpoint];
                conn.execute(&sql.move_checkpoint, key).during("commit_batch")?;
                conn.execute(&sql.settle, key).during("commit_batch")?;
            }
            Ok(owned)
        })
        .await
    }

    async fn record_failure(
        &self,
        unit: &UnitId,
        failure: &FailureReport,
    ) -> Result<FailureRecord, WorkerError> {
        let (consumer, partitions, partition) = bind_unit(unit);
        let error = failure.error.clone();
        let position = failure.position.map(|p| to_integer("position", p)).transpose()?;
        let attempts = failure.pause.map(|rule| int(rule.attempts));
        let failing_for = failure.pause.map(|rule| micros(rule.window()));
        self.write("record_failure", move |conn, sql| {
            let was_paused: Option<bool> = conn
                .query_row(&sql.unit_paused, params![consumer, partitions, partition], |row| {
                    row.get(0)
                })
                .optional()
                .during("record_failure")?;
            let Some(was_paused) = was_paused else {
                return Ok(FailureRecord { attempts: 0, paused: false });
            };
            let (attempts, paused): (i64, bool) = conn
                .query_row(
                    &sql.record_failure,
                    params![
                        consumer,
                        partitions,
                        partition,
                        error,
                        position,
                        attempts,
                        failing_for
                    ],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .during("record_failure")?;
            Ok(FailureRecord { attempts: small(attempts)?, paused: paused && !was_paused })
        })
        .await
    }

    async fn clear_failures(&self, unit: &UnitId) -> Result<(), WorkerError> {
        let (consumer, partitions, partition) = bind_unit(unit);
        self.write("clear_failures", move |conn, sql| {
            sql.clear_failures
                .execute(
                    conn,
                    &[Value::from(consumer), Value::from(partitions), Value::from(partition)],
                )
                .during("clear_failures")?;
            Ok(())
        })
        .await
    }

    fn wakeups(&self) -> Wakeups {
        self.db.subscribe_commits()
    }
}
