//! Store scenarios: the [`EventStore`](pupsourcing::EventStore) contract.

mod atomicity;
mod bad_input;
mod commands;
mod committed;
mod concurrency;
mod edges;
mod frontier;
mod global_log;
mod idempotency;
mod metadata;
mod model;
mod round_trip;
mod versions;

pub use atomicity::{
    failing_batch_stores_nothing, rolled_back_append_leaves_no_trace,
    uncommitted_writes_are_private,
};
pub use bad_input::bad_input_is_typed_and_changes_nothing;
pub use commands::concurrent_commands_on_one_aggregate_apply_exactly_once;
pub use committed::committed_calls_match_transactional_ones;
pub use concurrency::{
    concurrent_any_writers_all_succeed_without_gaps,
    concurrent_exact_writers_have_one_winner_per_version,
};
pub use edges::{reads_take_any_limit_and_bound, unreadable_event_is_reported_with_its_position};
pub use frontier::{
    late_commit_is_not_skipped, open_transaction_holds_the_frontier_back,
    racing_advancers_never_go_backwards, read_events_until_filters_and_bounds,
    read_events_until_filters_by_event_type, rolled_back_hole_is_passed,
    torture_readers_never_skip,
};
pub use global_log::global_log_is_ordered_and_pages;
pub use idempotency::{
    duplicate_event_id_is_reported_not_as_conflict, racing_retries_report_duplicates,
};
pub use metadata::{
    arbitrary_metadata_round_trips_exactly, awkward_numbers_keep_their_form,
    leap_seconds_fold_the_same_everywhere, too_deep_metadata_is_refused_and_changes_nothing,
};
pub use model::model_agrees_with_memory;
pub use round_trip::{
    bounded_contexts_separate_streams, large_payload_round_trips, random_events_round_trip,
    round_trip_preserves_every_field, unknown_stream_reads_as_empty,
};
pub use versions::{
    any_expectation, exact_expectation, no_stream_expectation,
    versions_are_contiguous_and_ranges_inclusive,
};
