//! [`Operations`] in MySQL: status, pauses, skips and checkpoint resets.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use pupsourcing::spi::{NodeStatus, Operations};
use pupsourcing::{UnitStatus, WorkerError};
use sea_query::Value;
use sqlx::{AssertSqlSafe, Connection, Row};

use super::membership::live_node;
use super::{MysqlCoordinator, optional_text, position, unit_of};
use crate::convert::{from_int, to_bigint, to_int};
use crate::error::Context;
use crate::{MysqlDatabase, MysqlTx};

#[async_trait]
impl Operations<MysqlDatabase> for MysqlCoordinator {
    async fn status(&self) -> Result<Vec<UnitStatus>, WorkerError> {
        let rows =
            self.inner.sql.status.query(&[]).fetch_all(self.pool()).await.during("status")?;
        rows.iter()
            .map(|row| {
                Ok(UnitStatus {
                    unit: unit_of(row)?,
                    owner: optional_text(row, 3, "status")?,
                    epoch: position(Some(row.try_get(4).during("status")?))?.unwrap_or_default(),
                    checkpoint: position(Some(row.try_get(5).during("status")?))?
                        .unwrap_or_default(),
                    upto: position(row.try_get(6).during("status")?)?,
                    paused: row.try_get(7).during("status")?,
                    attempts: from_int("status", row.try_get(8).during("status")?)?,
                    last_error: row.try_get(9).during("status")?,
                    failed_position: position(row.try_get(10).during("status")?)?,
                    skip_position: position(row.try_get(11).during("status")?)?,
                    failing_since: row
                        .try_get::<Option<NaiveDateTime>, _>(12)
                        .during("status")?
                        .map(|at| at.and_utc()),
                })
            })
            .collect()
    }

    async fn nodes(&self) -> Result<Vec<NodeStatus>, WorkerError> {
        let rows = self.inner.sql.nodes.query(&[]).fetch_all(self.pool()).await.during("nodes")?;
        rows.iter()
            .map(|row| {
                let node = live_node(row, "nodes")?;
                let age: i64 = row.try_get(4).during("nodes")?;
                let leader = optional_text(row, 5, "nodes")?;
                Ok(NodeStatus::new(node, age, leader.as_deref()))
            })
            .collect()
    }

    async fn set_paused(
        &self,
        consumer: &str,
        partition: Option<u32>,
        paused: bool,
    ) -> Result<usize, WorkerError> {
        let done = self
            .inner
            .sql
            .set_paused
            .query(&[
                Value::from(consumer),
                Value::from(partition.map(|p| to_int("partition", p)).transpose()?),
                Value::from(paused),
            ])
            .execute(self.pool())
            .await
            .during("set_paused")?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }

    async fn skip_failed(
        &self,
        consumer: &str,
        partition: Option<u32>,
    ) -> Result<Vec<u64>, WorkerError> {
        let sql = &self.inner.sql;
        let partition = partition.map(|p| to_int("partition", p)).transpose()?;
        let mut conn = self.pool().acquire().await.during("skip_failed")?;
        let mut tx = conn.begin().await.during("skip_failed")?;
        let failing = sqlx::query(AssertSqlSafe(sql.failing.clone()))
            .bind(consumer)
            .bind(partition)
            .bind(partition)
            .fetch_all(&mut *tx)
            .await
            .during("skip_failed")?;
        let skipped = failing
            .iter()
            .map(|row| Ok(position(row.try_get(1).during("skip_failed")?)?.unwrap_or_default()))
            .collect::<Result<Vec<u64>, WorkerError>>()?;
        sqlx::query(AssertSqlSafe(sql.skip_failed.clone()))
            .bind(consumer)
            .bind(partition)
            .bind(partition)
            .execute(&mut *tx)
            .await
            .during("skip_failed")?;
        tx.commit().await.during("skip_failed")?;
        Ok(skipped)
    }

    async fn reset_checkpoints(
        &self,
        tx: &mut MysqlTx,
        consumer: &str,
        position: u64,
    ) -> Result<(), WorkerError> {
        let sql = &self.inner.sql;
        let previous: Option<Option<i32>> =
            sqlx::query_scalar(AssertSqlSafe(sql.lock_consumer.clone()))
                .bind(consumer)
                .fetch_optional(&mut **tx)
                .await
                .during("reset_checkpoints")?;
        match previous {
            None => return Err(WorkerError::UnknownConsumer(consumer.to_owned())),
            Some(Some(_)) => return Err(WorkerError::Repartitioning(consumer.to_owned())),
            Some(None) => {}
        }
        let position = to_bigint("checkpoint", position)?;
        sql.reset_checkpoints
            .query(&[Value::from(consumer), Value::from(position)])
            .execute(&mut **tx)
            .await
            .during("reset_checkpoints")?;
        sql.reset_status
            .query(&[Value::from(consumer)])
            .execute(&mut **tx)
            .await
            .during("reset_checkpoints")?;
        Ok(())
    }
}
