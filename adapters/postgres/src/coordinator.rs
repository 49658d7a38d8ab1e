//! The [`Coordinator`] in PostgreSQL: membership, the leader lease, assignments, checkpoints
//! and consumer status in plain tables, with the database's clock for liveness.
//!
//! Fencing: a batch locks its unit's checkpoint row (`FOR UPDATE`) when it starts, and before
//! it moves the checkpoint it takes a share lock on its assignment row while checking owner and
//! epoch, in the same statement. An assignment change therefore either committed before that
//! check (the batch sees it and rolls back) or waits for the batch to commit: a node never
//! commits a batch for a unit it no longer owns.

mod sql;
mod wakeups;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pupsourcing::spi::{
    Assignment, Claim, ConsumerRecord, ConsumerSpec, Coordinator, FailureRecord, FailureReport,
    Lease, LiveNode, NodeInfo, Plan, Topology, Transition, UnitRecord, Wakeups,
};
use pupsourcing::{UnitId, UnitStatus, WorkerError};
use sqlx::Row;
use sqlx::types::Json;

use crate::convert::{from_bigint, from_int, to_bigint, to_int};
use crate::error::Context;
use crate::{PgDatabase, PgTx, PostgresStore};
use sql::Statements;

/// A [`Coordinator`] in the same PostgreSQL database (and schema) as a [`PostgresStore`].
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
            sqlx::query(statement.clone())
                .bind(consumer)
                .bind(to_int("partitions", partitions)?)
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

#[async_trait]
impl Coordinator<PgDatabase> for PostgresCoordinator {
    async fn heartbeat(&self, node: &NodeInfo) -> Result<(), WorkerError> {
        sqlx::query(self.inner.sql.heartbeat.clone())
            .bind(&node.node_id)
            .bind(Json(&node.consumers))
            .bind(&node.version)
            .execute(self.pool())
            .await
            .during("heartbeat")?;
        Ok(())
    }

    async fn leave(&self, node_id: &str) -> Result<(), WorkerError> {
        sqlx::query(self.inner.sql.leave.clone())
            .bind(node_id)
            .execute(self.pool())
            .await
            .during("leave")?;
        Ok(())
    }

    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<LiveNode>, WorkerError> {
        let rows = sqlx::query(self.inner.sql.live_nodes.clone())
            .bind(seconds(timeout))
            .fetch_all(self.pool())
            .await
            .during("live_nodes")?;
        rows.iter()
            .map(|row| {
                let consumers: Json<Vec<ConsumerSpec>> = row.try_get(1).during("live_nodes")?;
                let started_at: DateTime<Utc> = row.try_get(3).during("live_nodes")?;
                Ok(LiveNode {
                    info: NodeInfo {
                        node_id: row.try_get(0).during("live_nodes")?,
                        consumers: consumers.0,
                        version: row.try_get(2).during("live_nodes")?,
                    },
                    started_at,
                })
            })
            .collect()
    }

