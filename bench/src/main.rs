//! `pupsourcing-bench`: pupsourcing against the raw-SQL limit, measured side by side in one run
//! on one database and schema.
//!
//! Runs against `DATABASE_URL` when set, otherwise against a throwaway PostgreSQL cluster with
//! durable commits, started by the testkit. Every case prints its figure, the raw figure and
//! their ratio. Run it on a quiet machine, in release mode:
//!
//! ```text
//! cargo run --release -p pupsourcing-bench -- frontier
//! ```

#![allow(clippy::print_stdout)]

mod append;
mod catchup;
mod crypto;
mod filter;
mod frontier;
mod latency;
mod mysql;
mod read;
mod scale;
mod schema;
mod snapshots;
mod sqlite;
mod stats;
mod typed;

use std::process::ExitCode;
use std::time::Duration;

use pupsourcing_postgres::{PgDatabase, PostgresStore};
use pupsourcing_testkit::postgres::{TestDatabase, durable_server_url};

use stats::{Samples, human};

const USAGE: &str = "\
Usage: pupsourcing-bench <case> [--events N]

Cases:
  append     single-event appends (new stream, Exact; 1 and 8 writers) against a raw single-row
             INSERT per transaction; 10- and 100-event appends against a raw multi-row INSERT
  catchup    a worker over a backlog against raw ordered reads (no-op consumer over --events,
             upserting consumer over a tenth of them)
  read       stream reads of 100 events and global reads of 500 against raw SELECTs
  latency    append-to-handler latency of an idle worker woken by NOTIFY (p50, p99, max)
  crypto     encrypt+decrypt of a 200-byte field (warm cache), age unwrap, blind-index hash
  frontier   cost of one frontier advance on a large log, and time for a dead hole to close
  sqlite     the append and read cases on a SQLite file (also part of append, read and all)
  filter     reading one event type out of the log, with and without an index on it
  mysql      MariaDB: appends (1 and 8 writers, Exact, 100 events, both gap strategies; durable,
             and with log_bin + sync_binlog=1) against raw INSERTs; stream, log and consumer
             reads against raw SELECTs; catch-up; frontier advance; dead-hole closing time
  schema     what each index of the events table and the stream-head upsert cost a raw append
             (copies of the table without one index each, against the complete one), and the
             share of HOT stream-head updates
  scale      appends, stream loads, consumer reads and a whole catch-up at 10 M events against
             the same at 1 M, and the tables' size on disk per event (loads 10 M events)
  snapshots  load-and-decide on a 10 000-event stream with and without a snapshot every 100
             events, against a 100-event stream; a command with and without a snapshot write
  typed      building and decoding typed events (derive) against Event::json and decode_json
  all        every case

Options:
  --events N   events in the log for the frontier and catchup cases (default 1000000)
";

/// Why a benchmark could not run.
#[derive(Debug)]
pub(crate) enum BenchError {
    Store(pupsourcing::StoreError),
    Backend(pupsourcing::BackendError),
    Sql(sqlx::Error),
    Harness(pupsourcing_testkit::HarnessError),
    Worker(pupsourcing::WorkerError),
    Encryption(pupsourcing::EncryptionError),
    Sqlite(rusqlite::Error),
    Stuck(&'static str),
    /// A command, typed read or snapshot failed (its message).
    Command(String),
}

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Store(err) => write!(f, "store: {err}"),
            Self::Backend(err) => write!(f, "database: {err}"),
            Self::Sql(err) => write!(f, "sql: {err}"),
            Self::Harness(err) => write!(f, "{err}"),
            Self::Worker(err) => write!(f, "worker: {err}"),
            Self::Encryption(err) => write!(f, "encryption: {err}"),
            Self::Sqlite(err) => write!(f, "sqlite: {err}"),
            Self::Stuck(what) => f.write_str(what),
            Self::Command(err) => write!(f, "command: {err}"),
        }
    }
}

