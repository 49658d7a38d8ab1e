//! `schema`: what each index of the `events` table and the stream-head row cost an append.
//!
//! Raw single-row INSERTs (8 writers, a new stream each, durable commits) and 100-row INSERTs
//! (1 writer) into copies of `events` (`LIKE events INCLUDING ALL`: the same columns, defaults,
//! checks and indexes), one copy per index left out, against the complete copy in the same
//! interleaved rounds; and the complete copy with the stream-head upsert an append makes, in the
//! same statement. The ratio is the variant's rate over the complete table's: 1.15 means the
//! index left out costs 15 % of the append rate. After the store's own `Exact` appends it also
//! reports which share of the stream-head updates were HOT (no index entry written).

use chrono::Utc;
use sqlx::Row;
use uuid::Uuid;

use crate::append::{concurrently, payload};
use crate::stats::Samples;
use crate::{BenchError, Report, load_events};
use pupsourcing_postgres::{PgDatabase, PostgresStore};

const ROUNDS: usize = 7;
const WRITERS: usize = 8;
const OPS: usize = 100;
const BATCH_OPS: usize = 20;
const BATCH: usize = 100;

/// One table the raw appends write to, and whether they also upsert a stream head.
#[derive(Debug, Clone)]
struct Variant {
    label: String,
    table: String,
    head: bool,
}

/// One transaction of `rows` rows for a new `stream`: one statement, which with `head` also
/// upserts the stream head (in a data-modifying CTE, as the store's append does).
async fn insert_rows(
    db: &PgDatabase,
    variant: &Variant,
    stream: &str,
    rows: usize,
    seed: usize,
) -> Result<(), BenchError> {
    let table = &variant.table;
    let head = if variant.head {
        "WITH head AS (INSERT INTO stream_heads (bounded_context, aggregate_type, aggregate_id, \
         version) VALUES ('', 'raw', $1, cardinality($2::bigint[])) \
         ON CONFLICT (bounded_context, aggregate_type, aggregate_id) \
         DO UPDATE SET version = EXCLUDED.version) "
    } else {
        ""
    };
    let sql = format!(
        "{head}INSERT INTO {table} (aggregate_type, aggregate_id, aggregate_version, stream_hash, \
         event_id, event_type, event_version, payload, metadata, created_at) \
         SELECT 'raw', $1, v, 0, id, 'Appended', 1, p, '{{}}'::json, $4 \
         FROM unnest($2::bigint[], $3::uuid[], $5::bytea[]) AS u(v, id, p)"
    );
    let versions: Vec<i64> = (1..=i64::try_from(rows).unwrap_or(0)).collect();
    let ids: Vec<Uuid> = (0..rows).map(|_| Uuid::now_v7()).collect();
    let payloads: Vec<Vec<u8>> = (0..rows).map(|i| payload(seed * rows + i)).collect();
    let mut tx = db.pool().begin().await?;
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(stream)
        .bind(versions)
        .bind(ids)
        .bind(Utc::now())
        .bind(payloads)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// `writers` writers of `ops` transactions of `rows` rows each, a new stream per transaction.
async fn round(
    db: &PgDatabase,
    variant: &Variant,
    writers: usize,
    ops: usize,
    rows: usize,
) -> Result<std::time::Duration, BenchError> {
    concurrently(writers, || {
        let (db, variant) = (db.clone(), variant.clone());
        async move {
            for op in 0..ops {
                insert_rows(&db, &variant, &Uuid::new_v4().to_string(), rows, op).await?;
            }
            Ok(())
        }
    })
    .await
}

/// The indexes of `table`, as (name, columns): `(global_position)`, `(event_type, ...)`.
async fn indexes(db: &PgDatabase, table: &str) -> Result<Vec<(String, String)>, BenchError> {
    let rows = sqlx::query(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = $1 ORDER BY indexdef",
    )
    .bind(table)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let (name, definition): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            let columns = definition
                .split_once(" USING btree ")
                .map_or(definition.clone(), |(_, c)| c.to_owned());
            Ok((name, columns))
        })
        .collect()
}

