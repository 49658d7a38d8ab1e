//! The limit every side is measured against: a minimal hand-written event table (a position,
//! the stream and version unique, the event id unique, the payload as JSON) written with BEGIN,
//! one INSERT and COMMIT, and read with one SELECT, through sqlx's default pool.

use chrono::Utc;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::peer::{Batch, BoxError, Order, Peer};

const TABLE: &str = "CREATE TABLE IF NOT EXISTS raw_events (\
     position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, stream_id uuid NOT NULL, \
     version bigint NOT NULL, event_id uuid NOT NULL UNIQUE, event_type text NOT NULL, \
     payload jsonb NOT NULL, created_at timestamptz NOT NULL, UNIQUE (stream_id, version))";

const INSERT: &str = "INSERT INTO raw_events (stream_id, version, event_id, event_type, payload, \
     created_at) SELECT $1, v, id, 'Placed', p, $4 \
     FROM unnest($2::bigint[], $3::uuid[], $5::jsonb[]) AS u(v, id, p)";

const INSERT_ONE: &str = "INSERT INTO raw_events (stream_id, version, event_id, event_type, \
     payload, created_at) VALUES ($1, $2, $3, 'Placed', $5, $4)";

const SELECT: &str = "SELECT payload FROM raw_events WHERE stream_id = $1 ORDER BY version";

/// The raw table on a database of its own.
#[derive(Clone)]
pub(crate) struct Raw {
    pool: PgPool,
}

impl Raw {
    /// Connects with sqlx's defaults and creates the table.
    pub(crate) async fn connect(url: &str) -> Result<Self, BoxError> {
        let pool = PgPoolOptions::new().connect(url).await?;
        sqlx::query(TABLE).execute(&pool).await?;
        Ok(Self { pool })
    }
}

impl Peer for Raw {
    async fn append(&self, batch: Batch) -> Result<(), BoxError> {
        let start = i64::try_from(batch.version)?;
        let payloads = batch.orders().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?;
        let mut tx = self.pool.begin().await?;
        if let [payload] = payloads.as_slice() {
            sqlx::query(INSERT_ONE)
                .bind(batch.stream)
                .bind(start + 1)
                .bind(Uuid::now_v7())
                .bind(Utc::now())
                .bind(payload)
                .execute(&mut *tx)
                .await?;
        } else {
            let versions: Vec<i64> = (1..=i64::try_from(batch.count)?).map(|v| start + v).collect();
            sqlx::query(INSERT)
                .bind(batch.stream)
                .bind(versions)
                .bind((0..batch.count).map(|_| Uuid::now_v7()).collect::<Vec<_>>())
                .bind(Utc::now())
                .bind(payloads)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn load(&self, stream: Uuid) -> Result<usize, BoxError> {
        let rows: Vec<(sqlx::types::Json<Order>,)> =
            sqlx::query_as(SELECT).bind(stream).fetch_all(&self.pool).await?;
        Ok(rows.len())
    }
}
