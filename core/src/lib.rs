//! # pupsourcing
//!
//! Event sourcing for Rust services, as a library: an append-only **event store** with optimistic
//! concurrency, a gap-safe global log, a **worker** that runs consumers and projections across
//! processes with exactly-once database effects, and the ports that backend adapters implement.
//!
//! This crate is backend-agnostic. Pair it with an adapter:
//! `pupsourcing-postgres` for production, `pupsourcing-sqlite` for embedded use and
//! `pupsourcing-memory` for unit tests. Every adapter passes the same conformance suite.
//!
//! ## The model
//! - An [`Event`] belongs to one stream ([`StreamId`]: bounded context, aggregate type, aggregate
//!   id) and carries an opaque payload, JSON metadata and an idempotency key (`event_id`).
//! - [`EventStore::append`] writes a batch to one stream atomically, checking the
//!   [`ExpectedVersion`]; stored events come back as [`PersistedEvent`]s with their stream version
//!   and global position.
//! - Every call takes the caller's transaction (`&mut D::Tx` of a [`Database`]), so events and
//!   any other rows you write commit together.
//!
//! ```
//! # use pupsourcing::{Event, StreamId, ExpectedVersion};
//! let order = StreamId::new("order", "o-1").in_context("sales");
//! let placed = Event::json(&order, "OrderPlaced", &serde_json::json!({ "total": 42 }))?;
//! // store.append(&mut tx, ExpectedVersion::NoStream, vec![placed]).await?;
//! # let _ = (placed, ExpectedVersion::NoStream);
//! # Ok::<(), serde_json::Error>(())
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

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
pub mod spi;
mod store;
mod stream;
pub mod worker;

pub use async_trait::async_trait;
pub use backend::Backend;
pub use database::Database;
pub use error::{BackendError, BackendErrorKind, BoxError};
pub use event::{Event, PersistedEvent, normalize_timestamp};
pub use keys::{EncryptionError, IntegrityFailure};
pub use store::{
    AppendLimits, AppendResult, EventFilter, EventStore, EventStoreExt, ExpectedVersion,
    FrontierStatus, InputError, LogQuery, MAX_EVENT_VERSION, MAX_METADATA_DEPTH, MAX_POSITION,
    OpenHole, StoreError, Versions,
};
pub use stream::{Stream, StreamId};
pub use worker::{
    Admin, BatchError, Consumer, ConsumerStatus, HandlerError, PauseRule, RetryPolicy, UnitId,
    UnitStatus, Worker, WorkerBuilder, WorkerConfig, WorkerError,
};
