//! The [`SnapshotStore`] in SQLite.

mod sql;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::DateTime;
use pupsourcing::snapshot::{Snapshot, SnapshotError, SnapshotStats, SnapshotStore};
use pupsourcing::{BackendError, StreamId};
use rusqlite::Connection;
use sea_query::Value;

use crate::convert::{from_integer, from_small, to_integer, upper_bound};
use crate::error::{Context, Failure};
use crate::{SqliteDatabase, SqliteStore, SqliteTx};
use sql::Statements;

/// A [`SnapshotStore`] in the same SQLite database as a [`SqliteStore`]; create its table with
/// [`SqliteStore::migrate`].
#[derive(Debug, Clone)]
pub struct SqliteSnapshotStore {
    sql: Arc<Statements>,
}

impl SqliteSnapshotStore {
    /// A snapshot store using `store`'s table names.
    pub fn new(store: &SqliteStore) -> Self {
        Self { sql: Arc::new(Statements::new(store.config().tables())) }
    }

    async fn run<T, F>(
        &self,
        tx: &mut SqliteTx,
        operation: &'static str,
        f: F,
    ) -> Result<T, SnapshotError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &Statements) -> Result<T, Failure> + Send + 'static,
    {
        let sql = Arc::clone(&self.sql);
        tx.run(operation, move |conn| {
            f(conn, &sql).map_err(|failure| BackendError::from(failure).into())
        })
        .await
    }
}

fn stream_args(stream: &StreamId) -> Vec<Value> {
    crate::store::stream_args(stream)
}

fn count(rows: usize) -> u64 {
    u64::try_from(rows).unwrap_or(u64::MAX)
}

#[async_trait]
impl SnapshotStore<SqliteDatabase> for SqliteSnapshotStore {
    async fn save(&self, tx: &mut SqliteTx, snapshot: &Snapshot) -> Result<(), SnapshotError> {
        snapshot.check()?;
        let version = to_integer("stream version", snapshot.stream_version)
            .map_err(|_| SnapshotError::OutOfRange { stream_version: snapshot.stream_version })?;
        let mut args = stream_args(&snapshot.stream);
        args.extend([
            Value::from(version),
            Value::from(snapshot.state_version),
            Value::from(snapshot.state.clone()),
            Value::from(snapshot.taken_at.timestamp_micros()),
        ]);
        self.run(tx, "save_snapshot", move |conn, sql| {
            sql.save.execute(conn, &args).during("save_snapshot")?;
            Ok(())
        })
        .await
    }

    async fn latest(
        &self,
        tx: &mut SqliteTx,
        stream: &StreamId,
        at_or_below: u64,
    ) -> Result<Option<Snapshot>, SnapshotError> {
        let mut args = stream_args(stream);
        args.push(Value::from(upper_bound(at_or_below)));
        let stream = stream.clone();
        self.run(tx, "latest_snapshot", move |conn, sql| {
            sql.latest
                .optional_row(conn, &args, |row| {
                    let micros: i64 = row.get(3)?;
                    Ok(Snapshot {
                        stream,
                        stream_version: from_integer(row.get(0)?)?,
                        state_version: from_small(row.get(1)?)?,
                        state: row.get(2)?,
                        taken_at: DateTime::from_timestamp_micros(micros)
                            .ok_or(rusqlite::Error::IntegralValueOutOfRange(3, micros))?,
                    })
                })
                .during("latest_snapshot")
        })
        .await
    }

    async fn delete_stream(
        &self,
        tx: &mut SqliteTx,
        stream: &StreamId,
    ) -> Result<u64, SnapshotError> {
        let args = stream_args(stream);
        self.run(tx, "delete_snapshots", move |conn, sql| {
            sql.delete_stream.execute(conn, &args).map(count).during("delete_snapshots")
        })
        .await
    }

    async fn delete_aggregate_type(
        &self,
        tx: &mut SqliteTx,
        aggregate_type: &str,
    ) -> Result<u64, SnapshotError> {
        let kind = aggregate_type.to_owned();
        self.run(tx, "delete_snapshots", move |conn, sql| {
            sql.delete_aggregate_type
                .execute(conn, &[Value::from(kind)])
                .map(count)
                .during("delete_snapshots")
        })
        .await
    }

    async fn stats(
        &self,
        tx: &mut SqliteTx,
        aggregate_type: &str,
    ) -> Result<SnapshotStats, SnapshotError> {
        let kind = aggregate_type.to_owned();
        self.run(tx, "snapshot_stats", move |conn, sql| {
            let stats = sql
                .stats
                .optional_row(conn, &[Value::from(kind)], |row| {
                    Ok(SnapshotStats {
                        count: from_integer(row.get(0)?)?,
                        state_bytes: from_integer(row.get(1)?)?,
                    })
                })
                .during("snapshot_stats")?;
            Ok(stats.unwrap_or_default())
        })
        .await
    }
}
