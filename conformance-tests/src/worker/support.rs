//! Test consumers, nodes and checks shared by the worker scenarios.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use pupsourcing::spi::Coordinator;
use pupsourcing::{
    Backend, BackendError, BackendErrorKind, BatchError, Consumer, Database, Event, EventFilter,
    EventStore, ExpectedVersion, HandlerError, PauseRule, PersistedEvent, RetryPolicy, StoreError,
    StreamId, UnitStatus, Worker, WorkerConfig, WorkerError,
};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::{Projection, Recorded, WorkerBackend, WorkerEnv};

/// The environment type of backend `B`.
pub(crate) type Env<B> = WorkerEnv<
    <B as crate::StoreBackend>::Db,
    <B as crate::StoreBackend>::Store,
    <B as WorkerBackend>::Coordinator,
    <B as WorkerBackend>::Projection,
>;

/// Intervals short enough for tests: a dead node is replaced within about half a second.
pub(crate) fn fast_config(node_id: &str) -> WorkerConfig {
    WorkerConfig {
        node_id: node_id.to_owned(),
        version: "test".into(),
        batch_size: 25,
        max_batch_size: 100,
        read_ahead: true,
        poll_interval: Duration::from_millis(50),
        idle_backoff_max: Duration::from_millis(200),
        heartbeat_interval: Duration::from_millis(50),
        heartbeat_timeout: Duration::from_millis(400),
        lease_duration: Duration::from_millis(400),
        retry: RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(50),
            pause: PauseRule { attempts: 3, failing_for: Duration::ZERO },
        },
        shutdown_grace: Duration::from_secs(10),
    }
}

/// What a test consumer does besides recording, shared by every node running it.
#[derive(Default)]
pub(crate) struct Behaviour {
    calls: AtomicU64,
    per_event: Mutex<HashMap<Uuid, u32>>,
    poison: Mutex<HashSet<Uuid>>,
    transient: Mutex<HashSet<Uuid>>,
    gate: Mutex<Option<Gate>>,
    resets: AtomicU32,
}

struct Gate {
    event: Uuid,
    entered: Option<oneshot::Sender<()>>,
    release: Arc<Notify>,
}

impl Behaviour {
    /// Handling `event` fails until [`heal`](Self::heal) is called.
    pub(crate) fn poison(&self, event: Uuid) {
        self.poison.lock().expect("lock").insert(event);
    }

    /// Handling `event` fails with a retryable backend error (a lost connection, as when the
    /// handler's own query meets a database restart) until [`heal`](Self::heal) is called.
    pub(crate) fn fail_transiently(&self, event: Uuid) {
        self.transient.lock().expect("lock").insert(event);
    }

    pub(crate) fn heal(&self, event: Uuid) {
        self.poison.lock().expect("lock").remove(&event);
        self.transient.lock().expect("lock").remove(&event);
    }

    /// The next handling of `event` signals `entered` and then waits for `release`.
    pub(crate) fn hold(&self, event: Uuid, entered: oneshot::Sender<()>, release: Arc<Notify>) {
        *self.gate.lock().expect("lock") = Some(Gate { event, entered: Some(entered), release });
    }

    /// How many times the handler was called for `event` (committed or not).
    pub(crate) fn calls_for(&self, event: Uuid) -> u32 {
        self.per_event.lock().expect("lock").get(&event).copied().unwrap_or(0)
    }

    pub(crate) fn resets(&self) -> u32 {
        self.resets.load(Ordering::SeqCst)
    }
}

/// A consumer that records every event it handles in the backend's projection table.
pub(crate) struct Recorder<D, P> {
    name: String,
    filter: EventFilter,
    partitions: u32,
    unnamed_failures: bool,
    projection: P,
    pub(crate) behaviour: Arc<Behaviour>,
    _db: PhantomData<fn() -> D>,
}

impl<D: Database, P: Projection<D>> Recorder<D, P> {
    pub(crate) fn new(name: &str, projection: &P) -> Self {
        Self {
            name: name.to_owned(),
            filter: EventFilter::all(),
            partitions: 1,
            unnamed_failures: false,
            projection: projection.clone(),
            behaviour: Arc::default(),
            _db: PhantomData,
        }
    }

