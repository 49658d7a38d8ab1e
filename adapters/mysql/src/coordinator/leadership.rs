//! [`Leadership`] in MySQL: the leader lease, decided under a lock on its row (MySQL's upsert has
//! no condition, so the PostgreSQL one-statement acquisition cannot be written here).

use std::time::Duration;

use async_trait::async_trait;
use pupsourcing::WorkerError;
use pupsourcing::spi::{Leadership, Lease};
use sea_query::Value;
use sqlx::{AssertSqlSafe, Connection, Row};

use super::{MysqlCoordinator, micros, optional_text, position};
use crate::convert::to_bigint;
use crate::error::Context;

#[async_trait]
impl Leadership for MysqlCoordinator {
    async fn acquire_lease(
        &self,
        node_id: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, WorkerError> {
        let sql = &self.inner.sql;
        let mut conn = self.pool().acquire().await.during("acquire_lease")?;
        let mut tx = conn.begin().await.during("acquire_lease")?;
        sqlx::query(AssertSqlSafe(sql.seed_lease.clone()))
            .execute(&mut *tx)
            .await
            .during("acquire_lease")?;
        let row = sqlx::query(AssertSqlSafe(sql.lock_lease.clone()))
            .fetch_one(&mut *tx)
            .await
            .during("acquire_lease")?;
        let holder = optional_text(&row, 0, "acquire_lease")?;
        let epoch = position(Some(row.try_get(1).during("acquire_lease")?))?.unwrap_or_default();
        let valid: bool = row.try_get(2).during("acquire_lease")?;
        let lease = match holder.as_deref() {
            Some(holder) if holder == node_id && valid => {
                sqlx::query(AssertSqlSafe(sql.renew_lease.clone()))
                    .bind(micros(duration))
                    .execute(&mut *tx)
                    .await
                    .during("acquire_lease")?;
                Some(epoch)
            }
            Some(_) if valid => None,
            _ => {
                let next = epoch + 1;
                sqlx::query(AssertSqlSafe(sql.take_lease.clone()))
                    .bind(node_id)
                    .bind(to_bigint("epoch", next)?)
                    .bind(micros(duration))
                    .execute(&mut *tx)
                    .await
                    .during("acquire_lease")?;
                Some(next)
            }
        };
        tx.commit().await.during("acquire_lease")?;
        Ok(lease.map(|epoch| Lease { node_id: node_id.to_owned(), epoch }))
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
