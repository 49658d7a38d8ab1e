//! [`Worker`]: builds the node and runs its tasks until shutdown.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::spi::Coordinator;
use crate::worker::context::Context;
use crate::worker::coordinator::{ConsumerSpec, NodeInfo};
use crate::worker::{follow, leader, membership};
use crate::{Backend, Consumer, Database, EventStore, WorkerConfig, WorkerError};

/// Longest accepted consumer name, in bytes.
pub const MAX_CONSUMER_NAME: usize = 200;

/// Runs a service's consumers, on one process or many, coordinated through the database.
///
/// Build one with [`Worker::builder`], add consumers, then [`run`](Worker::run) it until a
/// shutdown signal:
///
/// ```
/// use pupsourcing::{Consumer, Database, EventFilter, HandlerError, PersistedEvent, Worker};
///
/// /// Counts orders; works on any backend.
/// struct OrderCounter;
///
/// #[async_trait::async_trait]
/// impl<D: Database> Consumer<D> for OrderCounter {
///     fn name(&self) -> &str {
///         "order-counter"
///     }
///
///     fn filter(&self) -> EventFilter {
///         EventFilter::all().aggregate_types(["order"])
///     }
///
///     async fn handle(&self, _tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError> {
///         tracing::info!(position = event.global_position, "order event");
///         Ok(())
///     }
/// }
///
/// async fn serve(backend: pupsourcing_memory::MemoryBackend) -> Result<(), pupsourcing::WorkerError> {
///     let worker = Worker::builder(&backend).consumer(OrderCounter).build()?;
///     worker.run(async { /* e.g. tokio::signal::ctrl_c().await */ }).await
/// }
/// ```
pub struct Worker<D: Database, S, C> {
    db: D,
    store: S,
    coordinator: C,
    consumers: BTreeMap<String, Arc<dyn Consumer<D>>>,
    config: WorkerConfig,
}

/// Collects the consumers and settings of a [`Worker`].
pub struct WorkerBuilder<D: Database, S, C> {
    db: D,
    store: S,
    coordinator: C,
    consumers: Vec<Arc<dyn Consumer<D>>>,
    config: WorkerConfig,
}

impl<D, S, C> Worker<D, S, C>
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    /// Starts building a worker on `backend`: its database, event store and coordinator.
    pub fn builder<K>(backend: &Backend<D, S, C, K>) -> WorkerBuilder<D, S, C>
    where
        S: Clone,
        C: Clone,
    {
        WorkerBuilder {
            db: backend.database().clone(),
            store: backend.store().clone(),
            coordinator: backend.coordinator().clone(),
            consumers: Vec::new(),
            config: WorkerConfig::default(),
        }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.config.node_id
    }

    /// Registers the node, then runs heartbeats, leadership, the frontier follower and the
    /// assigned units until `shutdown` completes. Then it stops taking batches, lets in-flight
    /// batches finish within the grace period (abandoning, i.e. rolling back, the rest),
    /// releases its units and lease so that other nodes take over at once, and returns.
    ///
    /// Fails only if the node cannot register at start (the database is unreachable or its
    /// tables are missing); a failing consumer never stops it. Dropping the returned future
    /// stops every task at once, as a crash would (other nodes take over after the heartbeat
    /// timeout).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), WorkerError> {
        let node = NodeInfo {
            node_id: self.config.node_id.clone(),
            consumers: self
                .consumers
                .values()
                .map(|c| ConsumerSpec {
                    name: c.name().to_owned(),
                    partitions: c.partitions().max(1),
                })
                .collect(),
            version: self.config.version.clone(),
        };
        self.coordinator.heartbeat(&node).await?;
        let grace = self.config.shutdown_grace;
        let ctx = Arc::new(Context {
            db: self.db,
            store: self.store,
            coordinator: self.coordinator,
            consumers: self.consumers,
            config: self.config,
            node,
            frontier: watch::Sender::new(0),
            stopping: watch::Sender::new(false),
            reassigned: Notify::new(),
        });
        tracing::info!(node = %ctx.node.node_id, consumers = ctx.consumers.len(), "worker started");

        let mut tasks = JoinSet::new();
        tasks.spawn(membership::heartbeats(Arc::clone(&ctx)));
        tasks.spawn(leader::run(Arc::clone(&ctx)));
        tasks.spawn(follow::run(Arc::clone(&ctx)));
        tasks.spawn(membership::run_units(Arc::clone(&ctx)));

        shutdown.await;
        tracing::info!(node = %ctx.node.node_id, "worker stopping");
        ctx.stopping.send_replace(true);
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tracing::warn!(node = %ctx.node.node_id, "shutdown grace period over; abandoning in-flight batches");
            tasks.shutdown().await;
        }
        if let Err(err) = ctx.coordinator.release_units(&ctx.node.node_id).await {
            tracing::warn!(error = %err, "could not release units at shutdown");
        }
        if let Err(err) = ctx.coordinator.leave(&ctx.node.node_id).await {
            tracing::warn!(error = %err, "could not deregister at shutdown");
        }
        tracing::info!(node = %ctx.node.node_id, "worker stopped");
        Ok(())
    }
}

impl<D, S, C> WorkerBuilder<D, S, C>
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    /// Adds a consumer.
    #[must_use]
    pub fn consumer(mut self, consumer: impl Consumer<D>) -> Self {
        self.consumers.push(Arc::new(consumer));
        self
    }

    /// Adds a consumer shared with other code (for example an admin API's rebuild).
    #[must_use]
    pub fn shared_consumer(mut self, consumer: Arc<dyn Consumer<D>>) -> Self {
        self.consumers.push(consumer);
        self
    }

    /// Replaces all settings.
    #[must_use]
    pub fn config(mut self, config: WorkerConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the node id.
    #[must_use]
    pub fn node_id(mut self, node_id: impl Into<String>) -> Self {
        self.config.node_id = node_id.into();
        self
    }

    /// Sets the events per batch.
    #[must_use]
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.config.batch_size = batch_size.max(1);
        self
    }

    /// Checks the consumers and builds the worker.
    pub fn build(self) -> Result<Worker<D, S, C>, WorkerError> {
        let mut consumers = BTreeMap::new();
        for consumer in self.consumers {
            let name = consumer.name().to_owned();
            let reason = if name.is_empty() {
                Some("the name is empty")
            } else if name.len() > MAX_CONSUMER_NAME {
                Some("the name is longer than 200 bytes")
            } else if name.contains('\0') {
                Some("the name contains a NUL character")
            } else if consumers.contains_key(&name) {
                Some("two consumers have this name")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(WorkerError::InvalidConsumer { name, reason });
            }
            consumers.insert(name, consumer);
        }
        Ok(Worker {
            db: self.db,
            store: self.store,
            coordinator: self.coordinator,
            consumers,
            config: self.config,
        })
    }
}
