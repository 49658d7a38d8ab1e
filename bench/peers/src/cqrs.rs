//! The cqrs-es side: events go through `postgres_es::PostgresEventRepository`, the repository
//! behind `PostgresCqrs`, by the calls the framework itself makes: `persist` for a command's
//! events (no snapshot) and `get_events` to rehydrate, with cqrs-es's own serialization
//! (`EventEnvelope` to and from `SerializedEvent`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use cqrs_es::event_sink::EventSink;
use cqrs_es::persist::{PersistedEventRepository, SerializedEvent};
use cqrs_es::{Aggregate, DomainEvent, EventEnvelope};
use postgres_es::PostgresEventRepository;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::peer::{Batch, BoxError, Order, Peer};

/// The `events` table of postgres-es's `db/init.sql`; the `snapshots` table is left out because
/// it is only needed when snapshotting, which this side does not use.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
)";

/// The domain event every stream holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum OrderEvent {
    /// An order was placed.
    Placed(Order),
}

impl DomainEvent for OrderEvent {
    fn event_type(&self) -> String {
        match self {
            Self::Placed(_) => "Placed".to_owned(),
        }
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// The aggregate the streams belong to; it only counts what was placed, so a load rehydrates it
/// the way `PersistedEventStore::load_aggregate` does.
#[derive(Debug, Default, Serialize, Deserialize)]
struct OrderStream {
    /// How many orders have been applied.
    placed: usize,
}

impl Aggregate for OrderStream {
    const TYPE: &'static str = "order";
    type Command = Order;
    type Event = OrderEvent;
    type Error = Infallible;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _service: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        sink.write(OrderEvent::Placed(command), self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            OrderEvent::Placed(_) => self.placed += 1,
        }
    }
}

/// cqrs-es over postgres-es on a database of its own.
#[derive(Clone)]
pub(crate) struct Cqrs {
    /// The repository, shared because `PostgresEventRepository` is not `Clone`.
    repo: Arc<PostgresEventRepository>,
}

impl Cqrs {
    /// Connects as postgres-es's `default_postgress_pool` does (sqlx's defaults, ten
    /// connections), returning the error where that helper panics, and creates the `events` table.
    pub(crate) async fn connect(url: &str) -> Result<Self, BoxError> {
        let pool = sqlx::PgPool::connect(url).await?;
        sqlx::query(SCHEMA).execute(&pool).await?;
        Ok(Self { repo: Arc::new(PostgresEventRepository::new(pool)) })
    }
}

impl Peer for Cqrs {
    async fn append(&self, batch: Batch) -> Result<(), BoxError> {
        let aggregate_id = batch.stream.to_string();
        let last_sequence = usize::try_from(batch.version)?;
        let mut events = Vec::with_capacity(batch.count);
        for (i, order) in batch.orders().enumerate() {
            let envelope = EventEnvelope::<OrderStream> {
                aggregate_id: aggregate_id.clone(),
                sequence: last_sequence + i + 1,
                payload: OrderEvent::Placed(order),
                metadata: HashMap::new(),
            };
            events.push(SerializedEvent::try_from(&envelope)?);
        }
        self.repo.persist::<OrderStream>(&events, None).await?;
        Ok(())
    }

    async fn load(&self, stream: Uuid) -> Result<usize, BoxError> {
        let serialized = self.repo.get_events::<OrderStream>(&stream.to_string()).await?;
        let mut aggregate = OrderStream::default();
        for event in serialized {
            aggregate.apply(EventEnvelope::<OrderStream>::try_from(event)?.payload);
        }
        Ok(aggregate.placed)
    }
}
