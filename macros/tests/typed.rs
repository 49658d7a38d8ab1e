//! Typed appends, reads and consumers on the memory backend.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::time::{Duration, Instant};

use pupsourcing::typed::{Typed, TypedConsumer, TypedError, TypedHandler, TypedStoreExt};
use pupsourcing::{
    Admin, Database, DomainEvent, Event, EventStore, ExpectedVersion, HandlerError, PauseRule,
    RetryPolicy, StreamId, Versions, Worker, WorkerConfig,
};
use pupsourcing_memory::{MemoryDatabase, MemoryTx};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Deposited {
    cents: u64,
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "account")]
enum AccountEvent {
    #[event(name = "MoneyDeposited")]
    Deposited(Deposited),
    #[event(name = "AccountClosed")]
    Closed,
}

/// Sums deposits per account in a memory table.
struct Balances;

#[pupsourcing::async_trait]
impl TypedHandler<MemoryDatabase, AccountEvent> for Balances {
    fn name(&self) -> &str {
        "balances"
    }

    async fn handle(
        &self,
        tx: &mut MemoryTx,
        event: Typed<AccountEvent>,
    ) -> Result<(), HandlerError> {
        let id = event.persisted.stream().aggregate_id().to_owned();
        let balance = tx.get("balances", &id).and_then(|v| v.as_u64()).unwrap_or(0);
        let balance = match event.event {
            AccountEvent::Deposited(Deposited { cents }) => balance + cents,
            AccountEvent::Closed => 0,
        };
        Ok(tx.upsert("balances", id, balance.into()).await?)
    }

    async fn reset(&self, tx: &mut MemoryTx) -> Result<(), HandlerError> {
        Ok(tx.clear("balances").await?)
    }
}

fn config() -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(10),
        heartbeat_interval: Duration::from_millis(20),
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            pause: PauseRule { attempts: 2, failing_for: Duration::ZERO },
        },
        ..WorkerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_appends_reads_and_consumers_see_decoded_events() {
    let backend = pupsourcing_memory::open();
    let (db, store) = (backend.database(), backend.store());
    let account = StreamId::new("account", "a-1");
    let mut tx = db.begin().await.unwrap();
    let deposits = [
        AccountEvent::Deposited(Deposited { cents: 300 }),
        AccountEvent::Deposited(Deposited { cents: 200 }),
    ];
    store.append_typed(&mut tx, &account, ExpectedVersion::NoStream, &deposits).await.unwrap();
    let read: Vec<_> = store
        .read_typed::<AccountEvent>(&mut tx, &account, Versions::all())
        .await
        .unwrap()
        .into_iter()
        .map(|typed| typed.event)
        .collect();
    assert_eq!(read, deposits);
    db.commit(tx).await.unwrap();
    let foreign = StreamId::new("order", "o-1");
    let mut tx = db.begin().await.unwrap();
    let refused = store.append_typed(&mut tx, &foreign, ExpectedVersion::Any, &deposits).await;
    assert!(matches!(refused, Err(TypedError::Encode(_))), "{refused:?}");
    db.rollback(tx).await.unwrap();

    let worker = Worker::builder(&backend)
        .config(config())
        .consumer(TypedConsumer::new(Balances))
        .build()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(worker.run(async {
        let _ = stopped.await;
    }));
    let admin = Admin::new(&backend);
    let last = store
        .append_committed(
            db,
            ExpectedVersion::Any,
            vec![Event::new(&foreign, "OrderPlaced", b"{}".to_vec())],
        )
        .await
        .unwrap()
        .last_position();
    admin.wait_for("balances", last, Duration::from_secs(10)).await.unwrap();
    assert_eq!(db.rows("balances"), [("a-1".to_owned(), 500.into())]);

    // A rebuild goes through the typed handler's reset: the stray row is cleared, the rest replayed.
    let mut tx = db.begin().await.unwrap();
    tx.upsert("balances", "stray".to_owned(), 1.into()).await.unwrap();
    db.commit(tx).await.unwrap();
    let latest = admin.rebuild(&TypedConsumer::new(Balances)).await.unwrap();
    admin.wait_for("balances", latest, Duration::from_secs(10)).await.unwrap();
    assert_eq!(db.rows("balances"), [("a-1".to_owned(), 500.into())]);

    // A version newer than the code: the consumer stops on it, it never skips it.
    let newer =
        Event::new(&account, "MoneyDeposited", br#"{"cents":1}"#.to_vec()).with_event_version(2);
    let newer = store.append_committed(db, ExpectedVersion::Any, vec![newer]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = admin.status().await.unwrap();
        if let Some(unit) =
            status.iter().find(|s| s.unit.unit.consumer == "balances" && s.unit.paused)
        {
            assert_eq!(unit.unit.failed_position, Some(newer.last_position()));
            let error = unit.unit.last_error.clone().unwrap_or_default();
            assert!(error.contains("newer than this code"), "{error}");
            break;
        }
        assert!(Instant::now() < deadline, "the unit never paused on the newer event");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(db.rows("balances"), [("a-1".to_owned(), 500.into())], "nothing skipped");
    let _ = stop.send(());
    running.await.unwrap().unwrap();
}
