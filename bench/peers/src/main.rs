//! `pupsourcing-peers`: pupsourcing beside the Rust peers (cqrs-es with postgres-es, esrs,
//! disintegrate) on one throwaway PostgreSQL cluster with durable commits (or `DATABASE_URL`'s
//! server), each store on a database of its own.
//!
//! Every case runs interleaved rounds of every side (each round starts with another side) and
//! reports each side's median rate and its ratio to the raw limit: BEGIN, one INSERT and COMMIT
//! on a minimal hand-written event table through sqlx's default pool, or one SELECT for loads.
//! Appends go through each library's own persistence path with the expected version checked, as
//! its framework commits a command's events; loads decode every event.
//!
//! Run it on a quiet machine: `cargo run --release --manifest-path bench/peers/Cargo.toml`.

mod cqrs;
mod disintegrate;
mod esrs;
mod ours;
mod peer;
mod raw;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pupsourcing_testkit::postgres::{TestDatabase, durable_server_url};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::cqrs::Cqrs;
use crate::disintegrate::Disintegrate;
use crate::esrs::Esrs;
use crate::ours::{How, Ours};
use crate::peer::{Batch, BoxError, Peer};
use crate::raw::Raw;

const ROUNDS: usize = 7;

/// Streams of 100 events each side holds for the load cases.
const LOADED_STREAMS: usize = 40;

/// One side of every case.
#[derive(Clone)]
enum Side {
    Raw(Raw),
    Ours(Ours),
    Cqrs(Cqrs),
    Esrs(Esrs),
    Disintegrate(Disintegrate),
}

impl Peer for Side {
    async fn append(&self, batch: Batch) -> Result<(), BoxError> {
        match self {
            Self::Raw(side) => side.append(batch).await,
            Self::Ours(side) => side.append(batch).await,
            Self::Cqrs(side) => side.append(batch).await,
            Self::Esrs(side) => side.append(batch).await,
            Self::Disintegrate(side) => side.append(batch).await,
        }
    }

    async fn load(&self, stream: Uuid) -> Result<usize, BoxError> {
        match self {
            Self::Raw(side) => side.load(stream).await,
            Self::Ours(side) => side.load(stream).await,
            Self::Cqrs(side) => side.load(stream).await,
            Self::Esrs(side) => side.load(stream).await,
            Self::Disintegrate(side) => side.load(stream).await,
        }
    }

    fn retries(&self) -> u64 {
        match self {
            Self::Disintegrate(side) => side.retries(),
            _ => 0,
        }
    }
}

/// A side with its name and the streams it holds for the load cases.
struct Contender {
    name: &'static str,
    side: Side,
    loaded: Arc<Vec<Uuid>>,
    database: TestDatabase,
}

/// What the writers (or readers) of a case do.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// `batch` events to a new stream per operation.
    NewStream { batch: usize },
    /// `batch` events per operation to one stream per writer, created by its first operation.
    Existing { batch: usize },
    /// Loads one of the side's 100-event streams per operation.
    Load,
}

/// One case: `tasks` concurrent writers or readers of `ops` operations each.
#[derive(Debug, Clone, Copy)]
struct Case {
    name: &'static str,
    work: Work,
    tasks: usize,
    ops: usize,
}

impl Case {
    const fn new(name: &'static str, work: Work, tasks: usize, ops: usize) -> Self {
        Self { name, work, tasks, ops }
    }
}

/// One task's operations on `side`.
async fn task(
    side: Side,
    work: Work,
    ops: usize,
    seed: usize,
    loaded: Arc<Vec<Uuid>>,
) -> Result<(), BoxError> {
    let home = Uuid::new_v4();
    let mut version = 0u64;
    for op in 0..ops {
        match work {
            Work::NewStream { batch: count } => {
                let stream = Uuid::new_v4();
                side.append(Batch { stream, version: 0, count, first: op * count }).await?;
            }
            Work::Existing { batch: count } => {
                side.append(Batch { stream: home, version, count, first: op * count }).await?;
                version += u64::try_from(count)?;
            }
            Work::Load => {
                let stream = loaded[(seed * 7919 + op * 104_729) % loaded.len()];
                let events = side.load(stream).await?;
                if events != 100 {
                    return Err(format!("loaded {events} events of a 100-event stream").into());
                }
            }
        }
    }
    Ok(())
}

