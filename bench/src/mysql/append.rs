//! Appends through the MySQL store against raw SQL of the same rows into the fence store's
//! tables (the counter-row store's tables have the same schema), through the same pool, in
//! interleaved rounds. Two raw baselines: the INSERT alone (BEGIN, INSERT, COMMIT), and the
//! INSERT after the same stream-head write an append makes (BEGIN, head, INSERT, COMMIT), which
//! is the limit for an append that keeps its O(1) expectation check and the fence's invariant
//! (the head write gives the writer its InnoDB transaction id before it draws a position).

use std::time::Duration;

use pupsourcing_mysql::{MysqlDatabase, MysqlStore};
use uuid::Uuid;

use crate::append::{How, Target, concurrently, ours, payload};
use crate::stats::{Samples, human};
use crate::{BenchError, Report};

const ROUNDS: usize = 7;

/// A raw baseline: the event INSERT alone, or after the stream-head write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    Insert,
    WithHead,
}

impl Raw {
    fn name(self) -> &'static str {
        match self {
            Self::Insert => "raw INSERT",
            Self::WithHead => "raw head + INSERT",
        }
    }
}

const CREATE_HEAD: &str = "INSERT INTO stream_heads \
     (bounded_context, aggregate_type, aggregate_id, version) VALUES ('', 'raw', ?, ?)";
const MOVE_HEAD: &str = "UPDATE stream_heads SET version = version + ? \
     WHERE bounded_context = '' AND aggregate_type = 'raw' AND aggregate_id = ? AND version = ?";

/// The same rows with plain SQL: one (multi-row) INSERT per transaction into the same table,
/// after the head write when `side` says so.
async fn raw(
    db: MysqlDatabase,
    side: Raw,
    target: Target,
    ops: usize,
    batch: usize,
) -> Result<(), BenchError> {
    let row = "('', 'raw', ?, ?, 0, ?, 'Appended', 1, ?, '{}', UTC_TIMESTAMP(6))";
    let sql = format!(
        "INSERT INTO events (bounded_context, aggregate_type, aggregate_id, aggregate_version, \
         stream_hash, event_id, event_type, event_version, payload, metadata, created_at) \
         VALUES {}",
        vec![row; batch].join(", ")
    );
    let home = Uuid::new_v4().to_string();
    let count = i64::try_from(batch).unwrap_or(0);
    for op in 0..ops {
        let (stream, before) = match target {
            Target::NewStream => (Uuid::new_v4().to_string(), 0),
            Target::Existing => (home.clone(), op * batch),
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
        for i in 0..batch {
            query = query
                .bind(stream.clone())
                .bind(i64::try_from(before + i + 1).unwrap_or(0))
                .bind(Uuid::now_v7().as_bytes().to_vec())
                .bind(payload(op * batch + i));
        }
        let mut tx = db.pool().begin().await?;
        if side == Raw::WithHead {
            let head = if before == 0 {
                sqlx::query(CREATE_HEAD).bind(stream.clone()).bind(count)
            } else {
                let from = i64::try_from(before).unwrap_or(0);
                sqlx::query(MOVE_HEAD).bind(count).bind(stream.clone()).bind(from)
            };
            if head.execute(&mut *tx).await?.rows_affected() != 1 {
                return Err(BenchError::Stuck("the raw head write matched no row"));
            }
        }
        query.execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// One side of a case: a store, or a raw baseline.
#[derive(Clone, Copy)]
enum Side<'a> {
    Ours(&'a MysqlStore),
    Raw(Raw),
}

async fn round(
    db: &MysqlDatabase,
    side: Side<'_>,
    target: Target,
    writers: usize,
    ops: usize,
    batch: usize,
) -> Result<Duration, BenchError> {
    concurrently(writers, || {
        let db = db.clone();
        let store = match side {
            Side::Ours(store) => Ok(store.clone()),
            Side::Raw(raw) => Err(raw),
        };
        async move {
            match store {
                Ok(store) => ours(&db, &store, target, ops, batch, How::Transaction).await,
                Err(side) => raw(db, side, target, ops, batch).await,
            }
        }
    })
    .await
}

/// The append cases, named `<label>: ...`; `all` adds the `Exact` cases.
pub(super) async fn run(
    report: &mut Report,
    label: &str,
    db: &MysqlDatabase,
    fence: &MysqlStore,
    counter: &MysqlStore,
    all: bool,
) -> Result<(), BenchError> {
    let cases = [
        ("append 1 event, new stream, 1 writer", fence, Target::NewStream, 1, 200, 1, true),
        ("append 1 event, new stream, 8 writers", fence, Target::NewStream, 8, 100, 1, true),
        ("append 1 event, Exact, 1 writer", fence, Target::Existing, 1, 200, 1, all),
        ("append 1 event, Exact, 8 writers", fence, Target::Existing, 8, 100, 1, all),
        ("append 100 events, 1 writer", fence, Target::NewStream, 1, 30, 100, true),
        ("counter row: append 1 event, 1 writer", counter, Target::NewStream, 1, 200, 1, true),
        ("counter row: append 1 event, 8 writers", counter, Target::NewStream, 8, 100, 1, true),
    ];
    let raws = [Raw::Insert, Raw::WithHead];
    for (name, store, target, writers, ops, batch, _) in cases.into_iter().filter(|case| case.6) {
        let sides = [Side::Ours(store), Side::Raw(raws[0]), Side::Raw(raws[1])];
        let mut samples = vec![Samples::default(); sides.len()];
        for n in 0..ROUNDS {
            // Each round starts with another side, so none always runs right after another's.
            for k in 0..sides.len() {
                let index = (n + k) % sides.len();
                samples[index].push(round(db, sides[index], target, writers, ops, batch).await?);
            }
        }
        let total = u32::try_from(writers * ops).unwrap_or(u32::MAX);
        for (raw_side, raw_samples) in raws.iter().zip(&samples[1..]) {
            report.rate_case(
                &format!("{label}: {name} vs {}", raw_side.name()),
                f64::from(total) / samples[0].median().as_secs_f64(),
                f64::from(total) / raw_samples.median().as_secs_f64(),
                "appends/s",
                &format!(
                    "{} vs {} per append",
                    human(samples[0].median() / total),
                    human(raw_samples.median() / total)
                ),
            );
        }
    }
    Ok(())
}