    pub(crate) fn with_filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }

    pub(crate) fn with_partitions(mut self, partitions: u32) -> Self {
        self.partitions = partitions;
        self
    }

    /// Fails batches without saying which event failed, as a bulk handler would.
    pub(crate) fn with_unnamed_failures(mut self) -> Self {
        self.unnamed_failures = true;
        self
    }

    /// Another instance (for another node) sharing this one's behaviour.
    pub(crate) fn twin(&self) -> Self {
        Self {
            name: self.name.clone(),
            filter: self.filter.clone(),
            partitions: self.partitions,
            unnamed_failures: self.unnamed_failures,
            projection: self.projection.clone(),
            behaviour: Arc::clone(&self.behaviour),
            _db: PhantomData,
        }
    }

    /// The same consumer configured with another partition count (as after a redeploy).
    pub(crate) fn repartitioned(&self, partitions: u32) -> Self {
        Self { partitions, ..self.twin() }
    }
}

#[async_trait]
impl<D: Database, P: Projection<D>> Consumer<D> for Recorder<D, P> {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        self.filter.clone()
    }

    fn partitions(&self) -> u32 {
        self.partitions
    }

    async fn handle(&self, tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError> {
        let id = event.event.event_id;
        let seq = self.behaviour.calls.fetch_add(1, Ordering::SeqCst);
        *self.behaviour.per_event.lock().expect("lock").entry(id).or_default() += 1;
        let gate = {
            let mut gate = self.behaviour.gate.lock().expect("lock");
            match gate.as_mut() {
                Some(g) if g.event == id => gate.take(),
                _ => None,
            }
        };
        if let Some(mut gate) = gate {
            if let Some(entered) = gate.entered.take() {
                let _ = entered.send(());
            }
            gate.release.notified().await;
        }
        if self.behaviour.poison.lock().expect("lock").contains(&id) {
            return Err(format!("poisoned event {id}").into());
        }
        if self.behaviour.transient.lock().expect("lock").contains(&id) {
            let lost = BackendError::new(BackendErrorKind::Connection, "query", "connection reset");
            return Err(Box::new(StoreError::Backend(lost)));
        }
        self.projection.record(tx, &self.name, event, seq).await
    }

    async fn handle_batch(
        &self,
        tx: &mut D::Tx,
        events: &[PersistedEvent],
    ) -> Result<(), BatchError> {
        for event in events {
            self.handle(tx, event).await.map_err(|err| {
                if self.unnamed_failures {
                    BatchError::new(err)
                } else {
                    BatchError::at(event.global_position, err)
                }
            })?;
        }
        Ok(())
    }

    async fn reset(&self, tx: &mut D::Tx) -> Result<(), HandlerError> {
        self.behaviour.resets.fetch_add(1, Ordering::SeqCst);
        self.projection.clear(tx, &self.name).await
    }
}

/// `consumer` as the worker takes it.
pub(crate) fn shared<D: Database, C: Consumer<D>>(consumer: C) -> Arc<dyn Consumer<D>> {
    Arc::new(consumer)
}

/// The test consumer type of backend `B`.
pub(crate) type RecorderOf<B> =
    Recorder<<B as crate::StoreBackend>::Db, <B as WorkerBackend>::Projection>;

/// A running worker node.
pub(crate) struct Node {
    pub(crate) id: String,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl Node {
    /// Starts a node running `consumers`.
    pub(crate) fn start<B: WorkerBackend>(
        env: &Env<B>,
        id: &str,
        consumers: Vec<Arc<dyn Consumer<B::Db>>>,
    ) -> Node {
        Self::start_with::<B>(env, fast_config(id), consumers)
    }

    /// Starts a node with `config` running `consumers`.
    pub(crate) fn start_with<B: WorkerBackend>(
        env: &Env<B>,
        config: WorkerConfig,
        consumers: Vec<Arc<dyn Consumer<B::Db>>>,
    ) -> Node {
        let id = config.node_id.clone();
        let mut builder = Worker::builder(&env.backend()).config(config);
        for consumer in consumers {
            builder = builder.shared_consumer(consumer);
        }
        let worker = builder.build().expect("valid consumers");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(worker.run(async move {
            let _ = stopped.await;
        }));
        Node { id, stop: Some(stop), task }
    }

    /// Graceful shutdown.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = (&mut self.task).await.expect("worker task");
        assert!(result.is_ok(), "worker {} failed: {result:?}", self.id);
    }

