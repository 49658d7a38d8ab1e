//! Which store calls a command makes, seen through a store that records them.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::*;
use crate::mock::{MockDatabase, MockTx};
use crate::typed::{DecodeFailure, EncodeError, EventTypeInfo};
use crate::{Event, FrontierStatus, LogQuery, PersistedEvent, Stream};

#[derive(Debug, PartialEq)]
struct Added;

impl DomainEvent for Added {
    const AGGREGATE_TYPE: Option<&'static str> = None;
    const TYPES: &'static [EventTypeInfo] = &[];

    fn event_type(&self) -> &'static str {
        "Added"
    }

    fn event_version(&self) -> u32 {
        1
    }

    fn encode_payload(&self) -> Result<Vec<u8>, EncodeError> {
        Ok(Vec::new())
    }

    fn decode_payload(_: &str, _: u32, _: &[u8]) -> Result<Self, DecodeFailure> {
        Ok(Added)
    }
}

/// One stored event per stream; records each call by name.
#[derive(Clone, Default)]
struct Recording {
    calls: Arc<Mutex<Vec<&'static str>>>,
}

impl Recording {
    fn record(&self, call: &'static str) {
        self.calls.lock().expect("not poisoned").push(call);
    }

    fn calls(&self) -> Vec<&'static str> {
        self.calls.lock().expect("not poisoned").clone()
    }

    fn stream(stream: &StreamId) -> Stream {
        let event = Event::new(stream, "Added", Vec::new());
        Stream::new(
            stream.clone(),
            vec![PersistedEvent { event, global_position: 1, aggregate_version: 1 }],
        )
    }

    fn appended(events: Vec<Event>) -> AppendResult {
        let stream = events[0].stream.clone();
        let persisted = events
            .into_iter()
            .map(|event| PersistedEvent { event, global_position: 2, aggregate_version: 2 })
            .collect();
        AppendResult::new(stream, persisted)
    }
}

#[async_trait]
impl EventStore<MockDatabase> for Recording {
    async fn append(
        &self,
        _: &mut MockTx,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        assert_eq!(expected, ExpectedVersion::Exact(1));
        self.record("append");
        Ok(Self::appended(events))
    }

    async fn read_stream(
        &self,
        _: &mut MockTx,
        stream: &StreamId,
        _: Versions,
    ) -> Result<Stream, StoreError> {
        self.record("read_stream");
        Ok(Self::stream(stream))
    }

    async fn append_committed(
        &self,
        _: &MockDatabase,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        assert_eq!(expected, ExpectedVersion::Exact(1));
        self.record("append_committed");
        Ok(Self::appended(events))
    }

    async fn read_stream_committed(
        &self,
        _: &MockDatabase,
        stream: &StreamId,
        _: Versions,
    ) -> Result<Stream, StoreError> {
        self.record("read_stream_committed");
        Ok(Self::stream(stream))
    }

    async fn stream_version(&self, _: &mut MockTx, _: &StreamId) -> Result<u64, StoreError> {
        unimplemented!("not used by commands")
    }

    async fn read_events(
        &self,
        _: &mut MockTx,
        _: u64,
        _: usize,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        unimplemented!("not used by commands")
    }

    async fn latest_position(&self, _: &mut MockTx) -> Result<u64, StoreError> {
        unimplemented!("not used by commands")
    }

    async fn safe_frontier(&self, _: &mut MockTx) -> Result<u64, StoreError> {
        unimplemented!("not used by commands")
    }

    async fn advance_frontier(&self) -> Result<FrontierStatus, StoreError> {
        unimplemented!("not used by commands")
    }

    async fn read_events_until(
        &self,
        _: &mut MockTx,
        _: &LogQuery,
    ) -> Result<Vec<PersistedEvent>, StoreError> {
        unimplemented!("not used by commands")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

fn repository(
    db: MockDatabase,
    store: &Recording,
) -> Repository<
    MockDatabase,
    Recording,
    impl Decider<Command = (), Event = Added, Error = Never, State = u64>,
> {
    let counter = crate::aggregate::decider(
        || 0u64,
        |count, _: &Added| count + 1,
        |_: &u64, (): &()| Ok::<_, Never>(vec![Added]),
    );
    let mut db_handle = MockDatabase::new();
    db_handle.expect_clone().return_once(move || db);
    Repository::new(&Backend::from_parts(db_handle, store.clone(), (), ()), counter)
}

/// Without snapshots written in the command, a command loads and appends through the calls
/// that need no transaction (the mocked database has no `begin` to call).
#[tokio::test]
async fn a_command_that_only_appends_takes_no_transaction() {
    let store = Recording::default();
    let mut db = MockDatabase::new();
    db.expect_serializes_writers().return_const(false);
    let executed = repository(db, &store)
        .execute(&StreamId::new("counter", "1"), &())
        .await
        .expect("executed");
    assert_eq!((executed.version, executed.attempts), (2, 1));
    assert_eq!(store.calls(), ["read_stream_committed", "append_committed"]);
}

/// A command in the caller's transaction reads and appends in it.
#[tokio::test]
async fn a_command_in_a_transaction_stays_in_it() {
    let store = Recording::default();
    let mut tx = MockTx;
    let executed = repository(MockDatabase::new(), &store)
        .execute_in(&mut tx, &StreamId::new("counter", "1"), &())
        .await
        .expect("executed");
    assert_eq!(executed.version, 2);
    assert_eq!(store.calls(), ["read_stream", "append"]);
}

/// On a database whose writers queue on `begin` (SQLite), a command runs in one write
/// transaction, so concurrent commands wait for each other instead of conflicting.
#[tokio::test]
async fn a_command_on_a_serializing_database_runs_in_a_transaction() {
    let store = Recording::default();
    let mut db = MockDatabase::new();
    db.expect_serializes_writers().return_const(true);
    db.expect_begin().times(1).returning(|| Ok(MockTx));
    db.expect_commit().times(1).returning(|_| Ok(()));
    let executed = repository(db, &store)
        .execute(&StreamId::new("counter", "1"), &())
        .await
        .expect("executed");
    assert_eq!(executed.version, 2);
    assert_eq!(store.calls(), ["read_stream", "append"]);
}
