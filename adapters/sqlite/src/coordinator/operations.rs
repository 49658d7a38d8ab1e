//! [`Operations`] in SQLite: status, pauses, skips and checkpoint resets.

use async_trait::async_trait;
use chrono::DateTime;
use pupsourcing::spi::{NodeStatus, Operations};
use pupsourcing::{UnitStatus, WorkerError};
use rusqlite::{OptionalExtension, params};
use sea_query::Value;

use super::membership::live_node;
use super::{SqliteCoordinator, int, small, unit_of, unsigned};
use crate::convert::to_integer;
use crate::error::{Context, Failure};
use crate::{SqliteDatabase, SqliteTx};

#[async_trait]
impl Operations<SqliteDatabase> for SqliteCoordinator {
    async fn status(&self) -> Result<Vec<UnitStatus>, WorkerError> {
        self.read("status", |conn, sql| {
            sql.status.rows(conn, "status", &[], |row| {
                let optional = |index: usize| -> Result<Option<u64>, WorkerError> {
                    row.get::<_, Option<i64>>(index).during("status")?.map(unsigned).transpose()
                };
                Ok(UnitStatus {
                    unit: unit_of(row)?,
                    owner: row.get(3).during("status")?,
                    epoch: unsigned(row.get(4).during("status")?)?,
                    checkpoint: unsigned(row.get(5).during("status")?)?,
                    upto: optional(6)?,
                    paused: row.get(7).during("status")?,
                    attempts: small(row.get(8).during("status")?)?,
                    last_error: row.get(9).during("status")?,
                    failed_position: optional(10)?,
                    skip_position: optional(11)?,
                    failing_since: row
                        .get::<_, Option<i64>>(12)
                        .during("status")?
                        .and_then(DateTime::from_timestamp_micros),
                })
            })
        })
        .await
    }

    async fn nodes(&self) -> Result<Vec<NodeStatus>, WorkerError> {
        self.read("nodes", |conn, sql| {
            let rows = sql.nodes.rows(conn, "nodes", &[], |row| {
                Ok::<_, Failure>((
                    row.get::<_, String>(0).during("nodes")?,
                    row.get::<_, String>(1).during("nodes")?,
                    row.get::<_, String>(2).during("nodes")?,
                    row.get::<_, i64>(3).during("nodes")?,
                    row.get::<_, i64>(4).during("nodes")?,
                    row.get::<_, Option<String>>(5).during("nodes")?,
                ))
            })?;
            rows.into_iter()
                .map(|(node_id, consumers, version, started, age, leader)| {
                    let node = live_node(node_id, &consumers, version, started, "nodes")?;
                    Ok(NodeStatus::new(node, age, leader.as_deref()))
                })
                .collect()
        })
        .await
    }

    async fn set_paused(
        &self,
        consumer: &str,
        partition: Option<u32>,
        paused: bool,
    ) -> Result<usize, WorkerError> {
        let consumer = consumer.to_owned();
        self.write("set_paused", move |conn, sql| {
            let partition = Value::from(partition.map(int));
            let args = [Value::from(consumer), partition, Value::from(paused)];
            Ok(sql.set_paused.execute(conn, &args).during("set_paused")?)
        })
        .await
    }

    async fn skip_failed(
        &self,
        consumer: &str,
        partition: Option<u32>,
    ) -> Result<Vec<u64>, WorkerError> {
        let consumer = consumer.to_owned();
        self.write("skip_failed", move |conn, sql| {
            let mut update = conn.prepare_cached(&sql.skip_failed).during("skip_failed")?;
            let mut rows =
                update.query(params![consumer, partition.map(int)]).during("skip_failed")?;
            let mut skipped = Vec::new();
            while let Some(row) = rows.next().during("skip_failed")? {
                skipped.push(unsigned(row.get(0).during("skip_failed")?)?);
            }
            Ok(skipped)
        })
        .await
    }

    async fn reset_checkpoints(
        &self,
        tx: &mut SqliteTx,
        consumer: &str,
        position: u64,
    ) -> Result<(), WorkerError> {
        let name = consumer.to_owned();
        let position = to_integer("checkpoint", position)?;
        self.within(tx, "reset_checkpoints", move |conn, sql| {
            let previous: Option<Option<i64>> = conn
                .query_row(&sql.consumer_transition, [&name], |row| row.get(0))
                .optional()
                .during("reset_checkpoints")?;
            match previous {
                None => return Err(WorkerError::UnknownConsumer(name)),
                Some(Some(_)) => return Err(WorkerError::Repartitioning(name)),
                Some(None) => {}
            }
            sql.reset_checkpoints
                .execute(conn, &[Value::from(name.as_str()), Value::from(position)])
                .during("reset_checkpoints")?;
            sql.reset_status.execute(conn, &[Value::from(name)]).during("reset_checkpoints")?;
            Ok(())
        })
        .await
    }
}
