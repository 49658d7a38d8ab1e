//! [`Membership`] in SQLite: nodes and their heartbeats.

use pupsourcing_migrations::Dialect;
use sea_query::Value;
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use pupsourcing::spi::{ConsumerSpec, LiveNode, Membership, NodeInfo};
use pupsourcing::{BackendError, WorkerError};
use rusqlite::params;

use super::SqliteCoordinator;
use crate::error::Context;
use crate::error::Failure;

#[async_trait]
impl Membership for SqliteCoordinator {
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
            sql.leave.execute(conn, &[Value::from(id)]).during("leave")?;
            Ok(())
        })
        .await
    }

    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<LiveNode>, WorkerError> {
        self.read("live_nodes", move |conn, sql| {
            let timeout = Dialect::Sqlite.duration_value(timeout);
            let rows = sql.live_nodes.rows(conn, "live_nodes", &[timeout], |row| {
                Ok::<_, Failure>((
                    row.get::<_, String>(0).during("live_nodes")?,
                    row.get::<_, String>(1).during("live_nodes")?,
                    row.get::<_, String>(2).during("live_nodes")?,
                    row.get::<_, i64>(3).during("live_nodes")?,
                ))
            })?;
            rows.into_iter()
                .map(|(node_id, consumers, version, started)| {
                    live_node(node_id, &consumers, version, started, "live_nodes")
                })
                .collect()
        })
        .await
    }
}

/// A node from its stored columns.
pub(super) fn live_node(
    node_id: String,
    consumers: &str,
    version: String,
    started_micros: i64,
    operation: &'static str,
) -> Result<LiveNode, WorkerError> {
    let consumers: Vec<ConsumerSpec> = serde_json::from_str(consumers)
        .map_err(|err| BackendError::new(pupsourcing::BackendErrorKind::Data, operation, err))?;
    let started_at = DateTime::from_timestamp_micros(started_micros).unwrap_or_default();
    Ok(LiveNode { info: NodeInfo { node_id, consumers, version }, started_at })
}
