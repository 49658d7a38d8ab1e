//! # pupsourcing
//!
//! Event sourcing for Rust services, as a library: an append-only **event store** with optimistic
//! concurrency, a gap-safe global log, a **worker** that runs consumers and projections across
//! processes with exactly-once database effects, and **encryption** of personal data with
//! crypto-shredding (feature `encryption`).
//!
//! This crate holds the types, the engines and the ports; a backend crate stores the data:
//! `pupsourcing-sqlite` for embedded use and examples, `pupsourcing-postgres` for production,
//! `pupsourcing-memory` for unit tests. They pass one conformance suite, so what follows holds on
//! each of them. The guide runs on the memory backend; swap `pupsourcing_memory::open()` for
//! `pupsourcing_sqlite::open("app.sqlite3").await?` or
//! `pupsourcing_postgres::connect(url, 10).await?` and nothing else changes.
//!
//! ## 1. Append and read
//!
//! An [`Event`] belongs to one stream ([`StreamId`]: optional bounded context, aggregate type,
//! aggregate id) and carries an opaque payload (JSON by convention), JSON metadata and an
//! idempotency key. [`EventStore::append`] writes events to one stream atomically if the stream
//! is at the [`ExpectedVersion`], inside *your* transaction, so anything else you write in it
//! commits with the events. A command that writes nothing else needs no transaction:
//! [`EventStore::append_committed`] and [`EventStore::read_stream_committed`] run on their own,
//! in as few round trips as the backend allows (one autocommit statement on PostgreSQL).
//!
//! ```
//! use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StoreError, StreamId};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let backend = pupsourcing_memory::open();
//! let (db, store) = (backend.database(), backend.store());
//!
//! let order = StreamId::new("order", "o-17").in_context("sales");
//! let placed = Event::json(&order, "OrderPlaced", &serde_json::json!({ "total": 42 }))?;
//! let mut tx = db.begin().await?;
//! store.append(&mut tx, ExpectedVersion::NoStream, vec![placed]).await?;
//! db.commit(tx).await?;
//!
//! // Optimistic concurrency: a writer that decided on an older version is refused.
//! let paid = Event::json(&order, "OrderPaid", &serde_json::json!({}))?;
//! let stale = store.append_committed(db, ExpectedVersion::NoStream, vec![paid.clone()]).await;
//! assert!(matches!(stale, Err(StoreError::Conflict { actual: 1, .. })));
//! store.append_committed(db, ExpectedVersion::Exact(1), vec![paid]).await?;
//!
//! let stream = store.read_stream_committed(db, &order, (1..).into()).await?;
//! let types: Vec<&str> = stream.iter().map(|e| e.event_type()).collect();
//! assert_eq!(types, ["OrderPlaced", "OrderPaid"]);
//! assert_eq!(stream.last_read_version(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! ## 2. A consumer on the worker
//!
//! A [`Consumer`] handles every event that passes its filter, in the batch transaction that also
//! moves its checkpoint: its writes and its progress commit together (exactly once in the
//! database). A [`Worker`] runs consumers on one process or many, coordinated only through the
//! database; [`Admin`] shows and steers them.
//!
//! ```
//! use std::time::Duration;
//!
//! use pupsourcing::{Consumer, EventFilter, EventStore, ExpectedVersion, HandlerError, PersistedEvent};
//! use pupsourcing::{Event, StreamId, Worker, WorkerConfig};
//! use pupsourcing_memory::{MemoryDatabase, MemoryTx};
//!
//! /// Counts the events of every order, in a table of the memory database.
//! struct OrderTotals;
//!
//! #[pupsourcing::async_trait]
//! impl Consumer<MemoryDatabase> for OrderTotals {
//!     fn name(&self) -> &str { "order-totals" }
//!     fn filter(&self) -> EventFilter { EventFilter::all().aggregate_types(["order"]) }
//!
//!     async fn handle(&self, tx: &mut MemoryTx, event: &PersistedEvent) -> Result<(), HandlerError> {
//!         let id = event.stream().aggregate_id();
//!         let seen = tx.get("totals", id).and_then(|row| row.as_u64()).unwrap_or(0);
//!         Ok(tx.upsert("totals", id, (seen + 1).into()).await?)
//!     }
//! }
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_time().build().unwrap().block_on(async {
//! let backend = pupsourcing_memory::open();
//! let config = WorkerConfig { poll_interval: Duration::from_millis(20), ..WorkerConfig::default() };
//! let worker = Worker::builder(&backend).config(config).consumer(OrderTotals).build()?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let running = tokio::spawn(worker.run(async { let _ = stopped.await; }));
//!
//! let order = StreamId::new("order", "o-17");
//! let events = ["OrderPlaced", "OrderPaid"].map(|t| Event::new(&order, t, b"{}".to_vec()));
//! backend.store().append_committed(backend.database(), ExpectedVersion::NoStream, events.into()).await?;
//!
//! // Read your writes: wait until the consumer has handled everything committed so far.
//! pupsourcing::Admin::new(&backend).wait_caught_up("order-totals", Duration::from_secs(10)).await?;
//! assert_eq!(backend.database().rows("totals"), [("o-17".to_owned(), 2.into())]);
//! let _ = stop.send(());
//! running.await??; // a clean shutdown: in-flight batches finish, units are released
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! A handler that fails is retried with back-off; its unit stops right before the failing event,
//! shows the error in [`Admin::status`], and is paused for an operator (who can
//! [skip](Admin::skip_failed_event) the event) once the [`PauseRule`] is met. Failures that heal
//! by themselves, such as a lost connection, never pause it.
//!
//! ## 3. Personal data and erasure
//!
//! With the `encryption` feature, personal fields are encrypted with a data key of their own
//! [subject](encryption::Subject) (a person, a tenant), kept wrapped in the same database;
//! erasing the subject destroys its key, and every event that mentions it keeps its shape while
//! the fields read as erased. See the [`encryption`] module.
//!
#![cfg_attr(
    feature = "encryption",
    doc = r#"
```
use pupsourcing::encryption::{AeadWrapper, DataKey, Encryptor, Keyring, Pii, Revealed, Subject};
use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};

#[derive(serde::Serialize, serde::Deserialize)]
struct Registered { email: Pii<String> }

# tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
let backend = pupsourcing_memory::open();
// The key-encryption key stays outside the database (an age identity in production).
let encryptor = Encryptor::new(&backend, Keyring::new(AeadWrapper::new("kek-1", &DataKey::generate())?));
let ann = Subject::new("users", "ann")?;

let mut tx = backend.database().begin().await?;
let email = encryptor.within(&mut tx).seal(&ann, "email", &"ann@example.com".to_owned()).await?;
let event = Event::json(&StreamId::new("user", "ann"), "Registered", &Registered { email })?;
backend.store().append(&mut tx, ExpectedVersion::NoStream, vec![event]).await?;
backend.database().commit(tx).await?; // the event and Ann's data key commit together

encryptor.shred(&ann).await?; // erasure: Ann's key is destroyed, her events stay
let mut tx = backend.database().begin_read().await?;
let stored = backend.store().read_stream(&mut tx, &StreamId::new("user", "ann"), (..).into()).await?;
let registered: Registered = stored.events()[0].decode_json()?;
assert_eq!(encryptor.reveal(&ann, "email", &registered.email).await?, Revealed::Shredded);
# Ok::<(), Box<dyn std::error::Error>>(())
# }).unwrap();
```
"#
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod aggregate;
mod backend;
mod database;
#[cfg(feature = "encryption")]
#[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
pub mod encryption;
mod error;
mod event;
mod keys;
#[cfg(any(test, feature = "mock"))]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;
pub mod snapshot;
pub mod spi;
mod store;
mod stream;
pub mod typed;
pub mod worker;

pub use async_trait::async_trait;
pub use backend::Backend;
pub use database::Database;
pub use error::{BackendError, BackendErrorKind, BoxError};
pub use event::{Event, PersistedEvent, normalize_timestamp};
pub use keys::{EncryptionError, IntegrityFailure};
pub use store::{
    AppendLimits, AppendResult, EventFilter, EventStore, EventStoreExt, ExpectedVersion,
    FrontierConfig, FrontierStatus, InputError, LogQuery, MAX_EVENT_VERSION, MAX_METADATA_DEPTH,
    MAX_POSITION, OpenHole, StoreError, Versions,
};
pub use stream::{Stream, StreamId};
pub use typed::DomainEvent;

/// What generated code names; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde_json;
}
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use pupsourcing_macros::DomainEvent;
pub use worker::{
    Admin, BatchError, Consumer, ConsumerStatus, HandlerError, NodeStatus, PauseRule, RetryPolicy,
    UnitId, UnitStatus, Worker, WorkerBuilder, WorkerConfig, WorkerError,
};
