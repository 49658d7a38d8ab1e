//! [`Membership`] in PostgreSQL: nodes and their heartbeats.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pupsourcing::WorkerError;
use pupsourcing::spi::{ConsumerSpec, LiveNode, Membership, NodeInfo};
use sea_query::Value;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;

use super::{PostgresCoordinator, seconds};
use crate::error::Context;

#[async_trait]
impl Membership for PostgresCoordinator {
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
        self.inner
            .sql
            .leave
            .query(&[Value::from(node_id)])
            .execute(self.pool())
            .await
            .during("leave")?;
        Ok(())
    }

    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<LiveNode>, WorkerError> {
        let rows = self
            .inner
            .sql
            .live_nodes
            .query(&[Value::from(seconds(timeout))])
            .fetch_all(self.pool())
            .await
            .during("live_nodes")?;
        rows.iter().map(|row| live_node(row, "live_nodes")).collect()
    }
}

/// The node of a row starting with id, consumers, version and start.
pub(super) fn live_node(row: &PgRow, operation: &'static str) -> Result<LiveNode, WorkerError> {
    let consumers: Json<Vec<ConsumerSpec>> = row.try_get(1).during(operation)?;
    let started_at: DateTime<Utc> = row.try_get(3).during(operation)?;
    Ok(LiveNode {
        info: NodeInfo {
            node_id: row.try_get(0).during(operation)?,
            consumers: consumers.0,
            version: row.try_get(2).during(operation)?,
        },
        started_at,
    })
}
