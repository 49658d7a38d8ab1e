//! The disintegrate side: JSON events in `disintegrate_postgres::PgEventStore`, written by the
//! validated `EventStore::append` and read back, decoded, by `EventStore::stream`.
//! disintegrate has no streams, so a stream is the `order_id` domain identifier of the one event
//! type, and the version passed to an append is the id of the last event the caller saw.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use disintegrate::serde::json::Json;
use disintegrate::{Event, EventStore, StreamItem, StreamQuery};
use disintegrate_postgres::{PgEventId, PgEventStore};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::peer::{Batch, BoxError, Order, Peer};

/// The one event type; `order_id` is the domain identifier that stands for our stream.
#[derive(Event, Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OrderEvent {
    /// An order placed on the stream `order_id`.
    OrderPlaced {
        /// The stream.
        #[id]
        order_id: Uuid,
        /// The payload.
        order: Order,
    },
}

/// `event_store_begin_epoch()` with the low half of the sequence's last value masked by a decimal
/// literal, then the `order_id` column and its partial index as the migrator adds them: each
/// writer holds shared advisory locks on (database, 0), (1, low 32 bits) and (2, high 32 bits)
/// of the last event id, which `event_store_current_epoch()` reads as a pending write.
const BEGIN_EPOCH_ON_15: [&str; 3] = [
    "CREATE OR REPLACE FUNCTION event_store_begin_epoch() RETURNS void LANGUAGE plpgsql AS $body$
     DECLARE last_id bigint; this_db int;
     BEGIN
         SELECT last_value INTO last_id FROM seq_event_event_id;
         SELECT oid INTO this_db FROM pg_database WHERE datname = current_database();
         PERFORM pg_try_advisory_xact_lock_shared(this_db, 0);
         PERFORM pg_try_advisory_xact_lock_shared(1, (last_id & 4294967295)::bit(32)::integer);
         PERFORM pg_try_advisory_xact_lock_shared(2, (last_id >> 32)::bit(32)::integer);
     END $body$",
    "ALTER TABLE event ADD COLUMN IF NOT EXISTS order_id uuid",
    "CREATE INDEX IF NOT EXISTS idx_event_order_id ON event (order_id) WHERE order_id IS NOT NULL",
];

/// How often one append is retried after a serialization failure before the error stands.
const MAX_RETRIES: u32 = 50;

/// Where a stream stood after the last append this process made to it.
#[derive(Debug, Clone, Copy)]
struct Head {
    /// How many events the stream held.
    count: u64,
    /// The id of its last event.
    last_id: PgEventId,
}

/// A disintegrate PostgreSQL event store, with the head of every stream appended to through it.
#[derive(Clone)]
pub(crate) struct Disintegrate {
    store: PgEventStore<OrderEvent, Json<OrderEvent>>,
    heads: Arc<Mutex<HashMap<Uuid, Head>>>,
    retries: Arc<AtomicU64>,
}

impl Disintegrate {
    /// Connects to `url` and creates the store's schema (`PgEventStore::try_new` runs its
    /// migrator). On PostgreSQL 15, whose SQL has no hexadecimal integer literals, the migrator
    /// stops at `event_store_begin_epoch`, after the table and before the identifier column; the
    /// rest is created here as the crate's docs for `new_uninitialized` describe.
    pub(crate) async fn connect(url: &str) -> Result<Self, BoxError> {
        let pool = sqlx::PgPool::connect(url).await?;
        let store = match PgEventStore::try_new(pool.clone(), Json::default()).await {
            Ok(store) => store,
            Err(err) if err.to_string().contains("0xFFFFFFFF") => {
                for statement in BEGIN_EPOCH_ON_15 {
                    sqlx::query(statement).execute(&pool).await?;
                }
                PgEventStore::new_uninitialized(pool, Json::default())
            }
            Err(err) => return Err(err.into()),
        };
        Ok(Self { store, heads: Arc::default(), retries: Arc::default() })
    }

    /// The query selecting every event of `stream`.
    fn query(stream: Uuid) -> StreamQuery<PgEventId, OrderEvent> {
        disintegrate::query!(OrderEvent; order_id == stream)
    }

