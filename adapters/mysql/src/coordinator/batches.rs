//! [`Batches`] in MySQL: checkpoints moved in batch transactions, and failures.

use async_trait::async_trait;
use pupsourcing::spi::{Batches, Claim, FailureRecord, FailureReport, Wakeups};
use pupsourcing::{UnitId, WorkerError};
use sea_query::Value;
use sqlx::{AssertSqlSafe, Connection, Row};

use super::{MysqlCoordinator, micros, position};
use crate::convert::{from_int, to_bigint, to_int};
use crate::error::Context;
use crate::{MysqlDatabase, MysqlTx};

fn unit_args(unit: &UnitId) -> Result<(String, i32, i32), WorkerError> {
    Ok((
        unit.consumer.clone(),
        to_int("partitions", unit.partitions)?,
        to_int("partition", unit.partition)?,
    ))
}

#[async_trait]
impl Batches<MysqlDatabase> for MysqlCoordinator {
    async fn begin_batch(
        &self,
        tx: &mut MysqlTx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
    ) -> Result<Claim, WorkerError> {
        let sql = &self.inner.sql;
        let (consumer, partitions, partition) = unit_args(unit)?;
        let row = sqlx::query(AssertSqlSafe(sql.begin_batch.clone()))
            .bind(&consumer)
            .bind(partitions)
            .bind(partition)
            .fetch_optional(&mut **tx)
            .await
            .during("begin_batch")?;
        let Some(row) = row else { return Ok(Claim::Fenced) };
        let owned: i64 = sqlx::query_scalar(AssertSqlSafe(sql.owned.clone()))
            .bind(&consumer)
            .bind(partitions)
            .bind(partition)
            .bind(node_id)
            .bind(to_bigint("epoch", epoch)?)
            .fetch_one(&mut **tx)
            .await
            .during("begin_batch")?;
        let paused: bool = row.try_get(2).during("begin_batch")?;
        Ok(match (owned == 1, paused) {
            (false, _) => Claim::Fenced,
            (true, true) => Claim::Paused,
            (true, false) => Claim::Ready {
                checkpoint: position(Some(row.try_get(0).during("begin_batch")?))?
                    .unwrap_or_default(),
                upto: position(row.try_get(1).during("begin_batch")?)?,
                skip: position(row.try_get(3).during("begin_batch")?)?,
            },
        })
    }

    async fn commit_batch(
        &self,
        tx: &mut MysqlTx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
        checkpoint: u64,
    ) -> Result<bool, WorkerError> {
        let sql = &self.inner.sql;
        let (consumer, partitions, partition) = unit_args(unit)?;
        let owned: i64 = sqlx::query_scalar(AssertSqlSafe(sql.owned_locked.clone()))
            .bind(&consumer)
            .bind(partitions)
            .bind(partition)
            .bind(node_id)
            .bind(to_bigint("epoch", epoch)?)
            .fetch_one(&mut **tx)
            .await
            .during("commit_batch")?;
        if owned != 1 {
            return Ok(false);
        }
        let checkpoint = to_bigint("checkpoint", checkpoint)?;
        sqlx::query(AssertSqlSafe(sql.move_checkpoint.clone()))
            .bind(checkpoint)
            .bind(&consumer)
            .bind(partitions)
            .bind(partition)
            .execute(&mut **tx)
            .await
            .during("commit_batch")?;
        sqlx::query(AssertSqlSafe(sql.settle.clone()))
            .bind(checkpoint)
            .bind(&consumer)
            .bind(partitions)
            .bind(partition)
            .bind(checkpoint)
            .execute(&mut **tx)
            .await
            .during("commit_batch")?;
        Ok(true)
    }

    async fn record_failure(
        &self,
        unit: &UnitId,
        failure: &FailureReport,
    ) -> Result<FailureRecord, WorkerError> {
        let sql = &self.inner.sql;
        let (consumer, partitions, partition) = unit_args(unit)?;
        let mut conn = self.pool().acquire().await.during("record_failure")?;
        let mut tx = conn.begin().await.during("record_failure")?;
        let failing_for = failure.pause.map_or(0, |rule| micros(rule.failing_for));
        let row = sqlx::query(AssertSqlSafe(sql.lock_status.clone()))
            .bind(failing_for)
            .bind(&consumer)
            .bind(partitions)
            .bind(partition)
            .fetch_optional(&mut *tx)
            .await
            .during("record_failure")?;
        let Some(row) = row else { return Ok(FailureRecord { attempts: 0, paused: false }) };
        let attempts =
            from_int("record_failure", row.try_get(0).during("record_failure")?)?.saturating_add(1);
        let was_paused: bool = row.try_get(1).during("record_failure")?;
        let long_enough: bool = row.try_get(2).during("record_failure")?;
        let pauses = failure
            .pause
            .is_some_and(|rule| attempts >= rule.attempts && long_enough && !was_paused);
        sqlx::query(AssertSqlSafe(sql.record_failure.clone()))
            .bind(failure.error.replace('\0', ""))
            .bind(failure.position.map(|p| to_bigint("position", p)).transpose()?)
            .bind(failure.pause.is_some())
            .bind(was_paused || pauses)
            .bind(&consumer)
            .bind(partitions)
            .bind(partition)
            .execute(&mut *tx)
            .await
            .during("record_failure")?;
        tx.commit().await.during("record_failure")?;
        Ok(FailureRecord { attempts, paused: pauses })
    }

    async fn clear_failures(&self, unit: &UnitId) -> Result<(), WorkerError> {
        self.inner
            .sql
            .clear_failures
            .query(&[
                Value::from(&unit.consumer),
                Value::from(to_int("partitions", unit.partitions)?),
                Value::from(to_int("partition", unit.partition)?),
            ])
            .execute(self.pool())
            .await
            .during("clear_failures")?;
        Ok(())
    }

    fn wakeups(&self) -> Wakeups {
        self.inner.db.wakeups()
    }
}
