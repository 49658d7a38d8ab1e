//! Appends through the MySQL store against raw INSERTs of the same rows into the fence store's
//! `events` table (the counter-row store's table has the same schema), through the same pool
//! (BEGIN, INSERT, COMMIT), in interleaved rounds.

use std::time::Duration;

use pupsourcing_mysql::{MysqlDatabase, MysqlStore};
use uuid::Uuid;

use crate::append::{How, Target, concurrently, ours, payload};
use crate::stats::{Samples, human, raw_first};
use crate::{BenchError, Report};

const ROUNDS: usize = 7;

/// The same rows with plain SQL: one (multi-row) INSERT per transaction, into the same table.
async fn raw(
    db: MysqlDatabase,
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
        query.execute(&mut *tx).await?;
        tx.commit().await?;
    }
    Ok(())
}

async fn round(
    db: &MysqlDatabase,
    store: Option<&MysqlStore>,
    target: Target,
    writers: usize,
    ops: usize,
    batch: usize,
) -> Result<Duration, BenchError> {
    concurrently(writers, || {
        let (db, store) = (db.clone(), store.cloned());
        async move {
            match store {
                Some(store) => ours(&db, &store, target, ops, batch, How::Transaction).await,
                None => raw(db, target, ops, batch).await,
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
    for (name, store, target, writers, ops, batch, _) in cases.into_iter().filter(|case| case.6) {
        let (mut ours_rounds, mut raw_rounds) = (Samples::default(), Samples::default());
        for n in 0..ROUNDS {
            if raw_first(n) {
                raw_rounds.push(round(db, None, target, writers, ops, batch).await?);
            }
            ours_rounds.push(round(db, Some(store), target, writers, ops, batch).await?);
            if !raw_first(n) {
                raw_rounds.push(round(db, None, target, writers, ops, batch).await?);
            }
        }
        let total = u32::try_from(writers * ops).unwrap_or(u32::MAX);
        report.rate_case(
            &format!("{label}: {name}"),
            f64::from(total) / ours_rounds.median().as_secs_f64(),
            f64::from(total) / raw_rounds.median().as_secs_f64(),
            "appends/s",
            &format!(
                "{} vs {} per append",
                human(ours_rounds.median() / total),
                human(raw_rounds.median() / total)
            ),
        );
    }
    Ok(())
}
