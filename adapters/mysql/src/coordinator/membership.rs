//! [`Membership`] in MySQL: nodes and their heartbeats.

use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use pupsourcing::spi::{ConsumerSpec, LiveNode, Membership, NodeInfo};
use pupsourcing::{BackendError, BackendErrorKind, WorkerError};
use pupsourcing_migrations::Dialect;
use sea_query::Value;
use sqlx::mysql::MySqlRow;
use sqlx::{AssertSqlSafe, Row};

use super::{MysqlCoordinator, text};
use crate::error::Context;

#[async_trait]
impl Membership for MysqlCoordinator {
    async fn heartbeat(&self, node: &NodeInfo) -> Result<(), WorkerError> {
        let consumers = serde_json::to_string(&node.consumers).map_err(|err| {
            WorkerError::Backend(BackendError::new(BackendErrorKind::Data, "heartbeat", err))
        })?;
        sqlx::query(AssertSqlSafe(self.inner.sql.heartbeat.clone()))
            .bind(&node.node_id)
            .bind(consumers)
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
            .query(&[Dialect::Mysql.duration_value(timeout)])
            .fetch_all(self.pool())
            .await
            .during("live_nodes")?;
        rows.iter().map(|row| live_node(row, "live_nodes")).collect()
    }
}

/// The node of a row starting with id, consumers, version and start.
pub(super) fn live_node(row: &MySqlRow, operation: &'static str) -> Result<LiveNode, WorkerError> {
    let consumers: String = row.try_get(1).during(operation)?;
    let consumers: Vec<ConsumerSpec> = serde_json::from_str(&consumers)
        .map_err(|err| BackendError::new(BackendErrorKind::Data, operation, err))?;
    let started_at: NaiveDateTime = row.try_get(3).during(operation)?;
    Ok(LiveNode {
        info: NodeInfo {
            node_id: text(row, 0, operation)?,
            consumers,
            version: text(row, 2, operation)?,
        },
        started_at: started_at.and_utc(),
    })
}
