//! A consumer whose handler receives decoded events.

use std::marker::PhantomData;

use async_trait::async_trait;

use crate::typed::Typed;
use crate::{Consumer, Database, DomainEvent, EventFilter, HandlerError, PersistedEvent};

/// What a typed consumer does with each event: like [`Consumer`], with the event decoded.
#[async_trait]
pub trait TypedHandler<D: Database, E>: Send + Sync + 'static {
    /// The consumer's stable name (see [`Consumer::name`]).
    fn name(&self) -> &str;

    /// Into how many partitions to split the work (see [`Consumer::partitions`]). Default 1.
    fn partitions(&self) -> u32 {
        1
    }

    /// Handles one decoded event inside the batch transaction.
    async fn handle(&self, tx: &mut D::Tx, event: Typed<E>) -> Result<(), HandlerError>;

    /// Clears the read model before a rebuild (see [`Consumer::reset`]). Default: nothing.
    async fn reset(&self, _tx: &mut D::Tx) -> Result<(), HandlerError> {
        Ok(())
    }
}

/// Runs a [`TypedHandler`] as a [`Consumer`]: it reads only the enum's event types (in SQL,
/// from [`DomainEvent::filter`]) and decodes each before handing it over. An event that does not
/// decode, one written by a newer version of the code above all, fails its batch like a handler
/// error: the unit stops right before it and, once paused, waits for the newer code or an
/// operator; it is never skipped silently.
pub struct TypedConsumer<E, H> {
    handler: H,
    filter: EventFilter,
    _events: PhantomData<fn() -> E>,
}

impl<E: DomainEvent, H> TypedConsumer<E, H> {
    /// `handler` over the event types of `E`.
    pub fn new(handler: H) -> Self {
        Self { handler, filter: E::filter(), _events: PhantomData }
    }

    /// Reads only the events of streams in these bounded contexts; the event and aggregate
    /// types stay those of `E`.
    #[must_use]
    pub fn in_contexts<I, S>(mut self, contexts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.filter = self.filter.bounded_contexts(contexts);
        self
    }
}

#[async_trait]
impl<D, E, H> Consumer<D> for TypedConsumer<E, H>
where
    D: Database,
    E: DomainEvent + Send + 'static,
    H: TypedHandler<D, E>,
{
    fn name(&self) -> &str {
        self.handler.name()
    }

    fn filter(&self) -> EventFilter {
        self.filter.clone()
    }

    fn partitions(&self) -> u32 {
        self.handler.partitions()
    }

    async fn handle(&self, tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError> {
        let decoded = E::decode(event)?;
        self.handler.handle(tx, Typed { event: decoded, persisted: event.clone() }).await
    }

    async fn reset(&self, tx: &mut D::Tx) -> Result<(), HandlerError> {
        self.handler.reset(tx).await
    }
}
