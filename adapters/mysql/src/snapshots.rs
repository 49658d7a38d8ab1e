//! The [`SnapshotStore`] in MySQL.

mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use pupsourcing::snapshot::{Snapshot, SnapshotError, SnapshotStats, SnapshotStore};
use pupsourcing::{BackendError, StreamId};
use sea_query::Value;
use sqlx::Row;

use crate::convert::{from_bigint, from_int, to_bigint, to_int, upper_bound};
use crate::error::{Context, Failure};
use crate::{MysqlDatabase, MysqlStore, MysqlTx};
use sql::Statements;

/// A [`SnapshotStore`] in the same MySQL database as a [`MysqlStore`];
/// create its table with [`MysqlStore::migrate`].
#[derive(Debug, Clone)]
pub struct MysqlSnapshotStore {
    sql: Arc<Statements>,
}

impl MysqlSnapshotStore {
    /// A snapshot store using `store`'s table names (and schema).
    pub fn new(store: &MysqlStore) -> Self {
        Self { sql: Arc::new(Statements::new(store.config().tables())) }
    }
}

fn stream_args(stream: &StreamId) -> Vec<Value> {
    [stream.bounded_context_column(), stream.aggregate_type(), stream.aggregate_id()]
        .into_iter()
        .map(Value::from)
        .collect()
}

fn backend(failure: Failure) -> SnapshotError {
    SnapshotError::Backend(BackendError::from(failure))
}

#[async_trait]
impl SnapshotStore<MysqlDatabase> for MysqlSnapshotStore {
    async fn save(&self, tx: &mut MysqlTx, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        snapshot.check()?;
        let version = to_bigint("stream version", snapshot.stream_version)
            .map_err(|_| SnapshotError::OutOfRange { stream_version: snapshot.stream_version })?;
        let state_version = to_int("state version", snapshot.state_version)?;
        let mut args = stream_args(&snapshot.stream);
        args.extend([
            Value::from(version),
            Value::from(state_version),
            Value::from(snapshot.state.clone()),
            Value::from(snapshot.taken_at.timestamp_micros()),
        ]);
        self.sql
            .save
            .query(&args)
            .execute(&mut **tx)
            .await
            .during("save_snapshot")
            .map_err(backend)?;
        Ok(())
    }

    async fn latest(
        &self,
        tx: &mut MysqlTx,
        stream: &StreamId,
        at_or_below: u64,
    ) -> Result<Option<Snapshot>, SnapshotError> {
        let mut args = stream_args(stream);
        args.push(Value::from(upper_bound(at_or_below)));
        let row = self
            .sql
            .latest
            .query(&args)
            .fetch_optional(&mut **tx)
            .await
            .during("latest_snapshot")
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let decode = |err| backend(crate::error::failure("latest_snapshot", err));
        Ok(Some(Snapshot {
            stream: stream.clone(),
            stream_version: from_bigint("latest_snapshot", row.try_get(0).map_err(decode)?)
                .map_err(backend)?,
            state_version: from_int("latest_snapshot", row.try_get(1).map_err(decode)?)
                .map_err(backend)?,
            state: row.try_get(2).map_err(decode)?,
            taken_at: row.try_get::<NaiveDateTime, _>(3).map_err(decode)?.and_utc(),
        }))
    }

    async fn delete_stream(
        &self,
        tx: &mut MysqlTx,
        stream: &StreamId,
    ) -> Result<u64, SnapshotError> {
        let done = self
            .sql
            .delete_stream
            .query(&stream_args(stream))
            .execute(&mut **tx)
            .await
            .during("delete_snapshots")
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn delete_aggregate_type(
        &self,
        tx: &mut MysqlTx,
        aggregate_type: &str,
    ) -> Result<u64, SnapshotError> {
        let done = self
            .sql
            .delete_aggregate_type
            .query(&[Value::from(aggregate_type)])
            .execute(&mut **tx)
            .await
            .during("delete_snapshots")
            .map_err(backend)?;
        Ok(done.rows_affected())
    }

    async fn stats(
        &self,
        tx: &mut MysqlTx,
        aggregate_type: &str,
    ) -> Result<SnapshotStats, SnapshotError> {
        let (count, bytes): (i64, i64) = self
            .sql
            .stats
            .query_as(&[Value::from(aggregate_type)])
            .fetch_one(&mut **tx)
            .await
            .during("snapshot_stats")
            .map_err(backend)?;
        Ok(SnapshotStats {
            count: from_bigint("snapshot_stats", count).map_err(backend)?,
            state_bytes: from_bigint("snapshot_stats", bytes).map_err(backend)?,
        })
    }
}
