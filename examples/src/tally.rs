//! A read model the smaller examples share: how many events of each key (their aggregate type,
//! or their event type) a consumer has handled, one row per key, written in the batch
//! transaction with plain SQL.

use pupsourcing::async_trait;
use pupsourcing::{BoxError, Consumer, EventFilter, HandlerError, PersistedEvent};

use crate::sql::{SqlDatabase, Value};

/// What a [`Tally`] counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountBy {
    /// The stream's aggregate type.
    AggregateType,
    /// The event type.
    EventType,
}

/// A consumer that counts the events it handles into `tally_<name> (label, events)`.
#[derive(Debug, Clone)]
pub struct Tally {
    name: String,
    filter: EventFilter,
    by: CountBy,
    partitions: u32,
}

impl Tally {
    /// A tally named `name` (its consumer name and table suffix) of every event, by `by`.
    pub fn new(name: &str, by: CountBy) -> Self {
        Self { name: name.to_owned(), filter: EventFilter::all(), by, partitions: 1 }
    }

    /// Splits the work into `partitions` units, which the leader spreads over the nodes.
    #[must_use]
    pub fn with_partitions(mut self, partitions: u32) -> Self {
        self.partitions = partitions;
        self
    }

    /// Counts only what `filter` lets through (in SQL, before the consumer sees anything).
    #[must_use]
    pub fn with_filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }

    /// The table.
    pub fn table(&self) -> String {
        format!("tally_{}", self.name.replace('-', "_"))
    }

    /// Creates the table (every backend accepts the DDL).
    pub async fn create_table<D: SqlDatabase>(&self, db: &D) -> Result<(), BoxError> {
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {} (label VARCHAR(255) PRIMARY KEY, events BIGINT NOT NULL)",
            self.table()
        );
        db.execute_committed(ddl).await?;
        Ok(())
    }

    /// The committed counts, by key in key order.
    pub async fn counts<D: SqlDatabase>(&self, db: &D) -> Result<Vec<(String, u64)>, BoxError> {
        let sql =
            format!("SELECT label, {} FROM {} ORDER BY label", D::as_text("events"), self.table());
        let mut counts = Vec::new();
        for row in db.query_committed(sql, Vec::new()).await? {
            if let [Some(key), Some(events)] = row.as_slice() {
                counts.push((key.clone(), events.parse()?));
            }
        }
        Ok(counts)
    }
}

#[async_trait]
impl<D: SqlDatabase> Consumer<D> for Tally {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> EventFilter {
        self.filter.clone()
    }

    fn partitions(&self) -> u32 {
        self.partitions
    }

    async fn handle(&self, tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError> {
        let key = match self.by {
            CountBy::AggregateType => event.stream().aggregate_type(),
            CountBy::EventType => event.event_type(),
        };
        let table = self.table();
        let sql = format!(
            "INSERT INTO {table} (label, events) VALUES ({}, 1) {}",
            D::placeholder(1),
            D::on_conflict_add_one(&table, "label", "events")
        );
        D::execute(tx, sql, vec![Value::from(key)]).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut D::Tx) -> Result<(), HandlerError> {
        D::execute(tx, format!("DELETE FROM {}", self.table()), Vec::new()).await?;
        Ok(())
    }
}
