//! What a read asks for: the versions of a stream ([`Versions`]), and for a read of the global log
//! ([`LogQuery`]) its bounds, its limit and a filter applied in SQL, so a consumer interested in
//! one aggregate type does not fetch (let alone decode) the rest of the log.

use std::ops::{Bound, RangeBounds};

/// Which versions of a stream to read, from any range of versions: `..` (all), `5..`, `..=10`,
/// `5..=10`, `5..11`. Versions start at 1.
///
/// ```
/// use pupsourcing::Versions;
///
/// assert_eq!(Versions::from(..), Versions::all());
/// assert_eq!(Versions::from(5..=10), Versions::from(5..11));
/// assert_eq!(Versions::from(3..).first(), 3);
/// assert_eq!(Versions::from(..=7).last(), Some(7));
/// assert!(Versions::from(4..4).is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Versions {
    first: u64,
    last: Option<u64>,
}

impl Versions {
    /// Every version.
    pub fn all() -> Self {
        Self { first: 1, last: None }
    }

    /// The lowest version to read (at least 1).
    pub fn first(&self) -> u64 {
        self.first
    }

    /// The highest version to read, inclusive; `None` reads to the end of the stream.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// Whether the range holds no version at all (`5..5`, `..0`).
    pub fn is_empty(&self) -> bool {
        self.last.is_some_and(|last| last < self.first)
    }
}

impl<R: RangeBounds<u64>> From<R> for Versions {
    fn from(range: R) -> Self {
        let first = match range.start_bound() {
            Bound::Included(&first) => first.max(1),
            Bound::Excluded(&after) => after.saturating_add(1).max(1),
            Bound::Unbounded => 1,
        };
        let last = match range.end_bound() {
            Bound::Included(&last) => Some(last),
            Bound::Excluded(&end) => Some(end.saturating_sub(1)),
            Bound::Unbounded => None,
        };
        Self { first, last }
    }
}

/// A read of the global log up to a bound: the events with `after < position <= up_to` that pass
/// a filter, oldest first, at most `limit` of them. With `up_to` the safe frontier, a reader that
/// continues after the last position it processed (or after `up_to` when nothing matched) sees
/// every event exactly once.
///
/// ```
/// use pupsourcing::{EventFilter, LogQuery};
///
/// let query = LogQuery::up_to(120).after(100).filter(EventFilter::all().aggregate_types(["order"])).limit(50);
/// assert_eq!((query.after_position(), query.up_to_position(), query.row_limit()), (100, 120, 50));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogQuery {
    after: u64,
    up_to: u64,
    filter: EventFilter,
    limit: usize,
}

impl LogQuery {
    /// How many events a query returns unless told otherwise.
    pub const DEFAULT_LIMIT: usize = 500;

    /// Events at or below `position` (typically the safe frontier), from the start of the log,
    /// unfiltered, at most [`DEFAULT_LIMIT`](Self::DEFAULT_LIMIT).
    pub fn up_to(position: u64) -> Self {
        Self { after: 0, up_to: position, filter: EventFilter::all(), limit: Self::DEFAULT_LIMIT }
    }

    /// Only events after `position` (exclusive): the reader's checkpoint.
    #[must_use]
    pub fn after(mut self, position: u64) -> Self {
        self.after = position;
        self
    }

    /// Only events that pass `filter`.
    #[must_use]
    pub fn filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }

    /// At most `limit` events; any `usize` is accepted.
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The exclusive lower bound.
    pub fn after_position(&self) -> u64 {
        self.after
    }

    /// The inclusive upper bound.
    pub fn up_to_position(&self) -> u64 {
        self.up_to
    }

    /// The filter.
    pub fn event_filter(&self) -> &EventFilter {
        &self.filter
    }

    /// The row limit.
    pub fn row_limit(&self) -> usize {
        self.limit
    }
}

/// Restricts a read of the global log to some aggregate types, bounded contexts and event types
/// (and, for the worker, one partition). An empty list means "any"; the lists combine with "and".
///
/// ```
/// use pupsourcing::EventFilter;
///
/// let filter = EventFilter::all().aggregate_types(["order", "invoice"]).bounded_contexts(["sales"]);
/// assert!(!filter.is_all());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct EventFilter {
    aggregate_types: Vec<String>,
    bounded_contexts: Vec<String>,
    event_types: Vec<String>,
    partition: Option<(u32, u32)>,
}

impl EventFilter {
    /// Every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only events of these aggregate types.
    #[must_use]
    pub fn aggregate_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.aggregate_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Only events of streams in these bounded contexts.
    #[must_use]
    pub fn bounded_contexts<I, S>(mut self, contexts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bounded_contexts = contexts.into_iter().map(Into::into).collect();
        self
    }

