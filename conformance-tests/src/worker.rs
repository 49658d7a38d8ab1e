//! Worker scenarios: the [`Worker`](pupsourcing::Worker) and [`Coordinator`](pupsourcing::Coordinator)
//! contract, with real nodes on one database.

mod basics;
mod cluster;
mod partitions;
pub(crate) mod support;
mod writers;

pub use basics::{
    failing_handler_pauses_only_its_unit, failing_mid_batch_rolls_back_the_whole_batch,
    one_node_runs_scoped_and_unscoped_consumers, restart_resumes_and_rewind_and_rebuild_replay,
};
pub use cluster::{
    deposed_owner_cannot_commit, graceful_shutdown_hands_units_over_at_once,
    killed_node_is_replaced_without_loss_or_duplicates, scaling_up_and_down_keeps_exactly_once,
};
pub use partitions::{
    partitioned_consumer_repartitions_without_skip_or_duplicate,
    repartition_drain_never_falls_below_a_checkpoint,
};
pub use writers::late_commits_and_rollbacks_are_consumed_exactly_once;
