//! What the end-to-end tests share: running the built binary, a consumer that fails on a
//! poison event, a worker in this process, and a SQLite file per test.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code

use std::path::PathBuf;
use std::process::Output;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pupsourcing::spi::Coordinator;
use pupsourcing::{
    Admin, Backend, Consumer, ConsumerStatus, Database, Event, EventStore, ExpectedVersion,
    HandlerError, PauseRule, PersistedEvent, RetryPolicy, StreamId, Worker, WorkerConfig,
    WorkerError,
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// The built `pupsourcing` binary, with no `DATABASE_URL` from the environment.
pub(crate) fn command(args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_pupsourcing"));
    command.env_remove("DATABASE_URL").args(args).write_stdin("");
    command
}

/// Runs the binary to the end without blocking the runtime.
pub(crate) async fn run(args: &[&str]) -> Output {
    let mut command = command(args);
    tokio::task::spawn_blocking(move || command.output().expect("run pupsourcing"))
        .await
        .expect("join")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the exit code, showing both outputs when it is not the one expected.
pub(crate) fn expect_code(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

pub(crate) fn json(output: &Output) -> serde_json::Value {
    expect_code(output, 0);
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

/// A fresh SQLite file for test `name`, migrated.
pub(crate) async fn sqlite(name: &str) -> (pupsourcing_sqlite::SqliteBackend, PathBuf) {
    let path =
        std::env::temp_dir().join(format!("pupsourcing-cli-{}-{name}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let backend = pupsourcing_sqlite::open(&path).await.expect("open");
    backend.store().migrate().await.expect("migrate");
    (backend, path)
}

/// Bills every event but `Poison`, which it cannot handle; slow when asked.
pub(crate) struct Billing {
    pub(crate) handled: Arc<Mutex<Vec<u64>>>,
    pub(crate) delay: Duration,
}

impl Billing {
    pub(crate) fn new(delay: Duration) -> Self {
        Self { handled: Arc::default(), delay }
    }
}

#[async_trait]
impl<D: Database> Consumer<D> for Billing {
    fn name(&self) -> &str {
        "billing"
    }

    async fn handle(&self, _tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError> {
        if event.event.event_type == "Poison" {
            return Err("cannot bill a poison pill".into());
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        self.handled.lock().unwrap().push(event.global_position);
        Ok(())
    }
}

/// A worker in a task of this process; the first failure pauses a unit.
pub(crate) struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl Running {
    pub(crate) fn start<D, S, C, K>(backend: &Backend<D, S, C, K>, consumer: Billing) -> Self
    where
        D: Database,
        S: EventStore<D> + Clone,
        C: Coordinator<D> + Clone,
    {
        let config = WorkerConfig {
            node_id: "node-1".to_owned(),
            version: "1.0.0".to_owned(),
            poll_interval: Duration::from_millis(50),
            idle_backoff_max: Duration::from_millis(100),
            heartbeat_interval: Duration::from_millis(200),
            heartbeat_timeout: Duration::from_secs(5),
            lease_duration: Duration::from_secs(5),
            retry: RetryPolicy {
                initial_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(50),
                pause: PauseRule { attempts: 1, failing_for: Duration::ZERO },
            },
            ..WorkerConfig::default()
        };
        let worker =
            Worker::builder(backend).config(config).consumer(consumer).build().expect("worker");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(worker.run(async move {
            let _ = stopped.await;
        }));
        Self { stop, task }
    }

    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.expect("join").expect("worker");
    }
}

/// Appends one event of `event_type` to its own account stream; returns its position.
pub(crate) async fn append<D, S>(db: &D, store: &S, event_type: &str, payload: &str) -> u64
where
    D: Database,
    S: EventStore<D>,
{
    let stream = StreamId::new("account", uuid::Uuid::new_v4().to_string());
    let event = Event::new(&stream, event_type, payload.as_bytes().to_vec());
    let mut tx = db.begin().await.expect("begin");
    let done = store.append(&mut tx, ExpectedVersion::NoStream, vec![event]).await.expect("append");
    db.commit(tx).await.expect("commit");
    done.last_position()
}

/// Appends `count` `Deposited` events; returns the last position.
pub(crate) async fn deposits<D, S>(db: &D, store: &S, count: usize) -> u64
where
    D: Database,
    S: EventStore<D>,
{
    let mut last = 0;
    for i in 0..count {
        last = append(db, store, "Deposited", &format!("{{\"amount\":{i}}}")).await;
    }
    last
}

/// Waits until `check` holds for the units of `billing`.
pub(crate) async fn until<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    what: &str,
    check: impl Fn(&[ConsumerStatus]) -> bool,
) where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let admin = Admin::new(backend);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let units: Vec<ConsumerStatus> = admin
            .status()
            .await
            .expect("status")
            .into_iter()
            .filter(|u| u.unit.unit.consumer == "billing")
            .collect();
        if !units.is_empty() && check(&units) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {units:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every event of the log.
pub(crate) async fn read_all<D, S>(db: &D, store: &S) -> Vec<PersistedEvent>
where
    D: Database,
    S: EventStore<D>,
{
    let mut tx = db.begin_read().await.expect("begin");
    let events = store.read_events(&mut tx, 0, usize::MAX).await.expect("read");
    db.rollback(tx).await.expect("rollback");
    events
}