    /// Only events of these types (`Event::event_type`), in SQL: a consumer that handles a few
    /// types of a busy aggregate never fetches the rest.
    #[must_use]
    pub fn event_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.event_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Only streams of partition `index` out of `count` (see [`StreamId::partition`](crate::StreamId::partition)).
    /// A count of 0 or 1 means every stream.
    #[must_use]
    pub fn partition(mut self, index: u32, count: u32) -> Self {
        self.partition = (count > 1).then_some((index, count));
        self
    }

    /// The partition as `(index, count)`, if restricted.
    pub fn partition_of(&self) -> Option<(u32, u32)> {
        self.partition
    }

    /// The stream hashes the partition admits, if restricted: what a store compares its stored
    /// [`partition_hash`](crate::StreamId::partition_hash) with (see
    /// [`StreamId::partition_hashes`](crate::StreamId::partition_hashes)).
    pub fn partition_hashes(&self) -> Option<(u64, Option<u64>)> {
        self.partition.map(|(index, count)| crate::StreamId::partition_hashes(index, count))
    }

    /// The aggregate types (empty: any).
    pub fn aggregate_type_list(&self) -> &[String] {
        &self.aggregate_types
    }

    /// The bounded contexts (empty: any).
    pub fn bounded_context_list(&self) -> &[String] {
        &self.bounded_contexts
    }

    /// The event types (empty: any).
    pub fn event_type_list(&self) -> &[String] {
        &self.event_types
    }

    /// Whether the filter lets every event through.
    pub fn is_all(&self) -> bool {
        self.aggregate_types.is_empty()
            && self.bounded_contexts.is_empty()
            && self.event_types.is_empty()
            && self.partition.is_none()
    }

    /// Whether `event` passes the filter; adapters that filter in memory use this, SQL adapters
    /// express the same condition in their query.
    pub fn matches(&self, event: &crate::Event) -> bool {
        let stream = &event.stream;
        (self.aggregate_types.is_empty()
            || self.aggregate_types.iter().any(|t| t == stream.aggregate_type()))
            && (self.bounded_contexts.is_empty()
                || stream
                    .bounded_context()
                    .is_some_and(|c| self.bounded_contexts.iter().any(|b| b == c)))
            && (self.event_types.is_empty() || self.event_types.contains(&event.event_type))
            && self.partition.is_none_or(|(index, count)| stream.partition(count) == index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, StreamId};

    #[test]
    fn versions_follow_the_range_bounds_and_saturate() {
        assert_eq!(Versions::from(0..), Versions::all(), "version 0 does not exist");
        assert_eq!(Versions::from((Bound::Excluded(u64::MAX), Bound::Unbounded)).first(), u64::MAX);
        assert_eq!(Versions::from(..0).last(), Some(0));
        assert!(Versions::from(..0).is_empty());
        assert_eq!(Versions::from(2..=u64::MAX).last(), Some(u64::MAX));
        assert!(!Versions::from(5..=5).is_empty());
    }

    #[test]
    fn empty_lists_mean_any_and_contexts_exclude_context_free_streams() {
        let plain = Event::new(&StreamId::new("order", "1"), "E", Vec::new());
        let sales = Event::new(&StreamId::new("order", "1").in_context("sales"), "E", Vec::new());
        let invoice =
            Event::new(&StreamId::new("invoice", "1").in_context("sales"), "E", Vec::new());
        assert!(EventFilter::all().matches(&plain));
        let orders = EventFilter::all().aggregate_types(["order"]);
        assert!(orders.matches(&plain) && orders.matches(&sales) && !orders.matches(&invoice));
        let in_sales = EventFilter::all().bounded_contexts(["sales"]);
        assert!(
            !in_sales.matches(&plain) && in_sales.matches(&sales) && in_sales.matches(&invoice)
        );
        let partitioned = EventFilter::all().partition(sales.stream.partition(3), 3);
        assert!(partitioned.matches(&sales));
        let other = EventFilter::all().partition((sales.stream.partition(3) + 1) % 3, 3);
        assert!(!other.matches(&sales));
        assert!(EventFilter::all().partition(0, 1).is_all());
        let placed = EventFilter::all().event_types(["Placed"]);
        let mut order_placed = sales.clone();
        order_placed.event_type = "Placed".into();
        assert!(placed.matches(&order_placed) && !placed.matches(&sales) && !placed.is_all());
        let both = orders.bounded_contexts(["sales"]);
        assert!(both.matches(&sales) && !both.matches(&plain) && !both.matches(&invoice));
    }
}
