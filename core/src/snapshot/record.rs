use chrono::{DateTime, SubsecRound, Utc};

use super::SnapshotError;
use crate::store::check_name;
use crate::{AppendLimits, InputError, MAX_EVENT_VERSION, MAX_POSITION, StreamId};

/// The largest state a snapshot holds, in bytes: 512 MiB, the largest value every backend takes
/// as one parameter (PostgreSQL refuses 1 GiB).
pub const MAX_SNAPSHOT_BYTES: usize = 512 * 1024 * 1024;

/// A stream's state after its events up to `stream_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream.
    pub stream: StreamId,
    /// The last event the state covers.
    pub stream_version: u64,
    /// The version of the state's own schema (at most
    /// [`MAX_EVENT_VERSION`](crate::MAX_EVENT_VERSION)): a snapshot is used only by code that
    /// expects it.
    pub state_version: u32,
    /// The serialized state.
    pub state: Vec<u8>,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
}

impl Snapshot {
    /// A snapshot taken now (to the microsecond, the precision every backend stores).
    pub fn new(stream: StreamId, stream_version: u64, state_version: u32, state: Vec<u8>) -> Self {
        Self { stream, stream_version, state_version, state, taken_at: Utc::now().trunc_subsecs(6) }
    }

    /// Checks what every adapter refuses before writing: a stream name no append would accept
    /// (empty, with a NUL character, too long), a version outside `1..=MAX_POSITION` and a state
    /// larger than [`MAX_SNAPSHOT_BYTES`].
    pub fn check(&self) -> Result<(), SnapshotError> {
        let limits = AppendLimits::default();
        check_name("aggregate_type", self.stream.aggregate_type(), 0, &limits)?;
        check_name("aggregate_id", self.stream.aggregate_id(), 0, &limits)?;
        if let Some(context) = self.stream.bounded_context() {
            check_name("bounded_context", context, 0, &limits)?;
        }
        if self.stream_version == 0 || self.stream_version > MAX_POSITION {
            return Err(SnapshotError::OutOfRange { stream_version: self.stream_version });
        }
        if self.state_version > MAX_EVENT_VERSION {
            return Err(SnapshotError::InvalidInput(InputError::OutOfRange {
                what: "state version",
                value: u64::from(self.state_version),
            }));
        }
        if self.state.len() > MAX_SNAPSHOT_BYTES {
            return Err(SnapshotError::TooLarge {
                bytes: self.state.len(),
                max: MAX_SNAPSHOT_BYTES,
            });
        }
        Ok(())
    }
}

/// What the snapshots of one aggregate type hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotStats {
    /// How many snapshots.
    pub count: u64,
    /// The total size of their states, in bytes.
    pub state_bytes: u64,
}
