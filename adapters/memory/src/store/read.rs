//! Stream and global-log reads.

use pupsourcing::{EventFilter, PersistedEvent, StoreError, Stream, StreamId, check_position};

use crate::MemoryTx;

pub(crate) fn read_stream(
    tx: &MemoryTx,
    stream: &StreamId,
    from: Option<u64>,
    to: Option<u64>,
) -> Result<Stream, StoreError> {
    let from = from.unwrap_or(1);
    let to = to.unwrap_or(u64::MAX);
    check_position("from version", from)?;
    let events = tx.read(|state| {
        state
            .events
            .iter()
            .filter(|e| &e.event.stream == stream && (from..=to).contains(&e.aggregate_version))
            .map(|e| PersistedEvent::clone(e))
            .collect()
    });
    Ok(Stream::new(stream.clone(), events))
}

pub(crate) fn read_events(
    tx: &MemoryTx,
    after: u64,
    limit: usize,
) -> Result<Vec<PersistedEvent>, StoreError> {
    check_position("after position", after)?;
    Ok(tx.read(|state| {
        state.events[state.first_after(after)..]
            .iter()
            .take(limit)
            .map(|e| PersistedEvent::clone(e))
            .collect()
    }))
}

pub(crate) fn read_events_until(
    tx: &MemoryTx,
    after: u64,
    frontier: u64,
    filter: &EventFilter,
    limit: usize,
) -> Result<Vec<PersistedEvent>, StoreError> {
    check_position("after position", after)?;
    check_position("frontier", frontier)?;
    Ok(tx.read(|state| {
        state.events[state.first_after(after)..]
            .iter()
            .take_while(|e| e.global_position <= frontier)
            .filter(|e| filter.matches(&e.event))
            .take(limit)
            .map(|e| PersistedEvent::clone(e))
            .collect()
    }))
}
