//! Application tables: what a projection writes in the batch transaction, for unit tests.
//!
//! A memory database also holds named tables of JSON rows keyed by strings. They live in the
//! same transactions as the events and checkpoints, so a projection under test commits or rolls
//! back with its batch exactly as it would on a SQL backend.

use pupsourcing::{BackendError, BackendErrorKind};
use serde_json::Value;

use crate::{MemoryDatabase, MemoryTx};

/// A row with this key already exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duplicate key {key:?} in table {table:?}")]
pub struct DuplicateKey {
    /// The table.
    pub table: String,
    /// The key.
    pub key: String,
}

impl MemoryTx {
    /// Inserts a row; fails with a [`DuplicateKey`] source (kind
    /// [`Data`](BackendErrorKind::Data)) if the key exists, like a primary key would.
    pub async fn insert(
        &mut self,
        table: &str,
        key: impl Into<String>,
        row: Value,
    ) -> Result<(), BackendError> {
        let key = key.into();
        let rows = self.write("insert").await?.tables.entry(table.to_owned()).or_default();
        if rows.contains_key(&key) {
            let source = DuplicateKey { table: table.to_owned(), key };
            return Err(BackendError::new(BackendErrorKind::Data, "insert", source));
        }
        rows.insert(key, row);
        Ok(())
    }

    /// Inserts or replaces a row.
    pub async fn upsert(
        &mut self,
        table: &str,
        key: impl Into<String>,
        row: Value,
    ) -> Result<(), BackendError> {
        self.write("upsert")
            .await?
            .tables
            .entry(table.to_owned())
            .or_default()
            .insert(key.into(), row);
        Ok(())
    }

    /// Removes every row of a table.
    pub async fn clear(&mut self, table: &str) -> Result<(), BackendError> {
        self.write("clear").await?.tables.remove(table);
        Ok(())
    }

    /// A row, as this transaction sees it.
    pub fn get(&self, table: &str, key: &str) -> Option<Value> {
        self.read(|state| state.tables.get(table).and_then(|rows| rows.get(key)).cloned())
    }

    /// Every row of a table in key order, as this transaction sees it.
    pub fn rows(&self, table: &str) -> Vec<(String, Value)> {
        self.read(|state| {
            state
                .tables
                .get(table)
                .map(|rows| rows.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        })
    }
}

impl MemoryDatabase {
    /// Every committed row of a table in key order.
    pub fn rows(&self, table: &str) -> Vec<(String, Value)> {
        self.committed()
            .tables
            .get(table)
            .map(|rows| rows.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use pupsourcing::Database;
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn rows_commit_and_roll_back_with_the_transaction() {
        let db = MemoryDatabase::new();
        let mut tx = db.begin().await.unwrap();
        tx.insert("t", "a", json!(1)).await.unwrap();
        assert_eq!(tx.get("t", "a"), Some(json!(1)));
        assert!(db.rows("t").is_empty(), "uncommitted rows are private");
        let duplicate = tx.insert("t", "a", json!(2)).await.unwrap_err();
        assert_eq!(duplicate.kind(), BackendErrorKind::Data);
        db.commit(tx).await.unwrap();
        let mut tx = db.begin().await.unwrap();
        tx.upsert("t", "b", json!(2)).await.unwrap();
        db.rollback(tx).await.unwrap();
        assert_eq!(db.rows("t"), vec![("a".to_owned(), json!(1))]);
        let mut tx = db.begin().await.unwrap();
        tx.clear("t").await.unwrap();
        db.commit(tx).await.unwrap();
        assert!(db.rows("t").is_empty());
    }
}
