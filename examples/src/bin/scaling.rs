//! Scaling: a partitioned projection on one node, then three, then one again, while events keep
//! coming; the leader moves units between nodes and every event is still counted once. Nodes
//! run as tasks of this process here; the `worker` example runs them as separate processes.
//! SQLite by default (or the path given as the first argument); PostgreSQL or MySQL/MariaDB with
//! `DATABASE_URL`.

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pupsourcing::{Admin, Backend, BoxError, Consumer, EventStore, spi::Coordinator};
use pupsourcing_examples::on_any_backend;
use pupsourcing_examples::setup::{Running, write_sample};
use pupsourcing_examples::sql::SqlDatabase;
use pupsourcing_examples::tally::{CountBy, Tally};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    on_any_backend!("scaling", run)
}

/// Units per owner, once the leader has spread them over `nodes` nodes.
async fn spread<D, S, C>(
    admin: &Admin<D, S, C>,
    nodes: usize,
) -> Result<BTreeMap<String, usize>, BoxError>
where
    D: pupsourcing::Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut owners = BTreeMap::new();
        for status in admin.status().await? {
            if let Some(owner) = status.unit.owner {
                *owners.entry(owner).or_insert(0) += 1;
            }
        }
        if owners.len() == nodes && owners.values().sum::<usize>() == 6 {
            return Ok(owners);
        }
        if Instant::now() > deadline {
            return Err(format!("the units never spread over {nodes} nodes: {owners:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), BoxError>
where
    D: SqlDatabase,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let tally = Tally::new("scaled", CountBy::AggregateType).with_partitions(6);
    tally.create_table(backend.database()).await?;
    let consumer = || -> Vec<Arc<dyn Consumer<D>>> { vec![Arc::new(tally.clone())] };
    let admin = Admin::new(backend);
    let (db, store) = (backend.database(), backend.store());

    let a = Running::start(backend, "node-a", consumer())?;
    write_sample(db, store, 20).await?;
    println!("1 node:  {:?}", spread(&admin, 1).await?);
    let b = Running::start(backend, "node-b", consumer())?;
    let c = Running::start(backend, "node-c", consumer())?;
    write_sample(db, store, 20).await?;
    println!("3 nodes: {:?}", spread(&admin, 3).await?);
    b.stop().await?;
    c.stop().await?;
    write_sample(db, store, 20).await?;
    println!("1 node:  {:?}", spread(&admin, 1).await?);
    admin.wait_caught_up("scaled", Duration::from_secs(30)).await?;
    a.stop().await?;
    let total: u64 = tally.counts(db).await?.iter().map(|(_, n)| n).sum();
    println!("{total} of 60 events counted, each once, across the scale changes");
    if total != 60 {
        return Err(format!("expected 60, counted {total}").into());
    }
    Ok(())
}
