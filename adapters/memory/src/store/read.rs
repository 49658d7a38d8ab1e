//! Stream and global-log reads.

use std::sync::Arc;

use pupsourcing::spi::check_position;
use pupsourcing::{
    BackendError, BackendErrorKind, LogQuery, PersistedEvent, StoreError, Stream, StreamId,
    Versions,
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
    versions: Versions,
) -> Result<Stream, StoreError> {
    let from = versions.first();
    let to = versions.last().unwrap_or(u64::MAX);
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
    query: &LogQuery,
) -> Result<Vec<PersistedEvent>, StoreError> {
    let (after, frontier) = (query.after_position(), query.up_to_position());
    let (filter, limit) = (query.event_filter(), query.row_limit());
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
