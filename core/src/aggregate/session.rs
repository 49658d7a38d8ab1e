//! Where one command attempt reads and writes: a transaction, or no transaction at all.

use crate::aggregate::snapshotting::Snapshotting;
use crate::snapshot::SnapshotError;
use crate::{
    AppendResult, Database, Event, EventStore, ExpectedVersion, StoreError, Stream, StreamId,
    Versions,
};

/// A caller's (or the attempt's own) transaction, or the database alone, for an attempt whose
/// only write is its append: each call then runs as committed work of its own, through the
/// store's calls that need no transaction.
pub(crate) enum Session<'a, D: Database> {
    Tx(&'a mut D::Tx),
    Committed(&'a D),
}

impl<D: Database> Session<'_, D> {
    pub(crate) async fn read_stream<S: EventStore<D>>(
        &mut self,
        store: &S,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Stream, StoreError> {
        match self {
            Self::Tx(tx) => store.read_stream(tx, stream, versions).await,
            Self::Committed(db) => store.read_stream_committed(db, stream, versions).await,
        }
    }

    pub(crate) async fn append<S: EventStore<D>>(
        &mut self,
        store: &S,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        match self {
            Self::Tx(tx) => store.append(tx, expected, events).await,
            Self::Committed(db) => store.append_committed(db, expected, events).await,
        }
    }

    /// The newest usable snapshot of `stream` at or below `at_or_below`; without a transaction,
    /// read in a read transaction of its own (snapshot stores read inside one).
    pub(crate) async fn restore<St>(
        &mut self,
        snapshots: &Snapshotting<D, St>,
        stream: &StreamId,
        at_or_below: u64,
    ) -> Result<Option<(u64, St)>, SnapshotError> {
        match self {
            Self::Tx(tx) => snapshots.restore(tx, stream, at_or_below).await,
            Self::Committed(db) => {
                let mut tx = db.begin_read().await?;
                let restored = snapshots.restore(&mut tx, stream, at_or_below).await;
                // A failed rollback of a read-only transaction loses nothing.
                let _ = db.rollback(tx).await;
                restored
            }
        }
    }
}