/// Copies of `events`: complete, and one per index left out.
async fn variants(db: &PgDatabase) -> Result<Vec<Variant>, BenchError> {
    let copy = |table: &str| {
        format!(
            "CREATE TABLE {table} (LIKE events INCLUDING ALL); \
             INSERT INTO {table} SELECT * FROM events"
        )
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(copy("schema_full"))).execute(db.pool()).await?;
    let mut variants = vec![
        Variant { label: "complete table".into(), table: "schema_full".into(), head: false },
        Variant {
            label: "complete table + stream-head upsert".into(),
            table: "schema_full".into(),
            head: true,
        },
    ];
    for (n, (_, columns)) in indexes(db, "schema_full").await?.into_iter().enumerate() {
        let table = format!("schema_minus_{n}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(copy(&table))).execute(db.pool()).await?;
        let (index, _) = indexes(db, &table)
            .await?
            .into_iter()
            .find(|(_, copied)| *copied == columns)
            .ok_or(BenchError::Stuck("a copied index was not found"))?;
        // A primary key or unique index behind a constraint goes with the constraint.
        let drop = format!(
            "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {index}; DROP INDEX IF EXISTS {index}"
        );
        sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(db.pool()).await?;
        if indexes(db, &table).await?.iter().any(|(_, copied)| *copied == columns) {
            return Err(BenchError::Stuck("an index could not be dropped"));
        }
        variants.push(Variant { label: format!("without index {columns}"), table, head: false });
    }
    sqlx::raw_sql("VACUUM ANALYZE").execute(db.pool()).await?;
    Ok(variants)
}

/// Interleaved rounds of every variant; reports each against the complete table.
async fn compare(
    db: &PgDatabase,
    variants: &[Variant],
    what: &str,
    writers: usize,
    ops: usize,
    rows: usize,
    report: &mut Report,
) -> Result<(), BenchError> {
    let mut samples = vec![Samples::default(); variants.len()];
    for n in 0..ROUNDS {
        for k in 0..variants.len() {
            let index = (n + k) % variants.len();
            samples[index].push(round(db, &variants[index], writers, ops, rows).await?);
        }
    }
    let total = f64::from(u32::try_from(writers * ops).unwrap_or(u32::MAX));
    let complete = total / samples[0].median().as_secs_f64();
    for (variant, samples) in variants.iter().zip(&samples).skip(1) {
        let rate = total / samples.median().as_secs_f64();
        report.line(format!(
            "schema, {what}: {:<72} {rate:>7.0} appends/s  complete table {complete:>7.0} /s  ratio {:.2}",
            variant.label,
            rate / complete,
        ));
    }
    Ok(())
}

/// How many updates of `stream_heads` the statistics have counted, and how many were HOT.
async fn hot_share(db: &PgDatabase) -> Result<(i64, i64), BenchError> {
    let row = sqlx::query(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'stream_heads'",
    )
    .fetch_one(db.pool())
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

pub(crate) async fn run(
    db: &PgDatabase,
    store: &PostgresStore,
    report: &mut Report,
) -> Result<(), BenchError> {
    println!(
        "schema: raw INSERTs into copies of events without one index each, {ROUNDS} interleaved rounds"
    );
    load_events(db, 100_000).await?;
    let variants = variants(db).await?;
    compare(db, &variants, "1 event, 8 writers", WRITERS, OPS, 1, report).await?;
    compare(db, &variants, "100 events, 1 writer", 1, BATCH_OPS, BATCH, report).await?;

    let (updates_before, hot_before) = hot_share(db).await?;
    crate::append::ours(
        db,
        store,
        crate::append::Target::Existing,
        500,
        1,
        crate::append::How::Transaction,
    )
    .await?;
    let (updates, hot) = hot_share(db).await?;
    let (updates, hot) = (updates - updates_before, hot - hot_before);
    // Other connections' statistics arrive when those backends report (about once a second):
    // this is the share among the updates counted so far, not a count of all 499.
    report.line(format!(
        "schema: stream-head updates of 500 Exact appends, counted so far  {hot} of {updates} HOT ({:.0} %)",
        100.0 * f64::from(i32::try_from(hot).unwrap_or(0))
            / f64::from(i32::try_from(updates.max(1)).unwrap_or(1)),
    ));
    Ok(())
}
