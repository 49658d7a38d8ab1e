//! [`Leadership`] in the memory backend: the leader lease.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use pupsourcing::WorkerError;
use pupsourcing::spi::{Leadership, Lease};

use super::MemoryCoordinator;
use crate::state::LeaderRow;

#[async_trait]
impl Leadership for MemoryCoordinator {
    async fn acquire_lease(
        &self,
        node_id: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, WorkerError> {
        self.write("acquire_lease", |worker| {
            let now = Instant::now();
            let row =
                worker.leader.get_or_insert(LeaderRow { node_id: None, epoch: 0, expires_at: now });
            let expired = row.expires_at <= now || row.node_id.is_none();
            let mine = row.node_id.as_deref() == Some(node_id);
            if !(expired || mine) {
                return None;
            }
            if expired {
                row.epoch += 1;
            }
            row.node_id = Some(node_id.to_owned());
            row.expires_at = now + duration;
            Some(Lease { node_id: node_id.to_owned(), epoch: row.epoch })
        })
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), WorkerError> {
        self.write("release_lease", |worker| {
            if let Some(row) = worker.leader.as_mut().filter(|r| {
                r.node_id.as_deref() == Some(lease.node_id.as_str()) && r.epoch == lease.epoch
            }) {
                row.node_id = None;
                row.expires_at = Instant::now();
            }
        })
        .await
    }
}
