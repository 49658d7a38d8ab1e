//! Streams: the per-aggregate sequences of the log.
//!
//! A stream is identified by an aggregate type and id, optionally qualified by a bounded context
//! so that two contexts may both have a `user/42` without sharing a history. Versions inside a
//! stream start at 1 and have no gaps; they are what optimistic concurrency checks against.

use std::fmt;

use crate::PersistedEvent;

/// Identity of a stream: (bounded context, aggregate type, aggregate id).
///
/// ```
/// use pupsourcing::StreamId;
///
/// let plain = StreamId::new("user", "42");
/// let scoped = StreamId::new("user", "42").in_context("billing");
/// assert_ne!(plain, scoped);
/// assert_eq!(scoped.to_string(), "billing/user/42");
/// assert_eq!(scoped.bounded_context(), Some("billing"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId {
    bounded_context: Option<String>,
    aggregate_type: String,
    aggregate_id: String,
}

impl StreamId {
    /// A stream outside any bounded context.
    pub fn new(aggregate_type: impl Into<String>, aggregate_id: impl Into<String>) -> Self {
        Self {
            bounded_context: None,
            aggregate_type: aggregate_type.into(),
            aggregate_id: aggregate_id.into(),
        }
    }

    /// The same stream qualified by a bounded context.
    #[must_use]
    pub fn in_context(mut self, bounded_context: impl Into<String>) -> Self {
        self.bounded_context = Some(bounded_context.into());
        self
    }

    /// Builds a stream id from its stored columns, where the bounded context column holds `""`
    /// for "no context". Adapters use this when decoding rows.
    pub fn from_columns(
        bounded_context: String,
        aggregate_type: String,
        aggregate_id: String,
    ) -> Self {
        Self {
            bounded_context: (!bounded_context.is_empty()).then_some(bounded_context),
            aggregate_type,
            aggregate_id,
        }
    }

    /// The bounded context, if any.
    pub fn bounded_context(&self) -> Option<&str> {
        self.bounded_context.as_deref()
    }

    /// The bounded context as stored: `""` for none. Validation refuses `Some("")`, so the
    /// mapping is one to one.
    pub fn bounded_context_column(&self) -> &str {
        self.bounded_context.as_deref().unwrap_or("")
    }

    /// The aggregate type, e.g. `"user"`.
    pub fn aggregate_type(&self) -> &str {
        &self.aggregate_type
    }

    /// The aggregate id, e.g. `"42"`.
    pub fn aggregate_id(&self) -> &str {
        &self.aggregate_id
    }

    /// A stable 63-bit hash of the stream's identity (FNV-1a over its three parts, then
    /// MurmurHash3's 64-bit finalizer so that the high bits, which pick the partition, depend on
    /// every byte), stored with every event. Partitioned consumers split the hashes into equal
    /// ranges (see [`partition`](Self::partition)), so all events of a stream land in one
    /// partition, identically in every process and backend. Stores written before the hash
    /// gained its finalizer hold other hashes: recreate them (pre-release change).
    pub fn partition_hash(&self) -> u64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let parts = [self.bounded_context_column(), &self.aggregate_type, &self.aggregate_id];
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                hash ^= 0xff;
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
            for byte in part.bytes() {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        hash ^= hash >> 33;
        hash & LARGEST_HASH
    }

    /// The partition (`0..partitions`) this stream belongs to; 0 when `partitions` is 0 or 1.
    ///
    /// Partition `i` of `n` holds the streams whose [`partition_hash`](Self::partition_hash) is
    /// in [`partition_hashes(i, n)`](Self::partition_hashes), the `i`-th of `n` equal ranges
    /// (`hash × n / 2⁶³`). A store selects a partition with a range condition on the stored hash,
    /// which a query planner can estimate from the column's statistics.
    pub fn partition(&self, partitions: u32) -> u32 {
        match partitions {
            0 | 1 => 0,
            n => {
                let scaled = (u128::from(self.partition_hash()) * u128::from(n)) >> 63;
                u32::try_from(scaled).unwrap_or(0)
            }
        }
    }

    /// The partition hashes of partition `index` out of `count`: from the first, inclusive, to
    /// the second, exclusive (`None` for the last partition: up to the largest hash). An
    /// `index` at or beyond `count` is an empty range.
    pub fn partition_hashes(index: u32, count: u32) -> (u64, Option<u64>) {
        let count = count.max(1);
        if index >= count {
            return (LARGEST_HASH, Some(LARGEST_HASH));
        }
        // ceil(i · 2⁶³ / count): the smallest hash h with h · count / 2⁶³ ≥ i; below 2⁶³ for i < count.
        let start = |i: u32| {
            let start = (u128::from(i) << 63).div_ceil(u128::from(count));
            u64::try_from(start).unwrap_or(LARGEST_HASH)
        };
        let end = (index + 1 < count).then(|| start(index + 1));
        (start(index), end)
    }
}

/// The largest [`StreamId::partition_hash`]: hashes have 63 bits, so they fit a signed 64-bit
/// column.
const LARGEST_HASH: u64 = 0x7fff_ffff_ffff_ffff;

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(context) = &self.bounded_context {
            write!(f, "{context}/")?;
        }
        write!(f, "{}/{}", self.aggregate_type, self.aggregate_id)
    }
}

