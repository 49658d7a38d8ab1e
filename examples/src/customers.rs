//! A customer domain whose personal data is encrypted per customer.
//!
//! Names and emails travel in events as [`Pii<String>`], sealed with the customer's own data
//! key. Erasing a customer (GDPR article 17) appends a `CustomerErased` fact and destroys the
//! key in the same transaction: the events stay, their personal fields become unreadable
//! everywhere, and projections rebuilt from them show the customer as erased.

use pupsourcing::encryption::{Encryptor, Pii, Subject};
use pupsourcing::spi::KeyStore;
use pupsourcing::{
    AppendResult, BoxError, Database, EncryptionError, Event, EventStore, ExpectedVersion, StreamId,
};
use serde::{Deserialize, Serialize};

/// The key scope of customers' data keys.
pub const SCOPE: &str = "customers";

/// The facts about a customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CustomerEvent {
    /// A customer signed up.
    CustomerRegistered {
        /// Full name (personal data).
        name: Pii<String>,
        /// Contact address, normalized (personal data).
        email: Pii<String>,
        /// Country of residence (not personal on its own; stays readable).
        country: String,
    },
    /// A customer changed their address.
    EmailChanged {
        /// The new address, normalized (personal data).
        email: Pii<String>,
    },
    /// The customer's personal data was erased on request.
    CustomerErased,
}

impl CustomerEvent {
    /// The event type stored with the event.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::CustomerRegistered { .. } => "CustomerRegistered",
            Self::EmailChanged { .. } => "EmailChanged",
            Self::CustomerErased => "CustomerErased",
        }
    }

    fn to_event(&self, id: &str) -> Result<Event, serde_json::Error> {
        Event::json(&stream(id), self.event_type(), self)
    }
}

/// A customer's stream.
pub fn stream(id: &str) -> StreamId {
    StreamId::new("customer", id)
}

/// The form emails are sealed and indexed in, so look-ups ignore case and spaces.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Registers a customer. The customer's data key (created on first use), the sealed fields
/// and the event commit in one transaction, or none of them does.
pub async fn register<D, S, K>(
    db: &D,
    store: &S,
    encryptor: &Encryptor<D, K>,
    id: &str,
    name: &str,
    email: &str,
    country: &str,
) -> Result<AppendResult, BoxError>
where
    D: Database,
    S: EventStore<D>,
    K: KeyStore<D>,
{
    let customer = subject(id)?;
    let mut tx = db.begin().await?;
    let mut sealing = encryptor.within(&mut tx);
    let name = sealing.seal(&customer, "name", &name.to_owned()).await?;
    let email = sealing.seal(&customer, "email", &normalize_email(email)).await?;
    let event = CustomerEvent::CustomerRegistered { name, email, country: country.to_owned() };
    let appended =
        store.append(&mut tx, ExpectedVersion::NoStream, vec![event.to_event(id)?]).await?;
    db.commit(tx).await?;
    Ok(appended)
}

/// The customer `id` as a data subject of the customers' key scope.
pub fn subject(id: &str) -> Result<Subject, EncryptionError> {
    Subject::new(SCOPE, id)
}

/// Records a new email address.
pub async fn change_email<D, S, K>(
    db: &D,
    store: &S,
    encryptor: &Encryptor<D, K>,
    id: &str,
    email: &str,
) -> Result<AppendResult, BoxError>
where
    D: Database,
    S: EventStore<D>,
    K: KeyStore<D>,
{
    let mut tx = db.begin().await?;
    let email =
        encryptor.within(&mut tx).seal(&subject(id)?, "email", &normalize_email(email)).await?;
    let event = CustomerEvent::EmailChanged { email };
    let appended = store.append(&mut tx, ExpectedVersion::Any, vec![event.to_event(id)?]).await?;
    db.commit(tx).await?;
    Ok(appended)
}

/// Erases a customer: appends `CustomerErased` and destroys the customer's keys in one
/// transaction. Returns how many key versions were destroyed.
pub async fn erase<D, S, K>(
    db: &D,
    store: &S,
    encryptor: &Encryptor<D, K>,
    id: &str,
) -> Result<u64, BoxError>
where
    D: Database,
    S: EventStore<D>,
    K: KeyStore<D>,
{
    let mut tx = db.begin().await?;
    store
        .append(&mut tx, ExpectedVersion::Any, vec![CustomerEvent::CustomerErased.to_event(id)?])
        .await?;
    let destroyed = encryptor.within(&mut tx).shred(&subject(id)?).await?;
    db.commit(tx).await?;
    Ok(destroyed)
}
