//! The data of a memory database: what the tables of the SQL backends hold.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use pupsourcing::snapshot::Snapshot;
use pupsourcing::spi::{KeyId, NodeInfo, StoredKey, Transition};
use pupsourcing::{PersistedEvent, StreamId, UnitId};
use uuid::Uuid;

/// One consistent version of everything stored. Transactions that write work on a private copy
/// and swap it in on commit; events are shared behind `Arc`, so the copy is cheap.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub(crate) events: Vec<Arc<PersistedEvent>>,
    pub(crate) stream_heads: HashMap<StreamId, u64>,
    pub(crate) event_ids: HashSet<Uuid>,
    pub(crate) worker: WorkerState,
    pub(crate) keys: KeyState,
    pub(crate) tables: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    /// Snapshots by stream, then stream version.
    pub(crate) snapshots: BTreeMap<StreamId, BTreeMap<u64, Arc<Snapshot>>>,
    /// Positions marked with [`MemoryStore::make_unreadable`](crate::MemoryStore::make_unreadable).
    pub(crate) unreadable: HashSet<u64>,
}

/// The key store's tables: data keys in (scope, subject, version) order, and tombstones with
/// the highest destroyed version.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyState {
    pub(crate) keys: BTreeMap<KeyId, StoredKey>,
    pub(crate) tombstones: HashMap<(String, String), u32>,
}

/// The coordinator's tables.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkerState {
    pub(crate) nodes: BTreeMap<String, NodeRow>,
    pub(crate) leader: Option<LeaderRow>,
    pub(crate) consumers: BTreeMap<String, ConsumerRow>,
    pub(crate) units: BTreeMap<UnitId, UnitRow>,
}

#[derive(Debug, Clone)]
pub(crate) struct NodeRow {
    pub(crate) info: NodeInfo,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) heartbeat_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct LeaderRow {
    pub(crate) node_id: Option<String>,
    pub(crate) epoch: u64,
    pub(crate) expires_at: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct ConsumerRow {
    pub(crate) partitions: u32,
    pub(crate) transition: Option<Transition>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct UnitRow {
    pub(crate) owner: Option<String>,
    pub(crate) epoch: u64,
    pub(crate) checkpoint: u64,
    pub(crate) upto: Option<u64>,
    pub(crate) paused: bool,
    pub(crate) attempts: u32,
    pub(crate) last_error: Option<String>,
    pub(crate) failed_position: Option<u64>,
    pub(crate) skip_position: Option<u64>,
    pub(crate) failing_since: Option<chrono::DateTime<chrono::Utc>>,
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
