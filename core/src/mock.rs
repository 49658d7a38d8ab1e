//! [mockall] mocks of the ports, for unit tests of code built on them (feature `mock`).
//!
//! The mocks share one transaction type, [`MockTx`], so a test can wire a [`MockDatabase`] and a
//! [`MockEventStore`] together.

use async_trait::async_trait;

use crate::{
    AppendResult, BackendError, Event, EventFilter, ExpectedVersion, FrontierStatus,
    PersistedEvent, StoreError, Stream, StreamId,
};

/// The transaction of [`MockDatabase`]: an inert token.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MockTx;

mockall::mock! {
    /// A mocked [`Database`](crate::Database).
    pub Database {}

    impl Clone for Database {
        fn clone(&self) -> Self;
    }

    #[async_trait]
    impl crate::Database for Database {
        type Tx = MockTx;
        async fn begin(&self) -> Result<MockTx, BackendError>;
        async fn begin_read(&self) -> Result<MockTx, BackendError>;
        async fn commit(&self, tx: MockTx) -> Result<(), BackendError>;
        async fn rollback(&self, tx: MockTx) -> Result<(), BackendError>;
    }
}

mockall::mock! {
    /// A mocked [`EventStore`](crate::EventStore) over [`MockDatabase`].
    pub EventStore {}

    #[async_trait]
    impl crate::EventStore<MockDatabase> for EventStore {
        async fn append(
            &self,
            tx: &mut MockTx,
            expected: ExpectedVersion,
            events: Vec<Event>,
        ) -> Result<AppendResult, StoreError>;
        async fn read_stream(
            &self,
            tx: &mut MockTx,
            stream: &StreamId,
            from: Option<u64>,
            to: Option<u64>,
        ) -> Result<Stream, StoreError>;
        async fn stream_version(&self, tx: &mut MockTx, stream: &StreamId) -> Result<u64, StoreError>;
        async fn read_events(
            &self,
            tx: &mut MockTx,
            after: u64,
            limit: usize,
        ) -> Result<Vec<PersistedEvent>, StoreError>;
        async fn latest_position(&self, tx: &mut MockTx) -> Result<u64, StoreError>;
        async fn safe_frontier(&self, tx: &mut MockTx) -> Result<u64, StoreError>;
        async fn advance_frontier(&self) -> Result<FrontierStatus, StoreError>;
        async fn read_events_until(
            &self,
            tx: &mut MockTx,
            after: u64,
            frontier: u64,
            filter: &EventFilter,
            limit: usize,
        ) -> Result<Vec<PersistedEvent>, StoreError>;
    }
}
