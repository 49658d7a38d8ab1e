use chrono::{DateTime, Utc};

use super::SnapshotError;
use crate::store::check_name;
use crate::{AppendLimits, MAX_POSITION, StreamId};

/// A stream's state after its events up to `stream_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The stream.
    pub stream: StreamId,
    /// The last event the state covers.
    pub stream_version: u64,
    /// The version of the state's own schema: a snapshot is used only by code that expects it.
    pub state_version: u32,
    /// The serialized state.
    pub state: Vec<u8>,
    /// When it was taken.
    pub taken_at: DateTime<Utc>,
}

impl Snapshot {
    /// A snapshot taken now.
    pub fn new(stream: StreamId, stream_version: u64, state_version: u32, state: Vec<u8>) -> Self {
        Self { stream, stream_version, state_version, state, taken_at: Utc::now() }
    }

    /// Checks what every adapter refuses before writing: a stream name no append would accept
    /// (empty, with a NUL character, too long) and a version outside `1..=MAX_POSITION`.
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
