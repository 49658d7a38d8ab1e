//! [`Membership`] in the memory backend: nodes and their heartbeats.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use pupsourcing::WorkerError;
use pupsourcing::spi::{LiveNode, Membership, NodeInfo};

use super::MemoryCoordinator;
use crate::state::NodeRow;

#[async_trait]
impl Membership for MemoryCoordinator {
    async fn heartbeat(&self, node: &NodeInfo) -> Result<(), WorkerError> {
        self.write("heartbeat", |worker| {
            let now = Instant::now();
            worker
                .nodes
                .entry(node.node_id.clone())
                .and_modify(|row| {
                    row.info = node.clone();
                    row.heartbeat_at = now;
                })
                .or_insert_with(|| NodeRow {
                    info: node.clone(),
                    started_at: Utc::now(),
                    heartbeat_at: now,
                });
        })
        .await
    }

    async fn leave(&self, node_id: &str) -> Result<(), WorkerError> {
        self.write("leave", |worker| {
            worker.nodes.remove(node_id);
        })
        .await
    }

    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<LiveNode>, WorkerError> {
        Ok(self.read(|worker| {
            worker
                .nodes
                .values()
                .filter(|row| row.heartbeat_at.elapsed() < timeout)
                .map(|row| LiveNode { info: row.info.clone(), started_at: row.started_at })
                .collect()
        }))
    }
}