    /// Reads every event of `stream`, decoded; returns how many there were and the last one's id.
    async fn scan(&self, stream: Uuid) -> Result<(usize, PgEventId), BoxError> {
        let query = Self::query(stream);
        let mut items = self.store.stream(&query);
        let mut count = 0;
        let mut last_id = 0;
        while let Some(item) = items.try_next().await? {
            if let StreamItem::Event(event) = item {
                count += 1;
                last_id = event.id();
            }
        }
        Ok((count, last_id))
    }

    /// The head this process last recorded for `stream`.
    fn known_head(&self, stream: Uuid) -> Result<Option<Head>, BoxError> {
        let heads = self.heads.lock().map_err(|e| BoxError::from(e.to_string()))?;
        Ok(heads.get(&stream).copied())
    }

    /// Records `head` for `stream` unless a later one is already there.
    fn advance(&self, stream: Uuid, head: Head) -> Result<(), BoxError> {
        let mut heads = self.heads.lock().map_err(|e| BoxError::from(e.to_string()))?;
        let slot = heads.entry(stream).or_insert(head);
        if head.count > slot.count {
            *slot = head;
        }
        Ok(())
    }

    /// The last event id a caller that read `stream` at `version` events saw.
    async fn last_seen(&self, stream: Uuid, version: u64) -> Result<PgEventId, BoxError> {
        if version == 0 {
            return Ok(0);
        }
        let head = match self.known_head(stream)? {
            Some(head) if head.count >= version => head,
            // Appended to by another process: read it, as a user without cached state would.
            _ => {
                let (count, last_id) = self.scan(stream).await?;
                Head { count: u64::try_from(count)?, last_id }
            }
        };
        if head.count == version {
            Ok(head.last_id)
        } else if head.count > version {
            // The caller is stale; any id before the head makes the store report the conflict.
            Ok(0)
        } else {
            Err(BoxError::from(format!(
                "stream {stream} holds {} events, not {version}",
                head.count
            )))
        }
    }
}

/// A random pause of up to `attempt` milliseconds, so writers that failed each other do not
/// meet again at once.
fn backoff(attempt: u32) -> Duration {
    let jitter = u64::from(Uuid::new_v4().as_bytes()[0]) * 4;
    Duration::from_micros(jitter * u64::from(attempt.min(20)))
}

/// Whether `err` is a serialization failure, reported at commit (as a conflict) or by a
/// statement (as a database error).
fn serialization_failure(err: &disintegrate_postgres::Error) -> bool {
    match err {
        disintegrate_postgres::Error::Concurrency => true,
        disintegrate_postgres::Error::Database(sqlx::Error::Database(db)) => {
            db.code().as_deref() == Some("40001")
        }
        _ => false,
    }
}

impl Peer for Disintegrate {
    async fn append(&self, batch: Batch) -> Result<(), BoxError> {
        let Batch { stream, version, count, .. } = batch;
        // The store cannot build an insert of no events.
        if count == 0 {
            return Ok(());
        }
        let events: Vec<OrderEvent> = batch
            .orders()
            .map(|order| OrderEvent::OrderPlaced { order_id: stream, order })
            .collect();
        let mut attempt = 0;
        let persisted = loop {
            let last_seen = self.last_seen(stream, version).await?;
            match self.store.append(events.clone(), Self::query(stream), last_seen).await {
                // Appends run SERIALIZABLE, so writers of other streams fail each other; a
                // command handler retries them, and nothing else writes this stream.
                Err(err) if attempt < MAX_RETRIES && serialization_failure(&err) => {
                    attempt += 1;
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(backoff(attempt)).await;
                }
                result => break result?,
            }
        };
        let last_id = persisted
            .iter()
            .map(|event| event.id())
            .max()
            .ok_or_else(|| BoxError::from("the store returned no appended events"))?;
        self.advance(stream, Head { count: version + u64::try_from(count)?, last_id })
    }

    async fn load(&self, stream: Uuid) -> Result<usize, BoxError> {
        let (count, _) = self.scan(stream).await?;
        Ok(count)
    }

    fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}
