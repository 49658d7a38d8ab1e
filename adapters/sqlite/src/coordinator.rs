//! The [`Coordinator`] in SQLite: the same tables and rules as on PostgreSQL. Every write runs
//! in a `BEGIN IMMEDIATE` transaction, which holds SQLite's single write lock, so the ownership
//! check and the checkpoint move of a batch cannot interleave with an assignment change.

mod sql;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use pupsourcing::spi::{
    Assignment, Claim, ConsumerRecord, ConsumerSpec, Coordinator, FailureRecord, FailureReport,
    Lease, LiveNode, NodeInfo, Plan, Topology, Transition, UnitRecord, Wakeups,
};
use pupsourcing::{BackendError, Database, UnitId, UnitStatus, WorkerError};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::convert::{from_integer, from_small, micros, to_integer};
use crate::error::Context;
use crate::{SqliteDatabase, SqliteStore, SqliteTx};
use sql::Statements;

/// A [`Coordinator`] in the same SQLite database as a [`SqliteStore`]; create its tables with
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
        if conn
            .execute(&sql.create_consumer, params![spec.name, int(spec.partitions)])
            .during("apply_plan")?
            == 1
        {
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
        let started = conn
            .execute(
                &sql.start_transition,
                params![
                    start.consumer,
                    int(start.to_partitions),
                    int(start.from_partitions),
                    drain
                ],
            )
            .during("apply_plan")?;
        if started == 0 {
            continue;
        }
        conn.execute(
            &sql.set_drain_limit,
            params![start.consumer, int(start.from_partitions), drain],
        )
        .during("apply_plan")?;
    }
    for finish in &plan.finish_transitions {
        for statement in [&sql.drop_assignments, &sql.drop_checkpoints, &sql.drop_status] {
            conn.execute(statement, params![finish.consumer, int(finish.from_partitions)])
                .during("apply_plan")?;
        }
        create_units(conn, sql, &finish.consumer, finish.to_partitions, finish.drain_position)?;
        conn.execute(&sql.finish_transition, [&finish.consumer]).during("apply_plan")?;
    }
    for (unit, owner) in &plan.assign {
        let (consumer, partitions, partition) = bind_unit(unit);
        conn.execute(&sql.assign, params![consumer, partitions, partition, owner])
            .during("apply_plan")?;
    }
    Ok(())
}

#[async_trait]
impl Coordinator<SqliteDatabase> for SqliteCoordinator {
    async fn heartbeat(&self, node: &NodeInfo) -> Result<(), WorkerError> {
        let consumers = serde_json::to_string(&node.consumers).map_err(|err| {
            BackendError::new(pupsourcing::BackendErrorKind::Data, "heartbeat", err)
        })?;
        let (id, version) = (node.node_id.clone(), node.version.clone());
        self.write("heartbeat", move |conn, sql| {
            conn.execute(&sql.heartbeat, params![id, consumers, version]).during("heartbeat")?;
            Ok(())
        })
        .await
    }

