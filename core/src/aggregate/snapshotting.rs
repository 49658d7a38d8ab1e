//! How a repository uses snapshots: when it writes them, where, and how it restores one.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use crate::snapshot::{MAX_SNAPSHOT_BYTES, Snapshot, SnapshotError, SnapshotStore};
use crate::{Database, StreamId};

/// Counter: snapshots ignored because their state version is not the code's, labelled by
/// aggregate type.
pub const SNAPSHOTS_STALE: &str = "pupsourcing_snapshot_stale_total";
/// Counter: snapshots ignored because their state did not deserialize, labelled by aggregate
/// type.
pub const SNAPSHOTS_UNDECODABLE: &str = "pupsourcing_snapshot_undecodable_total";
/// Counter: snapshots not written because the state did not serialize or exceeded
/// [`MAX_SNAPSHOT_BYTES`], labelled by aggregate type and reason (`unencodable`, `too_large`).
pub const SNAPSHOTS_SKIPPED: &str = "pupsourcing_snapshot_skipped_total";
/// Counter: snapshots written, labelled by aggregate type.
pub const SNAPSHOTS_WRITTEN: &str = "pupsourcing_snapshots_written_total";

/// When a repository writes a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotFrequency {
    /// Never: snapshots are read (written by someone else, or earlier) but not written.
    Never,
    /// Whenever the stream's version reaches a multiple of `n` (`Every(0)` never writes).
    Every(u64),
    /// Whenever a load folded more than `n` events after the newest snapshot.
    ReplayOver(u64),
}

/// Where a repository writes its snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotWrite {
    /// In the command's own transaction, after its append: a snapshot commits or rolls back
    /// with the events it covers, at the cost of one more write per snapshotted command.
    InCommand,
    /// Afterwards, by the consumer [`Repository::snapshot_consumer`](super::Repository::snapshot_consumer)
    /// returns, run by the worker: commands never write snapshots.
    Deferred,
}

/// How a [`Repository`](super::Repository) uses snapshots.
///
/// ```
/// use pupsourcing::aggregate::{SnapshotFrequency, SnapshotPolicy, SnapshotWrite};
///
/// let policy = SnapshotPolicy::every(100).state_version(2);
/// assert_eq!(policy.frequency, SnapshotFrequency::Every(100));
/// assert_eq!(policy.write, SnapshotWrite::InCommand);
/// assert_eq!(SnapshotPolicy::when_replay_exceeds(500).deferred().write, SnapshotWrite::Deferred);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// When snapshots are written.
    pub frequency: SnapshotFrequency,
    /// Where they are written.
    pub write: SnapshotWrite,
    /// The version of the state's serialized shape. Change it whenever the state type changes
    /// in a way that older snapshots would not deserialize into correctly: snapshots of another
    /// version are then ignored (a full replay) and replaced as commands write new ones.
    pub state_version: u32,
}

impl SnapshotPolicy {
    /// A snapshot whenever the stream version reaches a multiple of `n`, in the command's
    /// transaction, state version 1.
    pub fn every(n: u64) -> Self {
        Self::with(SnapshotFrequency::Every(n))
    }

    /// A snapshot whenever a load folded more than `n` events after the newest snapshot, in the
    /// command's transaction, state version 1.
    pub fn when_replay_exceeds(n: u64) -> Self {
        Self::with(SnapshotFrequency::ReplayOver(n))
    }

    /// Snapshots read, never written, state version 1.
    pub fn never() -> Self {
        Self::with(SnapshotFrequency::Never)
    }

    fn with(frequency: SnapshotFrequency) -> Self {
        Self { frequency, write: SnapshotWrite::InCommand, state_version: 1 }
    }

    /// Leaves writing snapshots to the snapshot consumer.
    #[must_use]
    pub fn deferred(mut self) -> Self {
        self.write = SnapshotWrite::Deferred;
        self
    }

    /// Sets the state version.
    #[must_use]
    pub fn state_version(mut self, version: u32) -> Self {
        self.state_version = version;
        self
    }

    /// Whether a state at `version`, folded from a snapshot at `base` (0: none), is due for a
    /// snapshot, given the version `before` it that last had a chance to be snapshotted.
    /// Whether commands may write snapshots: in the command, at a frequency that writes.
    pub(crate) fn writes_in_command(&self) -> bool {
        self.write == SnapshotWrite::InCommand
            && !matches!(self.frequency, SnapshotFrequency::Never | SnapshotFrequency::Every(0))
    }

    pub(crate) fn due(&self, base: u64, before: u64, version: u64) -> bool {
        match self.frequency {
            SnapshotFrequency::Never | SnapshotFrequency::Every(0) => false,
            SnapshotFrequency::Every(n) => version / n > before / n,
            SnapshotFrequency::ReplayOver(n) => version > base && version - base > n,
        }
    }
}

