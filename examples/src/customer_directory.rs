//! A read model of customers with a blind index on their email.
//!
//! The projection decrypts personal fields as it handles events and stores them in the clear
//! in its own table (which can be deleted and rebuilt at any time), next to an HMAC blind hash
//! of the email so a customer can be found by email without scanning. Erased customers are
//! stored as `[erased]` with no hash: they can no longer be found, and a rebuild reproduces
//! exactly that, because their events no longer decrypt.

use std::sync::Arc;

use pupsourcing::async_trait;
use pupsourcing::encryption::{BlindIndex, Encryptor, Revealed};
use pupsourcing::spi::KeyStore;
use pupsourcing::{BoxError, Consumer, EventFilter, HandlerError, PersistedEvent};

use crate::customers::{self, CustomerEvent, normalize_email};
use crate::sql::{SqlDatabase, Value};

/// The consumer's name.
pub const NAME: &str = "customer-directory";

/// What an erased customer's personal fields read as.
pub const REDACTED: &str = "[erased]";

const EMAIL_PURPOSE: &str = "customer-email";

/// One row of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRow {
    /// The customer id.
    pub id: String,
    /// The name, or [`REDACTED`].
    pub name: String,
    /// The email, or [`REDACTED`].
    pub email: String,
    /// The country.
    pub country: String,
}

/// The `customer_directory` projection.
pub struct CustomerDirectory<D: pupsourcing::Database, K> {
    table: String,
    encryptor: Encryptor<D, K>,
    index: Arc<BlindIndex>,
}

impl<D: pupsourcing::Database, K> Clone for CustomerDirectory<D, K> {
    fn clone(&self) -> Self {
        Self {
            table: self.table.clone(),
            encryptor: self.encryptor.clone(),
            index: Arc::clone(&self.index),
        }
    }
}

impl<D: SqlDatabase, K: KeyStore<D>> CustomerDirectory<D, K> {
    /// The projection in table `<prefix>customer_directory`.
    pub fn new(prefix: &str, encryptor: Encryptor<D, K>, index: Arc<BlindIndex>) -> Self {
        Self { table: format!("{prefix}customer_directory"), encryptor, index }
    }

    /// The statements creating the table and its blind-index index (PostgreSQL, SQLite and
    /// MariaDB accept them; MySQL 8 has no `CREATE INDEX IF NOT EXISTS`).
    pub fn schema(&self) -> [String; 2] {
        [
            format!(
                "CREATE TABLE IF NOT EXISTS {} (customer_id VARCHAR(255) PRIMARY KEY, \
                 name TEXT NOT NULL, email TEXT NOT NULL, email_hash VARCHAR(255), \
                 country TEXT NOT NULL)",
                self.table
            ),
            format!(
                "CREATE INDEX IF NOT EXISTS customer_directory_email_hash_idx ON {} (email_hash)",
                self.table
            ),
        ]
    }

    /// Every customer, by id.
    pub async fn rows(&self, db: &D) -> Result<Vec<CustomerRow>, BoxError> {
        let sql = format!(
            "SELECT customer_id, name, email, country FROM {} ORDER BY customer_id",
            self.table
        );
        db.query_committed(sql, Vec::new()).await?.into_iter().map(customer_row).collect()
    }

    /// The customer with this email, found through the blind index (with every active
    /// blind-index key, so look-ups keep working while that key rotates).
    pub async fn find_by_email(
        &self,
        db: &D,
        email: &str,
    ) -> Result<Option<CustomerRow>, BoxError> {
        let hashes = self.index.hashes_for_lookup(EMAIL_PURPOSE, normalize_email(email).as_bytes());
        let marks: Vec<String> = (1..=hashes.len()).map(D::placeholder).collect();
        let sql = format!(
            "SELECT customer_id, name, email, country FROM {} WHERE email_hash IN ({})",
            self.table,
            marks.join(", ")
        );
        let params = hashes.iter().map(|hash| Value::Text(hash.to_string())).collect();
        let mut rows = db.query_committed(sql, params).await?.into_iter();
        rows.next().map(customer_row).transpose()
    }

    /// A revealed email with its blind hash, or the redaction with none.
    fn email_columns(&self, email: Revealed<String>) -> (Value, Value) {
        match email {
            Revealed::Plain(email) => {
                let hash = self.index.hash(EMAIL_PURPOSE, email.as_bytes()).to_string();
                (Value::Text(email), Value::Text(hash))
            }
            Revealed::Shredded => (REDACTED.into(), Value::Null),
        }
    }
}

fn customer_row(row: Vec<Option<String>>) -> Result<CustomerRow, BoxError> {
    let [Some(id), Some(name), Some(email), Some(country)] =
        <[Option<String>; 4]>::try_from(row).map_err(|_| "a customer row has four columns")?
    else {
        return Err("a customer row has a NULL".into());
    };
    Ok(CustomerRow { id, name, email, country })
}

#[async_trait]
impl<D: SqlDatabase, K: KeyStore<D>> Consumer<D> for CustomerDirectory<D, K> {
    fn name(&self) -> &str {
        NAME
    }

    fn filter(&self) -> EventFilter {
        EventFilter::all().aggregate_types(["customer"])
    }

    async fn handle(&self, tx: &mut D::Tx, event: &PersistedEvent) -> Result<(), HandlerError> {
        let id = event.stream().aggregate_id();
        let mark = D::placeholder;
        let (sql, params) = match event.decode_json::<CustomerEvent>()? {
            CustomerEvent::CustomerRegistered { name, email, country } => {
                let customer = customers::subject(id)?;
                let mut revealing = self.encryptor.within(tx);
                let name = revealing.reveal(&customer, "name", &name).await?;
                let email = revealing.reveal(&customer, "email", &email).await?;
                let (email, hash) = self.email_columns(email);
                let name = Value::Text(name.unwrap_or(REDACTED.to_owned()));
                (
                    format!(
                        "INSERT INTO {} (customer_id, name, email, email_hash, country) \
                         VALUES ({}, {}, {}, {}, {})",
                        self.table,
                        mark(1),
                        mark(2),
                        mark(3),
                        mark(4),
                        mark(5)
                    ),
                    vec![id.into(), name, email, hash, country.into()],
                )
            }
            CustomerEvent::EmailChanged { email } => {
                let customer = customers::subject(id)?;
                let email = self.encryptor.within(tx).reveal(&customer, "email", &email).await?;
                let (email, hash) = self.email_columns(email);
                (
                    format!(
                        "UPDATE {} SET email = {}, email_hash = {} WHERE customer_id = {}",
                        self.table,
                        mark(1),
                        mark(2),
                        mark(3)
                    ),
                    vec![email, hash, id.into()],
                )
            }
            CustomerEvent::CustomerErased => (
                format!(
                    "UPDATE {} SET name = {}, email = {}, email_hash = NULL \
                     WHERE customer_id = {}",
                    self.table,
                    mark(1),
                    mark(2),
                    mark(3)
                ),
                vec![REDACTED.into(), REDACTED.into(), id.into()],
            ),
        };
        D::execute(tx, sql, params).await?;
        Ok(())
    }

    async fn reset(&self, tx: &mut D::Tx) -> Result<(), HandlerError> {
        D::execute(tx, format!("DELETE FROM {}", self.table), Vec::new()).await?;
        Ok(())
    }
}
