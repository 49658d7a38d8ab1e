//! Appending and reading typed events with any store.

use async_trait::async_trait;

use crate::typed::{DecodeError, EncodeError};
use crate::{
    AppendResult, Database, DomainEvent, EventStore, ExpectedVersion, PersistedEvent, StoreError,
    Stream, StreamId, Versions,
};

/// A decoded event with the envelope it was stored in (positions, ids, metadata, timestamps).
#[derive(Debug, Clone, PartialEq)]
pub struct Typed<E> {
    /// The decoded event.
    pub event: E,
    /// The stored event it was decoded from.
    pub persisted: PersistedEvent,
}

/// Why a typed append or read failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TypedError {
    /// An event did not encode (nothing was appended).
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// A stored event did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The snapshot store failed (an aggregate repository with snapshots).
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::SnapshotError),
}

impl TypedError {
    /// Whether retrying may succeed: only a retryable store or snapshot-store failure.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store(err) => err.is_retryable(),
            Self::Snapshot(err) => err.is_retryable(),
            Self::Encode(_) | Self::Decode(_) => false,
        }
    }
}

/// Typed appends and reads over any [`EventStore`], with a blanket implementation.
///
/// ```
/// # #[cfg(feature = "derive")] {
/// use pupsourcing::typed::TypedStoreExt;
/// use pupsourcing::{Database, DomainEvent, ExpectedVersion, StreamId, Versions};
///
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Deposited { cents: u64 }
///
/// #[derive(Debug, PartialEq, DomainEvent)]
/// enum AccountEvent {
///     #[event(name = "MoneyDeposited")]
///     Deposited(Deposited),
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let backend = pupsourcing_memory::open();
/// let (db, store) = (backend.database(), backend.store());
/// let account = StreamId::new("account", "a-1");
/// let mut tx = db.begin().await?;
/// let deposit = AccountEvent::Deposited(Deposited { cents: 500 });
/// store.append_typed(&mut tx, &account, ExpectedVersion::NoStream, &[deposit]).await?;
/// let read = store.read_typed::<AccountEvent>(&mut tx, &account, Versions::all()).await?;
/// assert_eq!(read[0].event, AccountEvent::Deposited(Deposited { cents: 500 }));
/// assert_eq!(read[0].persisted.aggregate_version, 1);
/// db.commit(tx).await?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # }
/// ```
#[async_trait]
pub trait TypedStoreExt<D: Database>: EventStore<D> {
    /// Encodes `events` for `stream` and appends them if the stream satisfies `expected`.
    async fn append_typed<E>(
        &self,
        tx: &mut D::Tx,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[E],
    ) -> Result<AppendResult, TypedError>
    where
        E: DomainEvent + Sync,
    {
        let encoded =
            events.iter().map(|event| event.to_event(stream)).collect::<Result<Vec<_>, _>>()?;
        Ok(self.append(tx, expected, encoded).await?)
    }

    /// Reads the events of `stream` in `versions` and decodes every one.
    async fn read_typed<E>(
        &self,
        tx: &mut D::Tx,
        stream: &StreamId,
        versions: Versions,
    ) -> Result<Vec<Typed<E>>, TypedError>
    where
        E: DomainEvent + Send,
    {
        decode_stream(self.read_stream(tx, stream, versions).await?)
    }
}

impl<D: Database, S: EventStore<D> + ?Sized> TypedStoreExt<D> for S {}

/// Decodes every event of `stream`.
pub(crate) fn decode_stream<E: DomainEvent>(stream: Stream) -> Result<Vec<Typed<E>>, TypedError> {
    stream
        .into_events()
        .into_iter()
        .map(|persisted| Ok(Typed { event: E::decode(&persisted)?, persisted }))
        .collect()
}
