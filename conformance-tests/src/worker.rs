//! Worker scenarios: the [`Worker`](pupsourcing::Worker) and [`Coordinator`](pupsourcing::spi::Coordinator)
//! contract, with real nodes on one database.

mod basics;
mod cluster;
mod failures;
mod partitions;
pub(crate) mod support;
mod writers;

pub use basics::{
    failing_handler_pauses_only_its_unit, one_node_runs_scoped_and_unscoped_consumers,
    restart_resumes_and_rewind_and_rebuild_replay,
};
pub use cluster::{
    deposed_owner_cannot_commit, graceful_shutdown_hands_units_over_at_once,
    killed_node_is_replaced_without_loss_or_duplicates, nodes_show_heartbeats_and_the_leader,
    scaling_up_and_down_keeps_exactly_once,
};
pub use failures::{
    pause_waits_for_both_attempts_and_time, poison_event_stops_its_unit_right_before_it,
    transient_failures_never_pause_and_show_in_status,
    unplaced_failure_is_found_one_event_at_a_time,
    unreadable_event_pauses_its_unit_and_can_be_skipped,
    waiting_for_a_consumer_sees_its_writes_or_says_why,
};
pub use partitions::{
    partitioned_consumer_repartitions_without_skip_or_duplicate,
    repartition_drain_never_falls_below_a_checkpoint,
};
pub use writers::late_commits_and_rollbacks_are_consumed_exactly_once;
