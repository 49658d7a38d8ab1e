//! Appending under the single-writer lock.

use std::sync::Arc;

use pupsourcing::spi::prepare_append;
use pupsourcing::{AppendLimits, AppendResult, Event, ExpectedVersion, PersistedEvent, StoreError};

use crate::MemoryTx;

pub(crate) async fn append(
    tx: &mut MemoryTx,
    limits: &AppendLimits,
    expected: ExpectedVersion,
    mut events: Vec<Event>,
) -> Result<AppendResult, StoreError> {
    let stream = prepare_append(&mut events, expected, limits)?;
    let state = tx.write("append").await?;

    let duplicates: Vec<_> =
        events.iter().map(|e| e.event_id).filter(|id| state.event_ids.contains(id)).collect();
    if !duplicates.is_empty() {
        return Err(StoreError::DuplicateEventId { stream, event_ids: duplicates });
    }
    let current = state.stream_heads.get(&stream).copied().unwrap_or(0);
    if !expected.admits(current) {
        return Err(StoreError::Conflict { stream, expected, actual: current });
    }

    let first_position = state.latest_position() + 1;
    let persisted: Vec<PersistedEvent> = (0u64..)
        .zip(events)
        .map(|(offset, event)| PersistedEvent {
            event,
            global_position: first_position + offset,
            aggregate_version: current + 1 + offset,
        })
        .collect();
    let result = AppendResult::new(stream.clone(), persisted);
    state.event_ids.extend(result.events().iter().map(|e| e.event.event_id));
    state.events.extend(result.events().iter().cloned().map(Arc::new));
    state.stream_heads.insert(stream, result.to_version());
    Ok(result)
}
