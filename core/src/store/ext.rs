//! Conveniences over [`EventStore`], implemented once for every store.

use async_trait::async_trait;

use crate::{
    AppendResult, Database, Event, EventStore, ExpectedVersion, StoreError, Stream, StreamId,
    Versions,
};

/// Shortcuts built only from [`EventStore`] methods, with a blanket implementation so that no
/// adapter can implement them differently.
#[async_trait]
pub trait EventStoreExt<D: Database>: EventStore<D> {
    /// Appends a single event.
    async fn append_one(
        &self,
        tx: &mut D::Tx,
        expected: ExpectedVersion,
        event: Event,
    ) -> Result<AppendResult, StoreError> {
        self.append(tx, expected, vec![event]).await
    }

    /// Reads a whole stream.
    async fn read_full_stream(
        &self,
        tx: &mut D::Tx,
        stream: &StreamId,
    ) -> Result<Stream, StoreError> {
        self.read_stream(tx, stream, Versions::all()).await
    }

    /// Appends in a transaction of its own: begin, append, commit (rolled back on failure).
    /// For when no other write must share the commit.
    async fn append_committed(
        &self,
        db: &D,
        expected: ExpectedVersion,
        events: Vec<Event>,
    ) -> Result<AppendResult, StoreError> {
        let mut tx = db.begin().await?;
        match self.append(&mut tx, expected, events).await {
            Ok(result) => {
                db.commit(tx).await?;
                Ok(result)
            }
            Err(err) => {
                // The append error is what the caller needs; a failed rollback only means the
                // connection is already gone, which the append error reports too.
                let _ = db.rollback(tx).await;
                Err(err)
            }
        }
    }
}

impl<D: Database, S: EventStore<D> + ?Sized> EventStoreExt<D> for S {}

#[cfg(test)]
mod tests {
    use mockall::predicate::eq;

    use super::*;
    use crate::mock::{MockDatabase, MockEventStore, MockTx};
    use crate::{BackendError, BackendErrorKind, PersistedEvent};

    fn database(expect_commit: bool) -> MockDatabase {
        let mut db = MockDatabase::new();
        db.expect_begin().times(1).returning(|| Ok(MockTx));
        if expect_commit {
            db.expect_commit().times(1).returning(|_| Ok(()));
        } else {
            db.expect_rollback().times(1).returning(|_| Ok(()));
        }
        db
    }

    #[tokio::test]
    async fn append_committed_commits_on_success() {
        let stream = StreamId::new("t", "1");
        let event = Event::new(&stream, "E", Vec::new());
        let persisted =
            PersistedEvent { event: event.clone(), global_position: 7, aggregate_version: 1 };
        let mut store = MockEventStore::new();
        store
            .expect_append()
            .with(
                mockall::predicate::always(),
                eq(ExpectedVersion::NoStream),
                eq(vec![event.clone()]),
            )
            .times(1)
            .returning(move |_, _, _| {
                Ok(AppendResult::new(StreamId::new("t", "1"), vec![persisted.clone()]))
            });

        let result = store
            .append_committed(&database(true), ExpectedVersion::NoStream, vec![event])
            .await
            .unwrap();
        assert_eq!(result.global_positions(), vec![7]);
    }

    #[tokio::test]
    async fn append_committed_rolls_back_on_failure() {
        let stream = StreamId::new("t", "1");
        let mut store = MockEventStore::new();
        store.expect_append().times(1).returning(|_, _, _| {
            Err(BackendError::new(BackendErrorKind::Deadlock, "append", "victim").into())
        });

        let err = store
            .append_committed(
                &database(false),
                ExpectedVersion::Any,
                vec![Event::new(&stream, "E", Vec::new())],
            )
            .await
            .unwrap_err();
        assert!(err.is_retryable());
    }

    #[tokio::test]
    async fn shortcuts_delegate_to_the_port() {
        let stream = StreamId::new("t", "1");
        let mut store = MockEventStore::new();
        store
            .expect_read_stream()
            .withf(|_, s, versions| s.aggregate_id() == "1" && *versions == Versions::all())
            .times(1)
            .returning(|_, s, _| Ok(Stream::new(s.clone(), Vec::new())));
        let mut tx = MockTx;
        let read = store.read_full_stream(&mut tx, &stream).await.unwrap();
        assert!(read.is_empty());
    }
}
