//! The macros that turn the suite into named tests in an adapter's test target.

/// Generates one `#[tokio::test]` per store scenario, each named after its scenario.
///
/// `$backend` is an async function `fn(test_name: &'static str) -> impl StoreBackend`, called at
/// the start of every test (so each test can get its own database). The calling crate needs
/// `tokio` with the `macros` and `rt-multi-thread` features.
///
/// ```text
/// async fn backend(test_name: &'static str) -> MyBackend { MyBackend::new(test_name).await }
/// pupsourcing_conformance::store_suite!(backend);
/// ```
#[macro_export]
macro_rules! store_suite {
    ($backend:path) => {
        $crate::scenario_tests!($backend => store:
            round_trip_preserves_every_field,
            random_events_round_trip,
            large_payload_round_trips,
            unknown_stream_reads_as_empty,
            bounded_contexts_separate_streams,
            versions_are_contiguous_and_ranges_inclusive,
            no_stream_expectation,
            exact_expectation,
            any_expectation,
            concurrent_exact_writers_have_one_winner_per_version,
            concurrent_any_writers_all_succeed_without_gaps,
            duplicate_event_id_is_reported_not_as_conflict,
            racing_retries_report_duplicates,
            failing_batch_stores_nothing,
            rolled_back_append_leaves_no_trace,
            committed_calls_match_transactional_ones,
            uncommitted_writes_are_private,
            bad_input_is_typed_and_changes_nothing,
            global_log_is_ordered_and_pages,
            model_agrees_with_memory,
            late_commit_is_not_skipped,
            rolled_back_hole_is_passed,
            open_transaction_holds_the_frontier_back,
            torture_readers_never_skip,
            racing_advancers_never_go_backwards,
            read_events_until_filters_and_bounds,
            read_events_until_filters_by_event_type,
            concurrent_commands_on_one_aggregate_apply_exactly_once,
            arbitrary_metadata_round_trips_exactly,
            awkward_numbers_keep_their_form,
            too_deep_metadata_is_refused_and_changes_nothing,
            leap_seconds_fold_the_same_everywhere,
            reads_take_any_limit_and_bound,
            unreadable_event_is_reported_with_its_position,
        );
    };
}

/// Generates one test per listed scenario of module `$module`.
#[doc(hidden)]
#[macro_export]
macro_rules! scenario_tests {
    ($backend:path => $module:ident: $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $scenario() {
                let backend = $backend(stringify!($scenario)).await;
                $crate::$module::$scenario(&backend).await;
            }
        )*
    };
}

/// Generates one `#[tokio::test]` per worker scenario; `$backend` is as for [`store_suite!`] but
/// must return a [`WorkerBackend`](crate::WorkerBackend).
#[macro_export]
macro_rules! worker_suite {
    ($backend:path) => {
        $crate::scenario_tests!($backend => worker:
            one_node_runs_scoped_and_unscoped_consumers,
            failing_handler_pauses_only_its_unit,
            poison_event_stops_its_unit_right_before_it,
            unplaced_failure_is_found_one_event_at_a_time,
            unreadable_event_pauses_its_unit_and_can_be_skipped,
            transient_failures_never_pause_and_show_in_status,
            pause_waits_for_both_attempts_and_time,
            waiting_for_a_consumer_sees_its_writes_or_says_why,
            restart_resumes_and_rewind_and_rebuild_replay,
            scaling_up_and_down_keeps_exactly_once,
            killed_node_is_replaced_without_loss_or_duplicates,
            deposed_owner_cannot_commit,
            nodes_show_heartbeats_and_the_leader,
            graceful_shutdown_hands_units_over_at_once,
            partitioned_consumer_repartitions_without_skip_or_duplicate,
            repartition_drain_never_falls_below_a_checkpoint,
            late_commits_and_rollbacks_are_consumed_exactly_once,
        );
    };
}

/// Generates one `#[tokio::test]` per key-store and encryption scenario; `$backend` is as for
/// [`store_suite!`] but must return a [`KeysBackend`](crate::KeysBackend).
#[macro_export]
macro_rules! keys_suite {
    ($backend:path) => {
        $crate::scenario_tests!($backend => keys:
            fields_round_trip_from_empty_to_one_mebibyte,
            random_fields_round_trip,
            sealed_values_reveal_in_projections,
            every_bit_flip_is_an_integrity_failure,
            bound_fields_are_authenticated,
            swapped_key_row_is_a_binding_mismatch,
            missing_kek_is_unavailable_not_shredded,
            shredded_subjects_read_as_erased,
            shredding_reaches_other_processes_after_their_ttl,
            recreation_after_shredding_is_refused_unless_allowed,
            rotation_keeps_old_data_readable,
            rewrap_is_resumable_and_lets_the_old_kek_go,
            concurrent_first_uses_create_one_key,
            key_creation_commits_and_rolls_back_with_the_caller,
            explicit_creation_refuses_an_existing_key,
            key_store_contract,
            bad_key_input_is_typed_and_changes_nothing,
        );
    };
}

/// Generates one `#[tokio::test]` per snapshot scenario; `$backend` is as for [`store_suite!`]
/// but must return a [`SnapshotsBackend`](crate::SnapshotsBackend).
#[macro_export]
macro_rules! snapshots_suite {
    ($backend:path) => {
        $crate::scenario_tests!($backend => snapshots:
            snapshots_save_load_latest_and_delete,
            stale_snapshots_are_ignored_never_misread,
            snapshot_and_tail_equal_a_full_replay,
            concurrent_commands_with_snapshots_lose_nothing,
            idempotent_commands_are_recognised_behind_a_snapshot,
            deferred_snapshots_follow_the_worker,
            shredded_subjects_stay_erased_in_snapshots,
        );
    };
}