    async fn leave(&self, node_id: &str) -> Result<(), WorkerError> {
        let id = node_id.to_owned();
        self.write("leave", move |conn, sql| {
            conn.execute(&sql.leave, [id]).during("leave")?;
            Ok(())
        })
        .await
    }

    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<LiveNode>, WorkerError> {
        self.read("live_nodes", move |conn, sql| {
            let mut select = conn.prepare_cached(&sql.live_nodes).during("live_nodes")?;
            let rows = select
                .query_map([micros(timeout)], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })
                .during("live_nodes")?;
            let mut nodes = Vec::new();
            for row in rows {
                let (node_id, consumers, version, started) = row.during("live_nodes")?;
                let consumers: Vec<ConsumerSpec> =
                    serde_json::from_str(&consumers).map_err(|err| {
                        BackendError::new(pupsourcing::BackendErrorKind::Data, "live_nodes", err)
                    })?;
                let started_at = DateTime::from_timestamp_micros(started).unwrap_or_default();
                nodes.push(LiveNode { info: NodeInfo { node_id, consumers, version }, started_at });
            }
            Ok(nodes)
        })
        .await
    }

    async fn acquire_lease(
        &self,
        node_id: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, WorkerError> {
        let id = node_id.to_owned();
        self.write("acquire_lease", move |conn, sql| {
            let current: Option<(Option<String>, i64, bool)> = conn
                .query_row(&sql.leader, [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()
                .during("acquire_lease")?;
            let epoch = match current {
                Some((Some(holder), epoch, true)) if holder == id => {
                    conn.execute(&sql.renew_lease, params![id, micros(duration)])
                        .during("acquire_lease")?;
                    epoch
                }
                Some((_, _, true)) => return Ok(None),
                expired => {
                    let epoch = expired.map_or(1, |(_, epoch, _)| epoch + 1);
                    conn.execute(&sql.take_lease, params![id, epoch, micros(duration)])
                        .during("acquire_lease")?;
                    epoch
                }
            };
            Ok(Some(Lease { node_id: id, epoch: unsigned(epoch)? }))
        })
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), WorkerError> {
        let (id, epoch) = (lease.node_id.clone(), to_integer("epoch", lease.epoch)?);
        self.write("release_lease", move |conn, sql| {
            conn.execute(&sql.release_lease, params![id, epoch]).during("release_lease")?;
            Ok(())
        })
        .await
    }

    async fn topology(&self) -> Result<Topology, WorkerError> {
        self.read("topology", |conn, sql| {
            let mut consumers = Vec::new();
            let mut select = conn.prepare_cached(&sql.consumers).during("topology")?;
            let mut rows = select.query([]).during("topology")?;
            while let Some(row) = rows.next().during("topology")? {
                let previous: Option<i64> = row.get(2).during("topology")?;
                let drain: Option<i64> = row.get(3).during("topology")?;
                let transition = match (previous, drain) {
                    (Some(from), Some(drain)) => Some(Transition {
                        from_partitions: small(from)?,
                        drain_position: unsigned(drain)?,
                    }),
                    _ => None,
                };
                consumers.push(ConsumerRecord {
                    name: row.get(0).during("topology")?,
                    partitions: small(row.get(1).during("topology")?)?,
                    transition,
                });
            }
            let mut units = Vec::new();
            let mut select = conn.prepare_cached(&sql.units).during("topology")?;
            let mut rows = select.query([]).during("topology")?;
            while let Some(row) = rows.next().during("topology")? {
                units.push(UnitRecord {
                    unit: unit_of(row)?,
                    owner: row.get(3).during("topology")?,
                    epoch: unsigned(row.get(4).during("topology")?)?,
                    checkpoint: unsigned(row.get(5).during("topology")?)?,
                });
            }
            Ok(Topology { consumers, units })
        })
        .await
    }

    async fn apply_plan(&self, lease: &Lease, plan: &Plan) -> Result<bool, WorkerError> {
        let (id, epoch) = (lease.node_id.clone(), to_integer("epoch", lease.epoch)?);
        let plan = plan.clone();
        let mut tx = self.db.begin().await?;
        let sql = Arc::clone(&self.sql);
        let valid = tx
            .run("apply_plan", move |conn| {
                let valid: bool = conn
                    .query_row(&sql.lease_valid, params![id, epoch], |row| row.get(0))
                    .during("apply_plan")?;
                if valid {
                    apply(conn, &sql, &plan)?;
                }
                Ok::<_, WorkerError>(valid)
            })
            .await?;
        if valid {
            self.db.commit(tx).await?;
        } else {
            self.db.rollback(tx).await?;
        }
        Ok(valid)
    }

    async fn assignments_of(&self, node_id: &str) -> Result<Vec<Assignment>, WorkerError> {
        let id = node_id.to_owned();
        self.read("assignments_of", move |conn, sql| {
            let mut select = conn.prepare_cached(&sql.assignments_of).during("assignments_of")?;
            let mut rows = select.query([id]).during("assignments_of")?;
            let mut assignments = Vec::new();
            while let Some(row) = rows.next().during("assignments_of")? {
                assignments.push(Assignment {
                    unit: unit_of(row)?,
                    epoch: unsigned(row.get(3).during("assignments_of")?)?,
                });
            }
            Ok(assignments)
        })
        .await
    }

    async fn release_units(&self, node_id: &str) -> Result<(), WorkerError> {
        let id = node_id.to_owned();
        self.write("release_units", move |conn, sql| {
            conn.execute(&sql.release_units, [id]).during("release_units")?;
            Ok(())
        })
        .await
    }

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
            conn.execute(&sql.clear_failures, params![consumer, partitions, partition])
                .during("clear_failures")?;
            Ok(())
        })
        .await
    }

    async fn status(&self) -> Result<Vec<UnitStatus>, WorkerError> {
        self.read("status", |conn, sql| {
            let mut select = conn.prepare_cached(&sql.status).during("status")?;
            let mut rows = select.query([]).during("status")?;
            let mut status = Vec::new();
            while let Some(row) = rows.next().during("status")? {
                let optional = |index: usize| -> Result<Option<u64>, WorkerError> {
                    row.get::<_, Option<i64>>(index).during("status")?.map(unsigned).transpose()
                };
                status.push(UnitStatus {
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
                });
            }
            Ok(status)
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
            Ok(conn
                .execute(&sql.set_paused, params![consumer, partition.map(int), paused])
                .during("set_paused")?)
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
            conn.execute(&sql.reset_checkpoints, params![name, position])
                .during("reset_checkpoints")?;
            conn.execute(&sql.reset_status, [&name]).during("reset_checkpoints")?;
            Ok(())
        })
        .await
    }

    fn wakeups(&self) -> Wakeups {
        self.db.subscribe_commits()
    }
}
