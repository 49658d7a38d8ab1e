use std::time::Duration;

use async_trait::async_trait;

use super::{LiveNode, NodeInfo};
use crate::WorkerError;

/// Nodes and their heartbeats.
///
/// # Contract
/// A node is live while its last heartbeat is younger than the timeout asked for, judged by the
/// database's clock.
#[async_trait]
pub trait Membership: Send + Sync + 'static {
    /// Registers `node` or refreshes its heartbeat and advertised consumers.
    async fn heartbeat(&self, node: &NodeInfo) -> Result<(), WorkerError>;

    /// Removes a node (clean shutdown).
    async fn leave(&self, node_id: &str) -> Result<(), WorkerError>;

    /// Nodes whose last heartbeat is younger than `timeout`.
    async fn live_nodes(&self, timeout: Duration) -> Result<Vec<LiveNode>, WorkerError>;
}
