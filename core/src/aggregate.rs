//! Commands on aggregates: load, decide, append, and retry on a conflict (feature `derive`, for
//! the typed events).
//!
//! Nothing here is implemented on domain types. The fold is given as a [`Decider`] — an initial
//! state, `evolve(state, &event)` and `decide(&state, &command)` — which the infrastructure
//! layer implements on a type of its own or builds from plain functions with [`decider`]. A
//! [`Repository`] loads the state and the stream version, runs the decision and appends with
//! `Exact(version)` (`NoStream` for a new stream); when another writer won the race it loads
//! again and decides again, within a bounded, jittered [`CommandRetry`]. Domain errors are
//! returned at once and never retried. A command whose only write is its events takes no
//! write transaction: it loads with [`read_stream_committed`] and appends with
//! [`append_committed`] (one statement each on PostgreSQL), the `Exact` expectation keeping the
//! decision safe; on SQLite, whose writers queue one at a time, it runs in one write
//! transaction ([`serializes_writers`]). [`Repository::execute_in`] runs one in the caller's
//! transaction instead.
//!
//! With [`Repository::with_snapshots`], a load starts from the stream's newest snapshot and
//! folds only the events after it; [`SnapshotPolicy`] says when snapshots are written, and
//! whether in the command's transaction or later by a [`SnapshotConsumer`].
//!
//! [`read_stream_committed`]: crate::EventStore::read_stream_committed
//! [`append_committed`]: crate::EventStore::append_committed
//! [`serializes_writers`]: crate::Database::serializes_writers

mod decider;
mod repository;
mod session;
mod snapshot_consumer;
mod snapshotting;

pub use decider::{Decider, FnDecider, decider};
pub use repository::{CommandError, CommandRetry, Executed, Loaded, Repository, event_id_for};
pub use snapshot_consumer::SnapshotConsumer;
pub use snapshotting::{
    SNAPSHOTS_SKIPPED, SNAPSHOTS_STALE, SNAPSHOTS_UNDECODABLE, SNAPSHOTS_WRITTEN,
    SnapshotFrequency, SnapshotPolicy, SnapshotWrite,
};
