//! The worker on PostgreSQL where only PostgreSQL can show it: the NOTIFY listener on a small
//! pool, and a handler whose own query loses its connection.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pupsourcing::{
    Admin, Consumer, Database, Event, EventStore, ExpectedVersion, HandlerError, PauseRule,
    PersistedEvent, RetryPolicy, StreamId, Worker, WorkerConfig,
};
use pupsourcing_postgres::{PgDatabase, PgTx, PostgresStore, PostgresStoreConfig};
use pupsourcing_testkit::postgres::TestDatabase;
use tokio::sync::oneshot;
use uuid::Uuid;

/// Counts events into a table, in the batch transaction. While `kill_once` is set, the next
/// handling first terminates its own connection, so its query fails as in a database restart.
struct Counter {
    kill_once: Arc<AtomicBool>,
}

#[async_trait]
impl Consumer<PgDatabase> for Counter {
    fn name(&self) -> &str {
        "counter"
    }

    async fn handle(&self, tx: &mut PgTx, event: &PersistedEvent) -> Result<(), HandlerError> {
        if self.kill_once.swap(false, Ordering::SeqCst) {
            sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())").execute(&mut **tx).await?;
        }
        sqlx::query("INSERT INTO counted (event_id) VALUES ($1)")
            .bind(event.event.event_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

fn config() -> WorkerConfig {
    WorkerConfig {
        node_id: format!("node-{}", Uuid::new_v4().simple()),
        poll_interval: Duration::from_millis(50),
        idle_backoff_max: Duration::from_millis(200),
        heartbeat_interval: Duration::from_millis(50),
        heartbeat_timeout: Duration::from_millis(400),
        lease_duration: Duration::from_millis(400),
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            pause: PauseRule { attempts: 1, failing_for: Duration::ZERO },
        },
        ..WorkerConfig::default()
    }
}

async fn setup(name: &str, pool_size: u32) -> (TestDatabase, PgDatabase, PostgresStore) {
    let database = TestDatabase::new(name).await;
    let db = PgDatabase::new(database.pool(pool_size).await.expect("pool"));
    let config = PostgresStoreConfig::default().with_notify_channel("appended").expect("channel");
    let store = PostgresStore::with_config(&db, config);
    store.migrate().await.expect("migrate");
    sqlx::query("CREATE TABLE counted (event_id uuid PRIMARY KEY)")
        .execute(db.pool())
        .await
        .expect("read model");
    (database, db, store)
}

/// A running worker with the counter, and how to stop it cleanly.
struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), pupsourcing::WorkerError>>,
}

impl Running {
    fn start(store: &PostgresStore, counter: Counter) -> Self {
        Self::start_with(store, counter, config())
    }

    fn start_with(store: &PostgresStore, counter: Counter, config: WorkerConfig) -> Self {
        let backend = pupsourcing_postgres::from_store(store.clone());
        let worker =
            Worker::builder(&backend).config(config).consumer(counter).build().expect("worker");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(worker.run(async move {
            let _ = stopped.await;
        }));
        Self { stop, task }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("worker task").expect("clean shutdown");
    }
}

async fn counted(db: &PgDatabase) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM counted").fetch_one(db.pool()).await.expect("count")
}

async fn wait_for(db: &PgDatabase, expected: i64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while counted(db).await < expected {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// On a pool of one connection with NOTIFY configured, the worker still projects: the listener
/// has a connection of its own, outside the pool.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_on_a_pool_of_one_connection_makes_progress() {
    let (_database, db, store) = setup("pool_of_one", 1).await;
    let running = Running::start(&store, Counter { kill_once: Arc::default() });
    let stream = StreamId::new("account", Uuid::new_v4().to_string());
    for i in 0..20 {
        let event = Event::new(&stream, "Touched", i.to_string().into_bytes());
        store.append_committed(&db, ExpectedVersion::Any, vec![event]).await.expect("append");
    }
    wait_for(&db, 20, "20 events projected through a pool of one").await;
    running.stop().await;
}

/// An idle worker whose polls are an hour apart is woken by the notification an append in
/// another store's transaction gets once that transaction commits (the store sends it after
/// the commit, not from inside the transaction).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_worker_wakes_for_an_append_committed_in_another_stores_transaction() {
    let (_database, db, store) = setup("wake_after_commit", 8).await;
    let writer = PostgresStore::with_config(&db, store.config().clone());
    let stream = StreamId::new("account", Uuid::new_v4().to_string());
    let touched = || vec![Event::new(&stream, "Touched", b"{}".to_vec())];
    writer.append_committed(&db, ExpectedVersion::Any, touched()).await.expect("first");
    let hour = Duration::from_secs(3600);
    let running = Running::start_with(
        &store,
        Counter { kill_once: Arc::default() },
        WorkerConfig { poll_interval: hour, idle_backoff_max: hour, ..config() },
    );
    wait_for(&db, 1, "the first event").await;

    let mut tx = db.begin().await.expect("begin");
    writer.append(&mut tx, ExpectedVersion::Any, touched()).await.expect("append");
    db.commit(tx).await.expect("commit");
    wait_for(&db, 2, "the event appended in a transaction, woken by its notification").await;
    running.stop().await;
}

/// A handler whose own query fails because its connection was terminated (as in a database
/// restart) is classified by the adapter as transient from the `sqlx::Error` in its source
/// chain: retried, never paused, even with a pause rule of one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_losing_its_connection_is_retried_not_paused() {
    let (_database, db, store) = setup("handler_connection_lost", 8).await;
    let kill_once = Arc::new(AtomicBool::new(true));
    let running = Running::start(&store, Counter { kill_once: Arc::clone(&kill_once) });
    let stream = StreamId::new("account", Uuid::new_v4().to_string());
    let events = (0..5).map(|i| Event::new(&stream, "Touched", i.to_string().into_bytes()));
    store.append_committed(&db, ExpectedVersion::NoStream, events.collect()).await.expect("append");
    wait_for(&db, 5, "every event despite the lost connection").await;
    assert!(!kill_once.load(Ordering::SeqCst), "the handler did lose its connection once");
    let admin = Admin::new(&pupsourcing_postgres::from_store(store.clone()));
    let status = admin.status().await.expect("status");
    assert!(status.iter().all(|s| !s.unit.paused), "a lost connection paused the unit: {status:?}");
    running.stop().await;
}
