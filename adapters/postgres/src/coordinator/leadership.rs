//! [`Leadership`] in PostgreSQL: the leader lease.

use std::time::Duration;

use async_trait::async_trait;
use pupsourcing::WorkerError;
use pupsourcing::spi::{Leadership, Lease};
use sea_query::Value;

use super::{PostgresCoordinator, position, seconds};
use crate::convert::to_bigint;
use crate::error::Context;

#[async_trait]
impl Leadership for PostgresCoordinator {
    async fn acquire_lease(
        &self,
        node_id: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, WorkerError> {
        let epoch: Option<i64> = sqlx::query_scalar(self.inner.sql.acquire_lease.clone())
            .bind(node_id)
            .bind(seconds(duration))
            .fetch_optional(self.pool())
            .await
            .during("acquire_lease")?;
        Ok(position(epoch)?.map(|epoch| Lease { node_id: node_id.to_owned(), epoch }))
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), WorkerError> {
        self.inner
            .sql
            .release_lease
            .query(&[Value::from(&lease.node_id), Value::from(to_bigint("epoch", lease.epoch)?)])
            .execute(self.pool())
            .await
            .during("release_lease")?;
        Ok(())
    }
}
