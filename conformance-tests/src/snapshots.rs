//! Snapshot scenarios: the [`SnapshotStore`](pupsourcing::snapshot::SnapshotStore) contract, and
//! the aggregate repository on top of it (stale snapshots, equivalence with a full replay,
//! concurrency, deferred snapshots, crypto-shredding).

mod contract;
mod deferred;
mod ledger;
mod repository;
mod shredding;

pub use contract::snapshots_save_load_latest_and_delete;
pub use deferred::deferred_snapshots_follow_the_worker;
pub use repository::{
    concurrent_commands_with_snapshots_lose_nothing,
    idempotent_commands_are_recognised_behind_a_snapshot, snapshot_and_tail_equal_a_full_replay,
    stale_snapshots_are_ignored_never_misread,
};
pub use shredding::shredded_subjects_stay_erased_in_snapshots;
