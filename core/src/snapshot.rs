//! The snapshot-store port: a stream's folded state saved at a version, so that loading an
//! aggregate reads only the events after it.
//!
//! A snapshot is a cache of a fold, never a source of truth: the events stay authoritative, a
//! snapshot may be deleted at any time, and one whose state schema differs from the code's is
//! ignored rather than deserialized into the wrong shape. Applications use snapshots through
//! [`Repository::with_snapshots`](crate::aggregate::Repository::with_snapshots); this port is
//! what each backend implements (`PostgresSnapshotStore`, `SqliteSnapshotStore`,
//! `MemorySnapshotStore`, over the table `migrate()` creates beside the events), and
//! [`SnapshotAdmin`] is the operator's view of it.
//!
//! # Personal data
//!
//! A snapshot holds the serialized state, so it holds whatever personal data the state holds,
//! and crypto-shredding must reach it. Keep personal data in the state sealed, as the events
//! keep it ([`Pii<T>`](crate::encryption::Pii) fields, revealed only where they are used): a
//! snapshot then holds only ciphertext, and once the subject is shredded a state loaded from it
//! reveals as [`Revealed::Shredded`](crate::encryption::Revealed), exactly like the events. A
//! state that holds decrypted values must not be snapshotted — or its snapshots must be deleted
//! whenever a subject is erased ([`SnapshotAdmin::drop_stream`], or
//! [`SnapshotStore::delete_stream`] in the erasing transaction), before the next command can
//! write a new one.

mod admin;
mod error;
mod record;

use async_trait::async_trait;

pub use admin::SnapshotAdmin;
pub use error::SnapshotError;
pub use record::{MAX_SNAPSHOT_BYTES, Snapshot, SnapshotStats};

use crate::{Database, StreamId};

/// Storage of snapshots, inside the caller's transactions.
///
/// # Contract
/// - [`save`](SnapshotStore::save) stores one snapshot per stream and stream version; saving the
///   same version again replaces it. A version of 0 or beyond
///   [`MAX_POSITION`](crate::MAX_POSITION) is refused with [`SnapshotError::OutOfRange`], a
///   state larger than [`MAX_SNAPSHOT_BYTES`] with [`SnapshotError::TooLarge`], a stream name
///   no append accepts or a state version beyond
///   [`MAX_EVENT_VERSION`](crate::MAX_EVENT_VERSION) with [`SnapshotError::InvalidInput`], all
///   before any write. Everything a save accepts reads back exactly (the time to the
///   microsecond).
/// - [`latest`](SnapshotStore::latest) returns the snapshot with the highest stream version at
///   or below `at_or_below` (any value; beyond the largest storable version means "the newest"),
///   whatever its state version: the caller decides whether it can use it.
/// - [`delete_stream`](SnapshotStore::delete_stream) and
///   [`delete_aggregate_type`](SnapshotStore::delete_aggregate_type) return how many snapshots
///   they deleted.
/// - Like the event store, writes become visible when the caller commits; a rolled back save
///   leaves nothing behind.
#[async_trait]
pub trait SnapshotStore<D: Database>: Send + Sync + 'static {
    /// Saves (or replaces) the snapshot of its stream at its stream version.
    async fn save(&self, tx: &mut D::Tx, snapshot: &Snapshot) -> Result<(), SnapshotError>;

    /// The newest snapshot of `stream` at or below the stream version `at_or_below`.
    async fn latest(
        &self,
        tx: &mut D::Tx,
        stream: &StreamId,
        at_or_below: u64,
    ) -> Result<Option<Snapshot>, SnapshotError>;

    /// Deletes every snapshot of `stream`.
    async fn delete_stream(&self, tx: &mut D::Tx, stream: &StreamId) -> Result<u64, SnapshotError>;

    /// Deletes every snapshot of the streams of `aggregate_type` (in every bounded context), for
    /// after a change of the state's shape.
    async fn delete_aggregate_type(
        &self,
        tx: &mut D::Tx,
        aggregate_type: &str,
    ) -> Result<u64, SnapshotError>;

    /// How many snapshots the streams of `aggregate_type` have, and their state bytes.
    async fn stats(
        &self,
        tx: &mut D::Tx,
        aggregate_type: &str,
    ) -> Result<SnapshotStats, SnapshotError>;
}
