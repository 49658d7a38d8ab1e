use std::time::Duration;

use async_trait::async_trait;

use super::Lease;
use crate::WorkerError;

/// The leader lease: one row with a holder, an epoch and an expiry on the database clock.
///
/// # Contract
/// [`acquire_lease`](Leadership::acquire_lease) gives the lease to at most one node at a time;
/// a new holder gets a higher epoch, a renewal by the holder keeps it.
#[async_trait]
pub trait Leadership: Send + Sync + 'static {
    /// Takes the leader lease if it is free or expired, or renews it if `node_id` holds it.
    /// Returns the lease when `node_id` holds it afterwards.
    async fn acquire_lease(
        &self,
        node_id: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, WorkerError>;

    /// Gives the lease up at once, if still held.
    async fn release_lease(&self, lease: &Lease) -> Result<(), WorkerError>;
}