    async fn acquire_lease(
        &self,
        node_id: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, WorkerError> {
        let epoch: Option<i64> = sqlx::query_scalar(self.inner.sql.acquire_lease.clone())
            .bind(node_id)
            .bind(seconds(duration))
            .fetch_optional(self.pool())
            .await
            .during("acquire_lease")?;
        Ok(position(epoch)?.map(|epoch| Lease { node_id: node_id.to_owned(), epoch }))
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), WorkerError> {
        sqlx::query(self.inner.sql.release_lease.clone())
            .bind(&lease.node_id)
            .bind(to_bigint("epoch", lease.epoch)?)
            .execute(self.pool())
            .await
            .during("release_lease")?;
        Ok(())
    }

    async fn topology(&self) -> Result<Topology, WorkerError> {
        let mut tx = self
            .pool()
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .during("topology")?;
        let consumers = sqlx::query(self.inner.sql.consumers.clone())
            .fetch_all(&mut *tx)
            .await
            .during("topology")?
            .iter()
            .map(|row| {
                let previous: Option<i32> = row.try_get(2).during("topology")?;
                let drain: Option<i64> = row.try_get(3).during("topology")?;
                let transition = match (previous, position(drain)?) {
                    (Some(from), Some(drain_position)) => Some(Transition {
                        from_partitions: from_int("topology", from)?,
                        drain_position,
                    }),
                    _ => None,
                };
                Ok(ConsumerRecord {
                    name: row.try_get(0).during("topology")?,
                    partitions: from_int("topology", row.try_get(1).during("topology")?)?,
                    transition,
                })
            })
            .collect::<Result<_, WorkerError>>()?;
        let units = sqlx::query(self.inner.sql.units.clone())
            .fetch_all(&mut *tx)
            .await
            .during("topology")?
            .iter()
            .map(|row| {
                Ok(UnitRecord {
                    unit: unit_of(row)?,
                    owner: row.try_get(3).during("topology")?,
                    epoch: position(Some(row.try_get(4).during("topology")?))?.unwrap_or_default(),
                    checkpoint: position(Some(row.try_get(5).during("topology")?))?
                        .unwrap_or_default(),
                })
            })
            .collect::<Result<_, WorkerError>>()?;
        tx.rollback().await.during("topology")?;
        Ok(Topology { consumers, units })
    }

    async fn apply_plan(&self, lease: &Lease, plan: &Plan) -> Result<bool, WorkerError> {
        let sql = &self.inner.sql;
        let mut tx = self.pool().begin().await.during("apply_plan")?;
        let valid: bool = sqlx::query_scalar(sql.lease_valid.clone())
            .bind(&lease.node_id)
            .bind(to_bigint("epoch", lease.epoch)?)
            .fetch_one(&mut *tx)
            .await
            .during("apply_plan")?;
        if !valid {
            return Ok(false);
        }
        for spec in &plan.create {
            let created = sqlx::query(sql.create_consumer.clone())
                .bind(&spec.name)
                .bind(to_int("partitions", spec.partitions)?)
                .execute(&mut *tx)
                .await
                .during("apply_plan")?;
            if created.rows_affected() == 1 {
                self.create_units(&mut tx, &spec.name, spec.partitions, 0).await?;
            }
        }
        for start in &plan.start_transitions {
            // Waits for in-flight batches of the old units, then keeps them from moving until
            // commit, so the drain position is never below a checkpoint already taken.
            let highest: i64 = sqlx::query_scalar(sql.lock_old_checkpoints.clone())
                .bind(&start.consumer)
                .bind(to_int("partitions", start.from_partitions)?)
                .fetch_one(&mut *tx)
                .await
                .during("apply_plan")?;
            let drain = highest.max(to_bigint("position", start.drain_position)?);
            let started = sqlx::query(sql.start_transition.clone())
                .bind(&start.consumer)
                .bind(to_int("partitions", start.to_partitions)?)
                .bind(to_int("partitions", start.from_partitions)?)
                .bind(drain)
                .execute(&mut *tx)
                .await
                .during("apply_plan")?;
            if started.rows_affected() == 0 {
                continue;
            }
            sqlx::query(sql.set_drain_limit.clone())
                .bind(&start.consumer)
                .bind(to_int("partitions", start.from_partitions)?)
                .bind(drain)
                .execute(&mut *tx)
                .await
                .during("apply_plan")?;
        }
        for finish in &plan.finish_transitions {
            self.drop_units(&mut tx, &finish.consumer, finish.from_partitions).await?;
            self.create_units(
                &mut tx,
                &finish.consumer,
                finish.to_partitions,
                finish.drain_position,
            )
            .await?;
            sqlx::query(sql.finish_transition.clone())
                .bind(&finish.consumer)
                .execute(&mut *tx)
                .await
                .during("apply_plan")?;
        }
        for (unit, owner) in &plan.assign {
            sqlx::query(sql.assign.clone())
                .bind(&unit.consumer)
                .bind(to_int("partitions", unit.partitions)?)
                .bind(to_int("partition", unit.partition)?)
                .bind(owner.as_deref())
                .execute(&mut *tx)
                .await
                .during("apply_plan")?;
        }
        tx.commit().await.during("apply_plan")?;
        Ok(true)
    }

    async fn assignments_of(&self, node_id: &str) -> Result<Vec<Assignment>, WorkerError> {
        let rows = sqlx::query(self.inner.sql.assignments_of.clone())
            .bind(node_id)
            .fetch_all(self.pool())
            .await
            .during("assignments_of")?;
        rows.iter()
            .map(|row| {
                let epoch: i64 = row.try_get(3).during("assignments_of")?;
                Ok(Assignment {
                    unit: unit_of(row)?,
                    epoch: position(Some(epoch))?.unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn release_units(&self, node_id: &str) -> Result<(), WorkerError> {
        sqlx::query(self.inner.sql.release_units.clone())
            .bind(node_id)
            .execute(self.pool())
            .await
            .during("release_units")?;
        Ok(())
    }

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
        sqlx::query(self.inner.sql.clear_failures.clone())
            .bind(&unit.consumer)
            .bind(to_int("partitions", unit.partitions)?)
            .bind(to_int("partition", unit.partition)?)
            .execute(self.pool())
            .await
            .during("clear_failures")?;
        Ok(())
    }

    async fn status(&self) -> Result<Vec<UnitStatus>, WorkerError> {
        let rows = sqlx::query(self.inner.sql.status.clone())
            .fetch_all(self.pool())
            .await
            .during("status")?;
        rows.iter()
            .map(|row| {
                Ok(UnitStatus {
                    unit: unit_of(row)?,
                    owner: row.try_get(3).during("status")?,
                    epoch: position(Some(row.try_get(4).during("status")?))?.unwrap_or_default(),
                    checkpoint: position(Some(row.try_get(5).during("status")?))?
                        .unwrap_or_default(),
                    upto: position(row.try_get(6).during("status")?)?,
                    paused: row.try_get(7).during("status")?,
                    attempts: from_int("status", row.try_get(8).during("status")?)?,
                    last_error: row.try_get(9).during("status")?,
                    failed_position: position(row.try_get(10).during("status")?)?,
                    skip_position: position(row.try_get(11).during("status")?)?,
                    failing_since: row.try_get(12).during("status")?,
                })
            })
            .collect()
    }

    async fn set_paused(
        &self,
        consumer: &str,
        partition: Option<u32>,
        paused: bool,
    ) -> Result<usize, WorkerError> {
        let done = sqlx::query(self.inner.sql.set_paused.clone())
            .bind(consumer)
            .bind(partition.map(|p| to_int("partition", p)).transpose()?)
            .bind(paused)
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
        let skipped: Vec<i64> = sqlx::query_scalar(self.inner.sql.skip_failed.clone())
            .bind(consumer)
            .bind(partition.map(|p| to_int("partition", p)).transpose()?)
            .fetch_all(self.pool())
            .await
            .during("skip_failed")?;
        skipped.into_iter().map(|p| Ok(position(Some(p))?.unwrap_or_default())).collect()
    }

    async fn reset_checkpoints(
        &self,
        tx: &mut PgTx,
        consumer: &str,
        position: u64,
    ) -> Result<(), WorkerError> {
        let sql = &self.inner.sql;
        let previous: Option<Option<i32>> = sqlx::query_scalar(sql.lock_consumer.clone())
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
        for (statement, with_position) in
            [(&sql.reset_checkpoints, true), (&sql.reset_status, false)]
        {
            let mut query = sqlx::query(statement.clone()).bind(consumer);
            if with_position {
                query = query.bind(position);
            }
            query.execute(&mut **tx).await.during("reset_checkpoints")?;
        }
        Ok(())
    }

    fn wakeups(&self) -> Wakeups {
        self.inner
            .wakeups
            .get_or_init(|| wakeups::spawn(self.pool().clone(), self.inner.channel.clone()))
            .clone()
    }
}