impl BenchError {
    pub(crate) fn command(err: impl std::error::Error) -> Self {
        Self::Command(err.to_string())
    }
}

impl From<pupsourcing::StoreError> for BenchError {
    fn from(err: pupsourcing::StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<pupsourcing::BackendError> for BenchError {
    fn from(err: pupsourcing::BackendError) -> Self {
        Self::Backend(err)
    }
}

impl From<sqlx::Error> for BenchError {
    fn from(err: sqlx::Error) -> Self {
        Self::Sql(err)
    }
}

impl From<pupsourcing::WorkerError> for BenchError {
    fn from(err: pupsourcing::WorkerError) -> Self {
        Self::Worker(err)
    }
}

impl From<pupsourcing_testkit::HarnessError> for BenchError {
    fn from(err: pupsourcing_testkit::HarnessError) -> Self {
        Self::Harness(err)
    }
}

/// Collects the summary lines printed at the end.
#[derive(Debug, Default)]
pub(crate) struct Report {
    lines: Vec<String>,
}

impl Report {
    pub(crate) fn line(&mut self, line: String) {
        println!("{line}");
        self.lines.push(line);
    }

    /// One case: pupsourcing's median against the raw median, and their ratio (raw / ours for
    /// durations, so higher is better and 1.0 means "as fast as raw SQL").
    pub(crate) fn case(&mut self, name: &str, ours: &Samples, raw: &Samples, raw_name: &str) {
        let ratio = ratio(raw.median(), ours.median());
        self.line(format!(
            "{name:<40} pupsourcing {:>10} (p99 {:>10})  {raw_name} {:>10}  ratio {ratio:.2}",
            human(ours.median()),
            human(ours.quantile(990)),
            human(raw.median()),
        ));
    }
}

impl Report {
    /// One case measured as a rate: pupsourcing's and raw SQL's, and their ratio (ours / raw).
    pub(crate) fn rate_case(&mut self, name: &str, ours: f64, raw: f64, unit: &str, detail: &str) {
        let ratio = if raw > 0.0 { ours / raw } else { 0.0 };
        self.line(format!(
            "{name:<58} pupsourcing {ours:>9.0} {unit}  raw {raw:>9.0} {unit}  ratio {ratio:.2}  ({detail})"
        ));
    }
}

fn ratio(raw: Duration, ours: Duration) -> f64 {
    if ours.is_zero() { 0.0 } else { raw.as_secs_f64() / ours.as_secs_f64() }
}

struct Args {
    case: String,
    events: u64,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let case = argv.next().ok_or("missing case")?;
    let mut events = 1_000_000;
    while let Some(flag) = argv.next() {
        match flag.as_str() {
            "--events" => {
                events =
                    argv.next().and_then(|v| v.parse().ok()).ok_or("--events needs a number")?;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Args { case, events })
}

/// Inserts `events` rows straight from SQL (through the position function, as appends do) in
/// streams of 100 with their stream heads, with the stream's number as its partition hash (so
/// partitions split the log evenly), and analyzes the tables.
pub(crate) async fn load_events(db: &PgDatabase, events: u64) -> Result<(), BenchError> {
    load_more_events(db, 0, events).await
}

/// [`load_events`] for the `events` rows after the first `loaded` (a multiple of 100).
pub(crate) async fn load_more_events(
    db: &PgDatabase,
    loaded: u64,
    events: u64,
) -> Result<(), BenchError> {
    let first = i64::try_from(loaded).unwrap_or(i64::MAX);
    let count = i64::try_from(events).unwrap_or(i64::MAX);
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO events (aggregate_type, aggregate_id, aggregate_version, stream_hash, event_id, \
         event_type, event_version, payload, metadata, created_at) \
         SELECT 'load', (g / 100)::text, g % 100 + 1, \
         hashtextextended((g / 100)::text, 0) & 9223372036854775807, gen_random_uuid(), 'Loaded', 1, \
         '\\x7b7d'::bytea, '{}'::json, now() FROM generate_series($1, $1 + $2 - 1) AS g",
    )
    .bind(first)
    .bind(count)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO stream_heads (bounded_context, aggregate_type, aggregate_id, version) \
         SELECT '', 'load', s::text, 100 FROM generate_series($1 / 100, ($1 + $2) / 100 - 1) AS s",
    )
    .bind(first)
    .bind(count)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("VACUUM ANALYZE events, stream_heads").execute(db.pool()).await?;
    Ok(())
}

async fn fresh(name: &str) -> Result<(TestDatabase, PgDatabase, PostgresStore), BenchError> {
    let database = TestDatabase::create_on(durable_server_url()?, name).await?;
    let db = PgDatabase::new(database.pool(32).await?);
    let store = PostgresStore::new(&db);
    store.migrate().await?;
    Ok((database, db, store))
}

async fn run(args: Args) -> Result<Report, BenchError> {
    let mut report = Report::default();
    let all = args.case == "all";
    if all || args.case == "frontier" {
        let (_database, db, store) = fresh("bench_frontier").await?;
        frontier::run(&db, &store, args.events, &mut report).await?;
    }
    if all || args.case == "append" {
        let (_database, db, store) = fresh("bench_append").await?;
        append::run(&db, &store, &mut report).await?;
    }
    if all || ["append", "read", "sqlite"].contains(&args.case.as_str()) {
        let append = args.case != "read";
        let read = args.case != "append";
        sqlite::run(&mut report, append, read).await?;
    }
    if all || args.case == "read" {
        let (_database, db, store) = fresh("bench_read").await?;
        read::run(&db, &store, &mut report).await?;
    }
    if all || args.case == "latency" {
        let database = TestDatabase::create_on(durable_server_url()?, "bench_latency").await?;
        let db = PgDatabase::new(database.pool(16).await?);
        latency::run(&db, &mut report).await?;
    }
    if all || args.case == "crypto" {
        crypto::run(&mut report).await?;
    }
    if all || args.case == "filter" {
        let (_database, db, store) = fresh("bench_filter").await?;
        filter::run(&db, &store, args.events, &mut report).await?;
    }
    if all || args.case == "mysql" {
        mysql::run(&mut report).await?;
    }
    if all || args.case == "snapshots" {
        let (_database, db, store) = fresh("bench_snapshots").await?;
        snapshots::run(&db, &store, &mut report).await?;
    }
    if all || args.case == "schema" {
        let (_database, db, store) = fresh("bench_schema").await?;
        schema::run(&db, &store, &mut report).await?;
    }
    if all || args.case == "scale" {
        let (_database, db, store) = fresh("bench_scale").await?;
        scale::run(&db, &store, &mut report).await?;
    }
    if all || args.case == "typed" {
        typed::run(&mut report)?;
    }
    if all || args.case == "catchup" {
        let (_database, db, store) = fresh("bench_catchup").await?;
        catchup::run(&db, &store, args.events, false, &mut report).await?;
        let (_database, db, store) = fresh("bench_catchup_upsert").await?;
        catchup::run(&db, &store, args.events / 10, true, &mut report).await?;
    }
    Ok(report)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(args)
            if [
                "append",
                "read",
                "latency",
                "catchup",
                "crypto",
                "frontier",
                "filter",
                "sqlite",
                "snapshots",
                "schema",
                "scale",
                "mysql",
                "typed",
                "all",
            ]
            .contains(&args.case.as_str()) =>
        {
            args
        }
        Ok(args) => {
            eprintln!("unknown case {}\n\n{USAGE}", args.case);
            return ExitCode::from(2);
        }
        Err(message) => {
            eprintln!("{message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(report) => {
            println!("\nsummary");
            for line in &report.lines {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("pupsourcing-bench: {err}");
            ExitCode::FAILURE
        }
    }
}
