//! [`Leadership`] in SQLite: the leader lease.

use sea_query::Value;
use std::time::Duration;

use async_trait::async_trait;
use pupsourcing::WorkerError;
use pupsourcing::spi::{Leadership, Lease};
use rusqlite::{OptionalExtension, params};

use super::{SqliteCoordinator, unsigned};
use crate::convert::{micros, to_integer};
use crate::error::Context;

#[async_trait]
impl Leadership for SqliteCoordinator {
    async fn acquire_lease(
        &self,
        node_id: &str,
        duration: Duration,
    ) -> Result<Option<Lease>, WorkerError> {
        let id = node_id.to_owned();
        self.write("acquire_lease", move |conn, sql| {
            let current: Option<(Option<String>, i64, bool)> = conn
                .query_row(&sql.leader, [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()
                .during("acquire_lease")?;
            let epoch = match current {
                Some((Some(holder), epoch, true)) if holder == id => {
                    conn.execute(&sql.renew_lease, params![id, micros(duration)])
                        .during("acquire_lease")?;
                    epoch
                }
                Some((_, _, true)) => return Ok(None),
                expired => {
                    let epoch = expired.map_or(1, |(_, epoch, _)| epoch + 1);
                    conn.execute(&sql.take_lease, params![id, epoch, micros(duration)])
                        .during("acquire_lease")?;
                    epoch
                }
            };
            Ok(Some(Lease { node_id: id, epoch: unsigned(epoch)? }))
        })
        .await
    }

    async fn release_lease(&self, lease: &Lease) -> Result<(), WorkerError> {
        let (id, epoch) = (lease.node_id.clone(), to_integer("epoch", lease.epoch)?);
        self.write("release_lease", move |conn, sql| {
            sql.release_lease
                .execute(conn, &[Value::from(id), Value::from(epoch)])
                .during("release_lease")?;
            Ok(())
        })
        .await
    }
}