/// The events of one stream, in version order, as returned by
/// [`EventStore::read_stream`](crate::EventStore::read_stream).
///
/// A stream that was never written reads as empty, with 0 as its last read version.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    id: StreamId,
    events: Vec<PersistedEvent>,
}

impl Stream {
    /// Wraps events already known to belong to `id`, in version order.
    pub fn new(id: StreamId, events: Vec<PersistedEvent>) -> Self {
        Self { id, events }
    }

    /// The stream's identity.
    pub fn id(&self) -> &StreamId {
        &self.id
    }

    /// The version of the last event *read*, or 0 if none was. Only for a read to the end of the
    /// stream ([`Versions::all`](crate::Versions::all), or a range without an upper bound) is
    /// this the stream's current version, the value to pass as
    /// [`ExpectedVersion::Exact`](crate::ExpectedVersion::Exact) on the next append; after a
    /// bounded read, ask [`EventStore::stream_version`](crate::EventStore::stream_version).
    pub fn last_read_version(&self) -> u64 {
        self.events.last().map_or(0, |e| e.aggregate_version)
    }

    /// Number of events read.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether no event was read.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The events, in version order.
    pub fn events(&self) -> &[PersistedEvent] {
        &self.events
    }

    /// Iterates over the events in version order.
    pub fn iter(&self) -> std::slice::Iter<'_, PersistedEvent> {
        self.events.iter()
    }

    /// Takes the events out.
    pub fn into_events(self) -> Vec<PersistedEvent> {
        self.events
    }
}

impl IntoIterator for Stream {
    type Item = PersistedEvent;
    type IntoIter = std::vec::IntoIter<PersistedEvent>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.into_iter()
    }
}

impl<'a> IntoIterator for &'a Stream {
    type Item = &'a PersistedEvent;
    type IntoIter = std::slice::Iter<'a, PersistedEvent>;

    fn into_iter(self) -> Self::IntoIter {
        self.events.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    #[test]
    fn column_mapping_round_trips_the_optional_context() {
        let plain = StreamId::new("t", "1");
        assert_eq!(plain.bounded_context_column(), "");
        assert_eq!(StreamId::from_columns(String::new(), "t".into(), "1".into()), plain);
        let scoped = plain.clone().in_context("ctx");
        assert_eq!(StreamId::from_columns("ctx".into(), "t".into(), "1".into()), scoped);
        assert_eq!(plain.to_string(), "t/1");
    }

    #[test]
    fn partition_hashes_are_stable_and_separate_the_parts() {
        assert_eq!(StreamId::new("user", "42").partition_hash(), 0x5762_5d0f_e6b3_1163);
        assert_ne!(
            StreamId::new("ab", "c").partition_hash(),
            StreamId::new("a", "bc").partition_hash()
        );
        assert_ne!(
            StreamId::new("t", "1").partition_hash(),
            StreamId::new("t", "1").in_context("x").partition_hash()
        );
        let spread: std::collections::HashSet<u32> =
            (0..200).map(|i| StreamId::new("t", i.to_string()).partition(8)).collect();
        assert_eq!(spread.len(), 8, "200 streams must reach every partition of 8");
        assert_eq!(StreamId::new("t", "1").partition(1), 0);
    }

    #[test]
    fn partitions_are_adjacent_hash_ranges_that_hold_their_streams() {
        for count in [2u32, 3, 7, 8, 1000] {
            let mut expected_start = 0;
            for index in 0..count {
                let (start, end) = StreamId::partition_hashes(index, count);
                assert_eq!(start, expected_start, "partition {index} of {count} leaves a gap");
                match end {
                    Some(end) => expected_start = end,
                    None => assert_eq!(index, count - 1, "only the last partition is open"),
                }
            }
        }
        for i in 0..500 {
            let stream = StreamId::new("t", i.to_string());
            for count in [2u32, 3, 8] {
                let index = stream.partition(count);
                let (start, end) = StreamId::partition_hashes(index, count);
                let hash = stream.partition_hash();
                assert!(
                    hash >= start && end.is_none_or(|end| hash < end),
                    "{stream} in {index}/{count}"
                );
            }
        }
        assert_eq!(StreamId::partition_hashes(0, 1), (0, None));
        assert_eq!(StreamId::partition_hashes(0, 0), (0, None));
        assert_eq!(StreamId::partition_hashes(0, 2), (0, Some(1 << 62)));
        let (start, end) = StreamId::partition_hashes(5, 3);
        assert_eq!(end, Some(start), "an index beyond the count holds nothing");
    }

    #[test]
    fn version_is_that_of_the_last_event() {
        let id = StreamId::new("t", "1");
        assert_eq!(Stream::new(id.clone(), Vec::new()).last_read_version(), 0);
        let events = (1..=3)
            .map(|v| PersistedEvent {
                event: Event::new(&id, "E", Vec::new()),
                global_position: v * 10,
                aggregate_version: v,
            })
            .collect();
        let stream = Stream::new(id, events);
        assert_eq!(stream.last_read_version(), 3);
        assert_eq!(stream.len(), 3);
        assert!(!stream.is_empty());
    }
}
