//! [mockall] mocks of the ports, for unit tests of code built on them (feature `mock`).
//!
//! The mocks share one transaction type, [`MockTx`], so a test can wire a [`MockDatabase`], a
//! [`MockEventStore`], a [`MockCoordinator`], a [`MockKeyStore`] and a [`MockSnapshotStore`]
//! together.

use std::time::Duration;

use async_trait::async_trait;

use crate::spi::{
    Assignment, Claim, FailureRecord, FailureReport, KeyId, KeyLookup, Lease, LiveNode, NewKey,
    NodeInfo, Plan, StoredKey, Topology, Wakeups,
};
use crate::{
    AppendResult, BackendError, EncryptionError, Event, ExpectedVersion, FrontierStatus, LogQuery,
    PersistedEvent, StoreError, Stream, StreamId, UnitId, UnitStatus, Versions, WorkerError,
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
        fn serializes_writers(&self) -> bool;
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
            versions: Versions,
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
            query: &LogQuery,
        ) -> Result<Vec<PersistedEvent>, StoreError>;
    }
}

mockall::mock! {
    /// A mocked [`Coordinator`](crate::spi::Coordinator) (its five roles) over [`MockDatabase`].
    pub Coordinator {}

    #[async_trait]
    impl crate::spi::Membership for Coordinator {
        async fn heartbeat(&self, node: &NodeInfo) -> Result<(), WorkerError>;
        async fn leave(&self, node_id: &str) -> Result<(), WorkerError>;
        async fn live_nodes(&self, timeout: Duration) -> Result<Vec<LiveNode>, WorkerError>;
    }

    #[async_trait]
    impl crate::spi::Leadership for Coordinator {
        async fn acquire_lease(&self, node_id: &str, duration: Duration) -> Result<Option<Lease>, WorkerError>;
        async fn release_lease(&self, lease: &Lease) -> Result<(), WorkerError>;
    }

    #[async_trait]
    impl crate::spi::Assignments for Coordinator {
        async fn topology(&self) -> Result<Topology, WorkerError>;
        async fn apply_plan(&self, lease: &Lease, plan: &Plan) -> Result<bool, WorkerError>;
        async fn assignments_of(&self, node_id: &str) -> Result<Vec<Assignment>, WorkerError>;
        async fn release_units(&self, node_id: &str) -> Result<(), WorkerError>;
    }

    #[async_trait]
    impl crate::spi::Batches<MockDatabase> for Coordinator {
        async fn begin_batch(&self, tx: &mut MockTx, unit: &UnitId, node_id: &str, epoch: u64) -> Result<Claim, WorkerError>;
        async fn commit_batch(
            &self,
            tx: &mut MockTx,
            unit: &UnitId,
            node_id: &str,
            epoch: u64,
            checkpoint: u64,
        ) -> Result<bool, WorkerError>;
        async fn record_failure(
            &self,
            unit: &UnitId,
            failure: &FailureReport,
        ) -> Result<FailureRecord, WorkerError>;
        async fn clear_failures(&self, unit: &UnitId) -> Result<(), WorkerError>;
        fn wakeups(&self) -> Wakeups;
    }

    #[async_trait]
    impl crate::spi::Operations<MockDatabase> for Coordinator {
        async fn status(&self) -> Result<Vec<UnitStatus>, WorkerError>;
        async fn nodes(&self) -> Result<Vec<crate::spi::NodeStatus>, WorkerError>;
        async fn set_paused(&self, consumer: &str, partition: Option<u32>, paused: bool) -> Result<usize, WorkerError>;
        async fn skip_failed(&self, consumer: &str, partition: Option<u32>) -> Result<Vec<u64>, WorkerError>;
        async fn reset_checkpoints(&self, tx: &mut MockTx, consumer: &str, position: u64) -> Result<(), WorkerError>;
    }
}

mockall::mock! {
    /// A mocked [`KeyStore`](crate::spi::KeyStore) over [`MockDatabase`].
    pub KeyStore {}

    #[async_trait]
    impl crate::spi::KeyStore<MockDatabase> for KeyStore {
        async fn lock_subject(&self, tx: &mut MockTx, scope: &str, subject: &str) -> Result<KeyLookup, EncryptionError>;
        async fn current(&self, tx: &mut MockTx, scope: &str, subject: &str) -> Result<KeyLookup, EncryptionError>;
        async fn get(&self, tx: &mut MockTx, id: &KeyId) -> Result<KeyLookup, EncryptionError>;
        async fn insert(&self, tx: &mut MockTx, key: &NewKey) -> Result<StoredKey, EncryptionError>;
        async fn destroy(&self, tx: &mut MockTx, scope: &str, subject: &str) -> Result<u64, EncryptionError>;
        async fn wrapped_by_other(
            &self,
            tx: &mut MockTx,
            kek_id: &str,
            after: Option<KeyId>,
            limit: usize,
        ) -> Result<Vec<StoredKey>, EncryptionError>;
        async fn rewrap(&self, tx: &mut MockTx, id: &KeyId, wrapped: &[u8], kek_id: &str) -> Result<bool, EncryptionError>;
    }
}

mockall::mock! {
    /// A mocked [`SnapshotStore`](crate::snapshot::SnapshotStore) over [`MockDatabase`].
    pub SnapshotStore {}

    #[async_trait]
    impl crate::snapshot::SnapshotStore<MockDatabase> for SnapshotStore {
        async fn save(
            &self,
            tx: &mut MockTx,
            snapshot: &crate::snapshot::Snapshot,
        ) -> Result<(), crate::snapshot::SnapshotError>;
        async fn latest(
            &self,
            tx: &mut MockTx,
            stream: &StreamId,
            at_or_below: u64,
        ) -> Result<Option<crate::snapshot::Snapshot>, crate::snapshot::SnapshotError>;
        async fn delete_stream(
            &self,
            tx: &mut MockTx,
            stream: &StreamId,
        ) -> Result<u64, crate::snapshot::SnapshotError>;
        async fn delete_aggregate_type(
            &self,
            tx: &mut MockTx,
            aggregate_type: &str,
        ) -> Result<u64, crate::snapshot::SnapshotError>;
        async fn stats(
            &self,
            tx: &mut MockTx,
            aggregate_type: &str,
        ) -> Result<crate::snapshot::SnapshotStats, crate::snapshot::SnapshotError>;
    }
}
