//! The esrs side: one aggregate type whose events land in the `order_events` table of
//! `esrs::store::postgres::PgStore`. Appends go through `EventStore::persist` (the commit path of
//! `AggregateManager::handle_command`), loads through `EventStore::by_aggregate_id`.

use std::convert::Infallible;

use ::esrs::store::EventStore;
use ::esrs::store::postgres::{PgStore, PgStoreBuilder};
use ::esrs::{Aggregate, AggregateState};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::peer::{Batch, BoxError, Order, Peer};

/// The one domain event: an order was placed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OrderEvent {
    /// The order document.
    Placed(Order),
}

/// A stream of orders; it keeps no state, since the benchmark only appends and counts.
pub(crate) struct Orders;

impl Aggregate for Orders {
    const NAME: &'static str = "order";
    type State = ();
    type Command = Vec<Order>;
    type Event = OrderEvent;
    type Error = Infallible;

    fn handle_command(
        _state: &Self::State,
        command: Self::Command,
    ) -> Result<Vec<Self::Event>, Self::Error> {
        Ok(command.into_iter().map(OrderEvent::Placed).collect())
    }

    fn apply_event(state: Self::State, _payload: Self::Event) -> Self::State {
        state
    }
}

/// The esrs store under test; `PgStore` is an `Arc` inside, so clones share one pool.
#[derive(Clone)]
pub(crate) struct Esrs {
    store: PgStore<Orders>,
}

impl Esrs {
    /// Connects to `url` and builds the store, which runs its migrations (table and indexes).
    pub(crate) async fn connect(url: &str) -> Result<Self, BoxError> {
        let pool = sqlx::PgPool::connect(url).await?;
        let store = PgStoreBuilder::<Orders>::new(pool).try_build().await?;
        Ok(Self { store })
    }
}

impl Peer for Esrs {
    async fn append(&self, batch: Batch) -> Result<(), BoxError> {
        let version = i32::try_from(batch.version)?;
        // AggregateState has no public setter for the sequence number; advancing it by hand
        // positions it at `version` without loading the stream. The unique index on
        // (aggregate_id, sequence_number) then rejects the append if the stream has moved on.
        let mut state = AggregateState::<()>::with_id(batch.stream);
        for _ in 0..version {
            state.next_sequence_number();
        }
        let events: Vec<OrderEvent> = batch.orders().map(OrderEvent::Placed).collect();
        self.store.persist(&mut state, events).await?;
        Ok(())
    }

    async fn load(&self, stream: Uuid) -> Result<usize, BoxError> {
        Ok(self.store.by_aggregate_id(stream).await?.len())
    }
}