type Encode<S> = fn(&S) -> Result<Vec<u8>, serde_json::Error>;
type Decode<S> = fn(&[u8]) -> Result<S, serde_json::Error>;

/// A repository's snapshot store with its policy and the state's serde functions.
pub(crate) struct Snapshotting<D: Database, S> {
    pub(crate) store: Arc<dyn SnapshotStore<D>>,
    pub(crate) policy: SnapshotPolicy,
    encode: Encode<S>,
    decode: Decode<S>,
    warned: Mutex<HashSet<(String, u32)>>,
}

impl<D: Database, S> Snapshotting<D, S> {
    pub(crate) fn new(
        store: Arc<dyn SnapshotStore<D>>,
        policy: SnapshotPolicy,
        encode: Encode<S>,
        decode: Decode<S>,
    ) -> Self {
        Self { store, policy, encode, decode, warned: Mutex::new(HashSet::new()) }
    }

    /// The state and version of the newest usable snapshot of `stream` at or below `at_or_below`.
    pub(crate) async fn restore(
        &self,
        tx: &mut D::Tx,
        stream: &StreamId,
        at_or_below: u64,
    ) -> Result<Option<(u64, S)>, SnapshotError> {
        let Some(snapshot) = self.store.latest(tx, stream, at_or_below).await? else {
            return Ok(None);
        };
        let kind = stream.aggregate_type();
        if snapshot.state_version != self.policy.state_version {
            metrics::counter!(SNAPSHOTS_STALE, "aggregate_type" => kind.to_owned()).increment(1);
            if self.first_time(kind, snapshot.state_version) {
                tracing::warn!(
                    aggregate_type = kind,
                    stream = %stream,
                    found = snapshot.state_version,
                    expected = self.policy.state_version,
                    "ignoring snapshots of another state version: loading by full replay until \
                     new snapshots replace them"
                );
            }
            return Ok(None);
        }
        match (self.decode)(&snapshot.state) {
            Ok(state) => Ok(Some((snapshot.stream_version, state))),
            Err(err) => {
                metrics::counter!(SNAPSHOTS_UNDECODABLE, "aggregate_type" => kind.to_owned())
                    .increment(1);
                tracing::error!(
                    aggregate_type = kind,
                    stream = %stream,
                    stream_version = snapshot.stream_version,
                    state_version = snapshot.state_version,
                    error = %err,
                    "a snapshot of the expected state version did not deserialize: loading by \
                     full replay (did the state change without a new state version?)"
                );
                Ok(None)
            }
        }
    }

    /// Saves a snapshot [`encode`](Self::encode) made. A state that did not serialize, or
    /// serialized larger than [`MAX_SNAPSHOT_BYTES`], was logged and counted, and the command
    /// goes on without the snapshot: a snapshot is a cache, and a missing one never makes state
    /// wrong.
    pub(crate) async fn save(
        &self,
        tx: &mut D::Tx,
        snapshot: Option<Snapshot>,
    ) -> Result<(), SnapshotError> {
        let Some(snapshot) = snapshot else { return Ok(()) };
        self.store.save(tx, &snapshot).await?;
        let kind = snapshot.stream.aggregate_type().to_owned();
        metrics::counter!(SNAPSHOTS_WRITTEN, "aggregate_type" => kind).increment(1);
        Ok(())
    }

    /// The snapshot of `state`, the state of `stream` at `version`, to [`save`](Self::save).
    pub(crate) fn encode(&self, stream: &StreamId, version: u64, state: &S) -> Option<Snapshot> {
        let bytes = match (self.encode)(state) {
            Ok(bytes) if bytes.len() <= MAX_SNAPSHOT_BYTES => bytes,
            Ok(bytes) => {
                skipped(stream, version, "too_large", &format!("{} bytes", bytes.len()));
                return None;
            }
            Err(err) => {
                skipped(stream, version, "unencodable", &err.to_string());
                return None;
            }
        };
        Some(Snapshot::new(stream.clone(), version, self.policy.state_version, bytes))
    }

    fn first_time(&self, aggregate_type: &str, state_version: u32) -> bool {
        let mut warned = self.warned.lock().unwrap_or_else(PoisonError::into_inner);
        warned.insert((aggregate_type.to_owned(), state_version))
    }
}

fn skipped(stream: &StreamId, version: u64, reason: &'static str, detail: &str) {
    let kind = stream.aggregate_type();
    metrics::counter!(SNAPSHOTS_SKIPPED, "aggregate_type" => kind.to_owned(), "reason" => reason)
        .increment(1);
    tracing::error!(
        aggregate_type = kind,
        stream = %stream,
        stream_version = version,
        reason,
        detail,
        "no snapshot written: the aggregate state cannot be stored as one"
    );
}

#[cfg(test)]
mod tests;
