//! [`Assignments`] in SQLite: consumers, their units and plans.

use sea_query::Value;
use std::sync::Arc;

use async_trait::async_trait;
use pupsourcing::spi::{
    Assignment, Assignments, ConsumerRecord, Lease, Plan, Topology, Transition, UnitRecord,
};
use pupsourcing::{Database, WorkerError};
use rusqlite::params;

use super::{SqliteCoordinator, apply, small, unit_of, unsigned};
use crate::convert::to_integer;
use crate::error::Context;

#[async_trait]
impl Assignments for SqliteCoordinator {
    async fn topology(&self) -> Result<Topology, WorkerError> {
        self.read("topology", |conn, sql| {
            let consumers = sql.consumers.rows(conn, "topology", &[], |row| {
                let previous: Option<i64> = row.get(2).during("topology")?;
                let drain: Option<i64> = row.get(3).during("topology")?;
                let transition = match (previous, drain) {
                    (Some(from), Some(drain)) => Some(Transition {
                        from_partitions: small(from)?,
                        drain_position: unsigned(drain)?,
                    }),
                    _ => None,
                };
                Ok::<_, WorkerError>(ConsumerRecord {
                    name: row.get(0).during("topology")?,
                    partitions: small(row.get(1).during("topology")?)?,
                    transition,
                })
            })?;
            let units = sql.units.rows(conn, "topology", &[], |row| {
                Ok::<_, WorkerError>(UnitRecord {
                    unit: unit_of(row)?,
                    owner: row.get(3).during("topology")?,
                    epoch: unsigned(row.get(4).during("topology")?)?,
                    checkpoint: unsigned(row.get(5).during("topology")?)?,
                })
            })?;
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
            sql.assignments_of.rows(conn, "assignments_of", &[Value::from(id)], |row| {
                Ok(Assignment {
                    unit: unit_of(row)?,
                    epoch: unsigned(row.get(3).during("assignments_of")?)?,
                })
            })
        })
        .await
    }

    async fn release_units(&self, node_id: &str) -> Result<(), WorkerError> {
        let id = node_id.to_owned();
        self.write("release_units", move |conn, sql| {
            sql.release_units.execute(conn, &[Value::from(id)]).during("release_units")?;
            Ok(())
        })
        .await
    }
}
