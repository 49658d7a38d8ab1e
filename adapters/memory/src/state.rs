//! The data of a memory database: what the tables of the SQL backends hold.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use pupsourcing::{PersistedEvent, StreamId};
use uuid::Uuid;

/// One consistent version of everything stored. Transactions that write work on a private copy
/// and swap it in on commit; events are shared behind `Arc`, so the copy is cheap.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub(crate) events: Vec<Arc<PersistedEvent>>,
    pub(crate) stream_heads: HashMap<StreamId, u64>,
    pub(crate) event_ids: HashSet<Uuid>,
}

impl State {
    pub(crate) fn latest_position(&self) -> u64 {
        self.events.last().map_or(0, |e| e.global_position)
    }

    /// Index of the first event with a position above `after` (positions are increasing).
    pub(crate) fn first_after(&self, after: u64) -> usize {
        self.events.partition_point(|e| e.global_position <= after)
    }
}