    /// Stops the node as a crash would: every task dropped mid-flight, nothing released.
    pub(crate) async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Polls `check` until it holds, failing after `patience`.
pub(crate) async fn eventually<F, Fut>(what: &str, patience: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + patience;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out after {patience:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Appends one event to each of `streams` (round robin, `count` events), one transaction each.
pub(crate) async fn write_events<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    streams: &[StreamId],
    count: usize,
) -> Vec<PersistedEvent> {
    let mut written = Vec::with_capacity(count);
    for i in 0..count {
        let stream = &streams[i % streams.len()];
        let event = Event::new(stream, "Happened", i.to_string().into_bytes());
        let result =
            store.append_committed(db, ExpectedVersion::Any, vec![event]).await.expect("append");
        written.extend(result.into_events());
    }
    written
}

/// Fresh streams of `aggregate_type`.
pub(crate) fn streams(aggregate_type: &str, count: usize) -> Vec<StreamId> {
    (0..count).map(|_| StreamId::new(aggregate_type, Uuid::new_v4().to_string())).collect()
}

/// Waits until `consumer` recorded exactly `expected` (no loss), then checks there is no
/// duplicate and that each stream's events were recorded in version order.
pub(crate) async fn assert_exactly_once<D: Database, P: Projection<D>>(
    db: &D,
    projection: &P,
    consumer: &str,
    expected: &[PersistedEvent],
    patience: Duration,
) {
    let want: HashSet<Uuid> = expected.iter().map(|e| e.event.event_id).collect();
    let deadline = Instant::now() + patience;
    let last = loop {
        let last = projection.recorded(db, consumer).await;
        let got: HashSet<Uuid> = last.iter().map(|r| r.event_id).collect();
        if got.is_superset(&want) {
            break last;
        }
        if Instant::now() >= deadline {
            let missing = want.difference(&got).count();
            panic!(
                "{consumer}: {missing} of {} events never handled ({} recorded)",
                want.len(),
                last.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let ids: Vec<Uuid> = last.iter().map(|r| r.event_id).collect();
    let unique: HashSet<Uuid> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{consumer}: an event was recorded twice");
    assert_eq!(unique, want, "{consumer}: recorded events that it should not have");
    assert_stream_order(consumer, &last);
}

/// Within each stream, records were made in version order.
pub(crate) fn assert_stream_order(consumer: &str, records: &[Recorded]) {
    let mut by_stream: BTreeMap<&str, Vec<&Recorded>> = BTreeMap::new();
    for record in records {
        by_stream.entry(&record.stream).or_default().push(record);
    }
    for (stream, mut records) in by_stream {
        records.sort_by_key(|r| r.seq);
        let versions: Vec<u64> = records.iter().map(|r| r.version).collect();
        assert!(
            versions.windows(2).all(|w| w[0] < w[1]),
            "{consumer}: stream {stream} handled out of order: {versions:?}"
        );
    }
}

/// The status of every unit of `consumer`.
pub(crate) fn units_of(status: &[UnitStatus], consumer: &str) -> Vec<UnitStatus> {
    status.iter().filter(|s| s.unit.consumer == consumer).cloned().collect()
}

impl<D: Database, S: Clone, C: Coordinator<D> + Clone, P: Projection<D>> WorkerEnv<D, S, C, P> {
    /// The environment's database, store and coordinator as one handle (no key store).
    pub(crate) fn backend(&self) -> Backend<D, S, C, ()> {
        Backend::from_parts(self.db.clone(), self.store.clone(), self.coordinator.clone(), ())
    }

    /// Every unit's state.
    pub(crate) async fn coordinator_status(&self) -> Vec<UnitStatus> {
        self.coordinator.status().await.expect("status")
    }

    /// The event ids `consumer` recorded.
    pub(crate) async fn projection_ids(&self, consumer: &str) -> Vec<Uuid> {
        self.projection.recorded(&self.db, consumer).await.into_iter().map(|r| r.event_id).collect()
    }
}
