//! The worker's `metrics` names, recorded through the `metrics` facade: install any recorder
//! (Prometheus, StatsD, ...) to export them.

use std::time::Duration;

use crate::{FrontierStatus, UnitId};

/// Counter: events handled, labelled by consumer.
pub const EVENTS_HANDLED: &str = "pupsourcing_events_handled_total";
/// Histogram: seconds per committed batch, labelled by consumer.
pub const BATCH_DURATION: &str = "pupsourcing_batch_duration_seconds";
/// Gauge: positions between the frontier and a unit's checkpoint, labelled by consumer and
/// partition.
pub const CONSUMER_LAG: &str = "pupsourcing_consumer_lag";
/// Gauge: positions between the latest event and the safe frontier.
pub const FRONTIER_LAG: &str = "pupsourcing_frontier_lag";
/// Gauge: open holes above the frontier.
pub const FRONTIER_OPEN_HOLES: &str = "pupsourcing_frontier_open_holes";
/// Gauge: age in seconds of the oldest open hole.
pub const FRONTIER_OLDEST_HOLE: &str = "pupsourcing_frontier_oldest_hole_seconds";
/// Counter: handler failures, labelled by consumer.
pub const HANDLER_FAILURES: &str = "pupsourcing_handler_failures_total";
/// Counter: units paused after repeated failures, labelled by consumer.
pub const UNITS_PAUSED: &str = "pupsourcing_units_paused_total";
/// Counter: plans written by a leader.
pub const REBALANCES: &str = "pupsourcing_rebalances_total";
/// Counter: times this node became leader.
pub const LEADER_CHANGES: &str = "pupsourcing_leader_changes_total";

pub(crate) fn batch(unit: &UnitId, events: usize, duration: Duration, lag: u64) {
    let consumer = unit.consumer.clone();
    metrics::counter!(EVENTS_HANDLED, "consumer" => consumer.clone())
        .increment(u64::try_from(events).unwrap_or(0));
    metrics::histogram!(BATCH_DURATION, "consumer" => consumer.clone())
        .record(duration.as_secs_f64());
    metrics::gauge!(CONSUMER_LAG, "consumer" => consumer, "partition" => unit.partition.to_string())
        .set(lag_value(lag));
}

pub(crate) fn failure(unit: &UnitId, paused: bool) {
    metrics::counter!(HANDLER_FAILURES, "consumer" => unit.consumer.clone()).increment(1);
    if paused {
        metrics::counter!(UNITS_PAUSED, "consumer" => unit.consumer.clone()).increment(1);
    }
}

pub(crate) fn frontier(status: &FrontierStatus) {
    metrics::gauge!(FRONTIER_LAG).set(lag_value(status.lag()));
    metrics::gauge!(FRONTIER_OPEN_HOLES)
        .set(lag_value(u64::try_from(status.open_holes.len()).unwrap_or(u64::MAX)));
    metrics::gauge!(FRONTIER_OLDEST_HOLE)
        .set(status.oldest_hole_age().unwrap_or_default().as_secs_f64());
}

pub(crate) fn rebalance() {
    metrics::counter!(REBALANCES).increment(1);
}

pub(crate) fn leader_change() {
    metrics::counter!(LEADER_CHANGES).increment(1);
}

/// Gauges take `f64`; positions beyond 2^53 lose precision, which a gauge can afford.
fn lag_value(value: u64) -> f64 {
    let high = u32::try_from(value >> 32).unwrap_or(u32::MAX);
    let low = u32::try_from(value & 0xffff_ffff).unwrap_or(u32::MAX);
    f64::from(high) * 4_294_967_296.0 + f64::from(low)
}

#[cfg(test)]
mod tests {
    #[test]
    fn gauge_values_cover_the_whole_u64_range() {
        assert_eq!(super::lag_value(7), 7.0);
        assert_eq!(super::lag_value(1 << 40), 1_099_511_627_776.0);
    }
}