/// Runs the case's tasks on `contender`, released together; the wall time until the last ends.
async fn round(contender: &Contender, case: Case) -> Result<Duration, BoxError> {
    let barrier = Arc::new(Barrier::new(case.tasks + 1));
    let tasks: Vec<_> = (0..case.tasks)
        .map(|seed| {
            let (side, loaded, barrier) =
                (contender.side.clone(), Arc::clone(&contender.loaded), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                task(side, case.work, case.ops, seed, loaded).await
            })
        })
        .collect();
    barrier.wait().await;
    let started = Instant::now();
    for task in tasks {
        task.await??;
    }
    Ok(started.elapsed())
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// Creates a database for a side and connects the side to it.
async fn contender<F, Fut>(name: &'static str, connect: F) -> Result<Contender, BoxError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<Side, BoxError>>,
{
    let database = TestDatabase::create_on(durable_server_url()?, "peers").await?;
    let side = connect(database.url().to_owned()).await?;
    let mut loaded = Vec::with_capacity(LOADED_STREAMS);
    for i in 0..LOADED_STREAMS {
        let stream = Uuid::new_v4();
        side.append(Batch { stream, version: 0, count: 100, first: i * 100 }).await?;
        loaded.push(stream);
    }
    Ok(Contender { name, side, loaded: Arc::new(loaded), database: database })
}

async fn run() -> Result<(), BoxError> {
    let contenders = vec![
        contender("raw SQL", |url| async move { Ok(Side::Raw(Raw::connect(&url).await?)) }).await?,
        contender("pupsourcing, in a transaction", |url| async move {
            Ok(Side::Ours(Ours::connect(&url, How::Transaction, true).await?))
        })
        .await?,
        contender("pupsourcing, no transaction", |url| async move {
            Ok(Side::Ours(Ours::connect(&url, How::Committed, true).await?))
        })
        .await?,
        contender("pupsourcing, in a transaction, no NOTIFY", |url| async move {
            Ok(Side::Ours(Ours::connect(&url, How::Transaction, false).await?))
        })
        .await?,
        contender("cqrs-es 0.5", |url| async move { Ok(Side::Cqrs(Cqrs::connect(&url).await?)) })
            .await?,
        contender("esrs 0.18", |url| async move { Ok(Side::Esrs(Esrs::connect(&url).await?)) })
            .await?,
        contender("disintegrate 4", |url| async move {
            Ok(Side::Disintegrate(Disintegrate::connect(&url).await?))
        })
        .await?,
    ];
    let warm_up = Case::new("warm-up", Work::NewStream { batch: 1 }, 8, 50);
    for contender in &contenders {
        round(contender, warm_up).await?;
        analyze_database(contender).await?;
    }
    let (new, existing, one, hundred) = (
        Work::NewStream { batch: 1 },
        Work::Existing { batch: 1 },
        1,
        Work::Existing { batch: 100 },
    );
    let cases = [
        Case::new("1 event, new stream, 1 writer", new, one, 200),
        Case::new("1 event, new stream, 8 writers", new, 8, 100),
        Case::new("1 event, existing stream, 1 writer", existing, one, 200),
        Case::new("1 event, existing stream, 8 writers", existing, 8, 100),
        Case::new("100 events in one call, 1 writer", hundred, one, 30),
        Case::new("100 events in one call, 4 writers", hundred, 4, 20),
        Case::new("load a 100-event stream, 1 reader", Work::Load, one, 300),
        Case::new("load a 100-event stream, 4 readers", Work::Load, 4, 200),
    ];
    println!(
        "{ROUNDS} interleaved rounds per case, median round; ratio to raw SQL (operations/s)\n"
    );
    let header: Vec<&str> = contenders.iter().map(|c| c.name).collect();
    println!("| case | {} |", header.join(" | "));
    println!("|---|{}", "---|".repeat(contenders.len()));
    for case in cases {
        let mut samples = vec![Vec::with_capacity(ROUNDS); contenders.len()];
        for n in 0..ROUNDS {
            for k in 0..contenders.len() {
                let index = (n + k) % contenders.len();
                samples[index].push(round(&contenders[index], case).await?);
            }
        }
        let operations = f64::from(u32::try_from(case.tasks * case.ops)?);
        let rates: Vec<f64> =
            samples.into_iter().map(|s| operations / median(s).as_secs_f64()).collect();
        let cells: Vec<String> =
            rates.iter().map(|rate| format!("{:.2} ({rate:.0}/s)", rate / rates[0])).collect();
        println!("| {} | {} |", case.name, cells.join(" | "));
    }
    for contender in &contenders {
        let retries = contender.side.retries();
        if retries > 0 {
            println!(
                "\n{}: {retries} appends retried after serialization failures",
                contender.name
            );
        }
    }
    Ok(())
}

/// Analyzes the side's tables, as autovacuum would on a store with history.
async fn analyze_database(contender: &Contender) -> Result<(), BoxError> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(contender.database.url())
        .await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pupsourcing-peers: {err}");
            ExitCode::FAILURE
        }
    }
}
