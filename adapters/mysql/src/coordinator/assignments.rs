//! [`Assignments`] in MySQL: consumers, their units and plans.

use async_trait::async_trait;
use pupsourcing::WorkerError;
use pupsourcing::spi::{
    Assignment, Assignments, ConsumerRecord, Lease, Plan, Topology, Transition, UnitRecord,
};
use sea_query::Value;
use sqlx::{AssertSqlSafe, Connection, Row};

use super::{MysqlCoordinator, optional_text, position, text, unit_of};
use crate::convert::{from_int, to_bigint, to_int};
use crate::error::Context;

#[async_trait]
impl Assignments for MysqlCoordinator {
    async fn topology(&self) -> Result<Topology, WorkerError> {
        // One consistent snapshot for both reads (the session default is READ COMMITTED).
        let mut conn = self.pool().acquire().await.during("topology")?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *conn)
            .await
            .during("topology")?;
        let mut tx = conn
            .begin_with("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .await
            .during("topology")?;
        let consumers = self
            .inner
            .sql
            .consumers
            .query(&[])
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
                    name: text(row, 0, "topology")?,
                    partitions: from_int("topology", row.try_get(1).during("topology")?)?,
                    transition,
                })
            })
            .collect::<Result<_, WorkerError>>()?;
        let units = self
            .inner
            .sql
            .units
            .query(&[])
            .fetch_all(&mut *tx)
            .await
            .during("topology")?
            .iter()
            .map(|row| {
                Ok(UnitRecord {
                    unit: unit_of(row)?,
                    owner: optional_text(row, 3, "topology")?,
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
        let valid: i64 = sqlx::query_scalar(AssertSqlSafe(sql.lease_valid.clone()))
            .bind(&lease.node_id)
            .bind(to_bigint("epoch", lease.epoch)?)
            .fetch_one(&mut *tx)
            .await
            .during("apply_plan")?;
        if valid != 1 {
            return Ok(false);
        }
        for spec in &plan.create {
            let created = sql
                .create_consumer
                .query(&[
                    Value::from(&spec.name),
                    Value::from(to_int("partitions", spec.partitions)?),
                ])
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
            let highest: i64 = sqlx::query_scalar(AssertSqlSafe(sql.lock_old_checkpoints.clone()))
                .bind(&start.consumer)
                .bind(to_int("partitions", start.from_partitions)?)
                .fetch_one(&mut *tx)
                .await
                .during("apply_plan")?;
            let drain = highest.max(to_bigint("position", start.drain_position)?);
            let started = sql
                .start_transition
                .query(&[
                    Value::from(&start.consumer),
                    Value::from(to_int("partitions", start.to_partitions)?),
                    Value::from(to_int("partitions", start.from_partitions)?),
                    Value::from(drain),
                ])
                .execute(&mut *tx)
                .await
                .during("apply_plan")?;
            if started.rows_affected() == 0 {
                continue;
            }
            sql.set_drain_limit
                .query(&[
                    Value::from(&start.consumer),
                    Value::from(to_int("partitions", start.from_partitions)?),
                    Value::from(drain),
                ])
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
            sql.finish_transition
                .query(&[Value::from(&finish.consumer)])
                .execute(&mut *tx)
                .await
                .during("apply_plan")?;
        }
        for (unit, owner) in &plan.assign {
            sql.assign
                .query(&[
                    Value::from(&unit.consumer),
                    Value::from(to_int("partitions", unit.partitions)?),
                    Value::from(to_int("partition", unit.partition)?),
                    Value::from(owner.as_deref()),
                ])
                .execute(&mut *tx)
                .await
                .during("apply_plan")?;
        }
        tx.commit().await.during("apply_plan")?;
        Ok(true)
    }

    async fn assignments_of(&self, node_id: &str) -> Result<Vec<Assignment>, WorkerError> {
        let rows = self
            .inner
            .sql
            .assignments_of
            .query(&[Value::from(node_id)])
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
        self.inner
            .sql
            .release_units
            .query(&[Value::from(node_id)])
            .execute(self.pool())
            .await
            .during("release_units")?;
        Ok(())
    }
}
