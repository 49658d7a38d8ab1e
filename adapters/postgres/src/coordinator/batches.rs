//! [`Batches`] in PostgreSQL: checkpoints moved in batch transactions, and failures.

use async_trait::async_trait;
use pupsourcing::spi::{Batches, Claim, FailureRecord, FailureReport, Wakeups};
use pupsourcing::{UnitId, WorkerError};
use sea_query::Value;
use sqlx::Row;

use super::{PostgresCoordinator, position, seconds};
use crate::convert::{from_int, to_bigint, to_int};
use crate::error::Context;
use crate::{PgDatabase, PgTx};

#[async_trait]
impl Batches<PgDatabase> for PostgresCoordinator {
    async fn begin_batch(
        &self,
        tx: &mut PgTx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
    ) -> Result<Claim, WorkerError> {
        let row = sqlx::query(self.inner.sql.begin_batch.clone())
            .bind(&unit.consumer)
            .bind(to_int("partitions", unit.partitions)?)
            .bind(to_int("partition", unit.partition)?)
            .bind(node_id)
            .bind(to_bigint("epoch", epoch)?)
            .fetch_optional(&mut **tx)
            .await
            .during("begin_batch")?;
        let Some(row) = row else { return Ok(Claim::Fenced) };
        let owned: bool = row.try_get(4).during("begin_batch")?;
        let paused: bool = row.try_get(2).during("begin_batch")?;
        Ok(match (owned, paused) {
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
        tx: &mut PgTx,
        unit: &UnitId,
        node_id: &str,
        epoch: u64,
        checkpoint: u64,
    ) -> Result<bool, WorkerError> {
        let moved: i64 = sqlx::query_scalar(self.inner.sql.commit_batch.clone())
            .bind(&unit.consumer)
            .bind(to_int("partitions", unit.partitions)?)
            .bind(to_int("partition", unit.partition)?)
            .bind(node_id)
            .bind(to_bigint("epoch", epoch)?)
            .bind(to_bigint("checkpoint", checkpoint)?)
            .fetch_one(&mut **tx)
            .await
            .during("commit_batch")?;
        Ok(moved == 1)
    }

    async fn record_failure(
        &self,
        unit: &UnitId,
        failure: &FailureReport,
    ) -> Result<FailureRecord, WorkerError> {
        let (attempts, failing_for) = match failure.pause {
            Some(rule) => {
                (Some(to_int("attempts", rule.attempts)?), Some(seconds(rule.failing_for)))
            }
            None => (None, None),
        };
        let row = sqlx::query(self.inner.sql.record_failure.clone())
            .bind(&unit.consumer)
            .bind(to_int("partitions", unit.partitions)?)
            .bind(to_int("partition", unit.partition)?)
            .bind(failure.error.replace('\0', ""))
            .bind(failure.position.map(|p| to_bigint("position", p)).transpose()?)
            .bind(attempts)
            .bind(failing_for)
            .fetch_optional(self.pool())
            .await
            .during("record_failure")?;
        let Some(row) = row else { return Ok(FailureRecord { attempts: 0, paused: false }) };
        Ok(FailureRecord {
            attempts: from_int("record_failure", row.try_get(0).during("record_failure")?)?,
            paused: row.try_get(1).during("record_failure")?,
        })
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
        self.inner
            .wakeups
            .get_or_init(|| super::wakeups::spawn(self.pool().clone(), self.inner.channel.clone()))
            .clone()
    }
}
