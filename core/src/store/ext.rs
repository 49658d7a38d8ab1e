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
}

impl<D: Database, S: EventStore<D> + ?Sized> EventStoreExt<D> for S {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{MockEventStore, MockTx};

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
