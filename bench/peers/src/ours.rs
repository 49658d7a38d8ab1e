//! pupsourcing's side: the PostgreSQL store through its own connect helper, either in the
//! caller's transactions (append between `begin` and `commit`, load in a read transaction), as a
//! command that writes more than events would, or without one (`append_committed`, one
//! autocommit statement; `read_stream_committed`, one statement on a pooled connection).

use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId, Versions};
use pupsourcing_postgres::{PgDatabase, PostgresStore, PostgresStoreConfig};
use uuid::Uuid;

use crate::peer::{Batch, BoxError, Order, Peer};

/// How the store appends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum How {
    /// `begin`, `append`, `commit`; `begin_read`, `read_stream`, `rollback`.
    Transaction,
    /// `append_committed`; `read_stream_committed`.
    Committed,
}

/// The store on a database of its own.
#[derive(Clone)]
pub(crate) struct Ours {
    db: PgDatabase,
    store: PostgresStore,
    how: How,
}

impl Ours {
    /// Connects (ten connections, as sqlx's default pool) and migrates; `notify: false` is a
    /// store configured `without_notify` (consumers then poll).
    pub(crate) async fn connect(url: &str, how: How, notify: bool) -> Result<Self, BoxError> {
        let db = PgDatabase::connect(url, 10).await?;
        let config = PostgresStoreConfig::default();
        let config = if notify { config } else { config.without_notify() };
        let store = PostgresStore::with_config(&db, config);
        store.migrate().await?;
        Ok(Self { db, store, how })
    }
}

fn stream_id(stream: Uuid) -> StreamId {
    StreamId::new("order", stream.to_string())
}

impl Peer for Ours {
    async fn append(&self, batch: Batch) -> Result<(), BoxError> {
        let id = stream_id(batch.stream);
        let expected = match batch.version {
            0 => ExpectedVersion::NoStream,
            version => ExpectedVersion::Exact(version),
        };
        let events = batch
            .orders()
            .map(|order| Event::json(&id, "Placed", &order))
            .collect::<Result<Vec<_>, _>>()?;
        match self.how {
            How::Transaction => {
                let mut tx = self.db.begin().await?;
                self.store.append(&mut tx, expected, events).await?;
                self.db.commit(tx).await?;
            }
            How::Committed => {
                self.store.append_committed(&self.db, expected, events).await?;
            }
        }
        Ok(())
    }

    async fn load(&self, stream: Uuid) -> Result<usize, BoxError> {
        let (id, all) = (stream_id(stream), Versions::all());
        let read = match self.how {
            How::Transaction => {
                let mut tx = self.db.begin_read().await?;
                let read = self.store.read_stream(&mut tx, &id, all).await;
                self.db.rollback(tx).await?;
                read?
            }
            How::Committed => self.store.read_stream_committed(&self.db, &id, all).await?,
        };
        let mut count = 0;
        for event in read.iter() {
            let _: Order = serde_json::from_slice(&event.event.payload)?;
            count += 1;
        }
        Ok(count)
    }
}
