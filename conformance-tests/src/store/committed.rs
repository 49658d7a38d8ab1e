//! Appends and stream reads without a caller transaction (`append_committed`,
//! `read_stream_committed`) behave exactly like the same calls inside one.

use pupsourcing::{
    AppendResult, Database, Event, EventStore, InputError, StoreError, StreamId, Versions,
};

use crate::StoreBackend;
use crate::support::{append_as_writer, event, events, global_log, read, unique_stream};
use pupsourcing::ExpectedVersion::{Any, Exact, NoStream};

/// What an append of `batch` came to, in a form two paths can be compared by: duplicates by
/// their indices in the batch, conflicts with the expectation they report.
fn outcome(batch: &[Event], result: &Result<AppendResult, StoreError>) -> String {
    match result {
        Ok(appended) => format!(
            "appended {}..={} ({} positions)",
            appended.from_version(),
            appended.to_version(),
            appended.global_positions().len()
        ),
        Err(StoreError::Conflict { stream, expected, actual }) => {
            assert_eq!(Some(stream), batch.first().map(|e| &e.stream), "the conflict's stream");
            format!("conflict at {actual}, expected {expected:?}")
        }
        Err(StoreError::DuplicateEventId { event_ids, .. }) => {
            let mut indices: Vec<usize> = event_ids
                .iter()
                .map(|id| batch.iter().position(|e| e.event_id == *id).expect("an id of the batch"))
                .collect();
            indices.sort_unstable();
            format!("duplicates at {indices:?}")
        }
        Err(StoreError::InvalidInput(InputError::EmptyAppend)) => "empty".to_owned(),
        Err(StoreError::InvalidInput(InputError::MixedStreams { index, .. })) => {
            format!("mixed streams at {index}")
        }
        Err(other) => panic!("unexpected error: {other:?}"),
    }
}

/// The same sequence of appends, once inside transactions and once with `append_committed`,
/// gives the same results and errors (conflicts, duplicates, bad input), stores the same
/// streams and leaves nothing behind when refused; the positions an append returns are the ones
/// stored; `read_stream_committed` reads exactly what `read_stream` reads, ranges included.
pub async fn committed_calls_match_transactional_ones<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let mut runs = Vec::new();
    for path in [0, 1] {
        let stream = unique_stream("paths");
        let bystander = unique_stream("paths");
        let first = events(&stream, 2);
        let mut replayed = event(&bystander, "fresh");
        replayed.event_id = first[1].event_id;
        let steps: Vec<(pupsourcing::ExpectedVersion, Vec<Event>)> = vec![
            (NoStream, first.clone()),
            (NoStream, vec![event(&stream, "again")]),
            (Exact(1), vec![event(&stream, "stale")]),
            (Exact(2), vec![event(&stream, "third")]),
            (Any, events(&stream, 2)),
            (Exact(5), first.clone()),
            (Any, Vec::new()),
            (Any, vec![event(&stream, "here"), event(&bystander, "there")]),
            (NoStream, vec![event(&bystander, "new"), replayed]),
        ];
        let mut outcomes = Vec::new();
        for (expected, batch) in steps {
            let result = append_as_writer(path, &db, &store, expected, batch.clone()).await;
            if let Ok(appended) = &result {
                let stored = read(&db, &store, &stream).await;
                let positions: Vec<u64> = stored
                    .iter()
                    .filter(|e| e.aggregate_version >= appended.from_version())
                    .filter(|e| e.aggregate_version <= appended.to_version())
                    .map(|e| e.global_position)
                    .collect();
                assert_eq!(positions, appended.global_positions(), "path {path}");
            }
            outcomes.push(outcome(&batch, &result));
        }
        assert!(read(&db, &store, &bystander).await.is_empty(), "path {path}: refused, not stored");
        runs.push((stream, outcomes));
    }
    let expected = [
        "appended 1..=2 (2 positions)",
        "conflict at 2, expected NoStream",
        "conflict at 2, expected Exact(1)",
        "appended 3..=3 (1 positions)",
        "appended 4..=5 (2 positions)",
        "duplicates at [0, 1]",
        "empty",
        "mixed streams at 1",
        "duplicates at [1]",
    ];
    for (stream, outcomes) in &runs {
        assert_eq!(outcomes, &expected, "{stream}: both paths give these outcomes");
        let stored = read(&db, &store, stream).await;
        assert_eq!(stored.last_read_version(), 5);
    }
    assert_eq!(global_log(&db, &store).await.len(), 10, "two streams of five events, nothing more");

    let (stream, _) = &runs[0];
    for versions in
        [Versions::all(), Versions::from(2..=4), Versions::from(4..), Versions::from(9..)]
    {
        let inside = read_range(&db, &store, stream, versions).await;
        let outside = store
            .read_stream_committed(&db, stream, versions)
            .await
            .expect("read_stream_committed");
        assert_eq!(outside.events(), inside.events(), "{versions:?}");
        assert_eq!(outside.id(), stream);
    }
    let unknown = unique_stream("nobody");
    let empty = store
        .read_stream_committed(&db, &unknown, Versions::all())
        .await
        .expect("an unknown stream reads as empty");
    assert!(empty.is_empty());
}

async fn read_range<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    stream: &StreamId,
    versions: Versions,
) -> pupsourcing::Stream {
    let mut tx = db.begin_read().await.expect("begin_read");
    let read = store.read_stream(&mut tx, stream, versions).await.expect("read_stream");
    db.rollback(tx).await.expect("rollback");
    read
}
