//! Stream and global-log reads.

use std::sync::Arc;

use pupsourcing::{
    BackendError, BackendErrorKind, EventFilter, PersistedEvent, StoreError, Stream, StreamId,
    check_position,
};

use crate::MemoryTx;
use crate::state::State;

/// Copies `events` out of `state`, failing on the first one marked unreadable.
fn decoded<'a>(
    state: &State,
    events: impl Iterator<Item = &'a Arc<PersistedEvent>>,
) -> Result<Vec<PersistedEvent>, StoreError> {
    events
        .map(|e| {
            if state.unreadable.contains(&e.global_position) {
                return Err(StoreError::UnreadableEvent {
                    position: e.global_position,
                    source: BackendError::new(
                        BackendErrorKind::Data,
                        "decode",
                        "the event was marked unreadable with MemoryStore::make_unreadable",
                    ),
                });
            }
            Ok(PersistedEvent::clone(e))
        })
        .collect()
}

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
        let of_stream = state
            .events
            .iter()
            .filter(|e| &e.event.stream == stream && (from..=to).contains(&e.aggregate_version));
        decoded(state, of_stream)
    })?;
    Ok(Stream::new(stream.clone(), events))
}

pub(crate) fn read_events(
    tx: &MemoryTx,
    after: u64,
    limit: usize,
) -> Result<Vec<PersistedEvent>, StoreError> {
    check_position("after position", after)?;
    tx.read(|state| decoded(state, state.events[state.first_after(after)..].iter().take(limit)))
}

pub(crate) fn read_events_until(
    tx: &MemoryTx,
    after: u64,
    frontier: u64,
    filter: &EventFilter,
    limit: usize,
) -> Result<Vec<PersistedEvent>, StoreError> {
    check_position("after position", after)?;
    tx.read(|state| {
        let matching = state.events[state.first_after(after)..]
            .iter()
            .take_while(|e| e.global_position <= frontier)
            .filter(|e| filter.matches(&e.event))
            .take(limit);
        decoded(state, matching)
    })
}
