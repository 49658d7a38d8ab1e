//! What a consumer reads: a filter applied in SQL, so a consumer interested in one aggregate type
//! does not fetch (let alone decode) the rest of the log.

/// Restricts a read of the global log to some aggregate types and bounded contexts. An empty list
/// means "any".
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

    /// The aggregate types (empty: any).
    pub fn aggregate_type_list(&self) -> &[String] {
        &self.aggregate_types
    }

    /// The bounded contexts (empty: any).
    pub fn bounded_context_list(&self) -> &[String] {
        &self.bounded_contexts
    }

    /// Whether the filter lets every event through.
    pub fn is_all(&self) -> bool {
        self.aggregate_types.is_empty()
            && self.bounded_contexts.is_empty()
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
            && self.partition.is_none_or(|(index, count)| stream.partition(count) == index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, StreamId};

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
        let both = orders.bounded_contexts(["sales"]);
        assert!(both.matches(&sales) && !both.matches(&plain) && !both.matches(&invoice));
    }
}
