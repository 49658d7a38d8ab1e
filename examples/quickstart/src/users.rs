//! A tiny user domain: events, the state they fold into, and the decisions commands make.
//!
//! Nothing here knows about pupsourcing's storage; only [`User::load`] and the command helpers
//! below touch the store, the way an application's infrastructure layer would.

use pupsourcing::{
    Database, Event, EventStore, EventStoreExt, ExpectedVersion, PersistedEvent, StoreError,
    StreamId,
};
use serde::{Deserialize, Serialize};

/// The facts about a user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum UserEvent {
    /// A user signed up.
    UserRegistered {
        /// Display name.
        name: String,
        /// Contact address.
        email: String,
    },
    /// A user changed their address.
    EmailChanged {
        /// The previous address.
        old: String,
        /// The new address.
        new: String,
    },
}

impl UserEvent {
    /// The event type stored with the event.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::UserRegistered { .. } => "UserRegistered",
            Self::EmailChanged { .. } => "EmailChanged",
        }
    }

    /// As an event of `stream`, JSON-encoded.
    pub fn to_event(&self, stream: &StreamId) -> Result<Event, serde_json::Error> {
        Event::json(stream, self.event_type(), self)
    }
}

/// A user, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    /// Display name.
    pub name: String,
    /// Current address.
    pub email: String,
    /// The stream version the state reflects: what the next append expects.
    pub version: u64,
}

/// Why a command was refused.
#[derive(Debug)]
pub enum CommandError {
    /// The domain said no.
    Rejected(String),
    /// Storage failed.
    Store(StoreError),
    /// An event could not be encoded or decoded.
    Json(serde_json::Error),
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Rejected(reason) => write!(f, "rejected: {reason}"),
            Self::Store(err) => write!(f, "{err}"),
            Self::Json(err) => write!(f, "event encoding: {err}"),
        }
    }
}

impl std::error::Error for CommandError {}

impl From<StoreError> for CommandError {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<serde_json::Error> for CommandError {
    fn from(err: serde_json::Error) -> Self {
        Self::Json(err)
    }
}

impl User {
    /// The stream of user `id`.
    pub fn stream(id: &str) -> StreamId {
        StreamId::new("user", id)
    }

    /// Folds one event into the state.
    pub fn apply(&mut self, event: &PersistedEvent) -> Result<(), serde_json::Error> {
        match event.decode_json::<UserEvent>()? {
            UserEvent::UserRegistered { name, email } => {
                self.name = name;
                self.email = email;
            }
            UserEvent::EmailChanged { new, .. } => self.email = new,
        }
        self.version = event.aggregate_version;
        Ok(())
    }

    /// Reads and folds the user's stream.
    pub async fn load<D: Database, S: EventStore<D>>(
        db: &D,
        store: &S,
        id: &str,
    ) -> Result<User, CommandError> {
        let mut tx = db.begin_read().await.map_err(StoreError::from)?;
        let stream = store.read_full_stream(&mut tx, &Self::stream(id)).await?;
        db.rollback(tx).await.map_err(StoreError::from)?;
        let mut user = User::default();
        for event in &stream {
            user.apply(event)?;
        }
        Ok(user)
    }

    /// Decides a registration.
    pub fn register(&self, name: &str, email: &str) -> Result<UserEvent, CommandError> {
        if self.version > 0 {
            return Err(CommandError::Rejected(format!("user {} already exists", self.name)));
        }
        Ok(UserEvent::UserRegistered { name: name.into(), email: email.into() })
    }

    /// Decides an email change.
    pub fn change_email(&self, email: &str) -> Result<UserEvent, CommandError> {
        if self.version == 0 {
            return Err(CommandError::Rejected("no such user".into()));
        }
        if self.email == email {
            return Err(CommandError::Rejected(format!("email is already {email}")));
        }
        Ok(UserEvent::EmailChanged { old: self.email.clone(), new: email.into() })
    }
}

/// Appends `decision` to user `id`'s stream, expecting the version the decision was made on.
pub async fn save<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    id: &str,
    decided_on: &User,
    decision: &UserEvent,
) -> Result<pupsourcing::AppendResult, CommandError> {
    let event = decision.to_event(&User::stream(id))?;
    let expected = match decided_on.version {
        0 => ExpectedVersion::NoStream,
        version => ExpectedVersion::Exact(version),
    };
    Ok(store.append_committed(db, expected, vec![event]).await?)
}

#[cfg(test)]
mod tests {
    use pupsourcing_memory::{MemoryDatabase, MemoryStore};

    use super::*;

    #[tokio::test]
    async fn commands_fold_back_into_state_and_stale_decisions_conflict() {
        let db = MemoryDatabase::new();
        let store = MemoryStore::new(&db);
        let fresh = User::load(&db, &store, "u1").await.unwrap();
        let registered = fresh.register("Ann", "ann@a.example").unwrap();
        save(&db, &store, "u1", &fresh, &registered).await.unwrap();
        let ann = User::load(&db, &store, "u1").await.unwrap();
        assert_eq!((ann.email.as_str(), ann.version), ("ann@a.example", 1));

        save(&db, &store, "u1", &ann, &ann.change_email("ann@b.example").unwrap()).await.unwrap();
        let stale = ann.change_email("ann@c.example").unwrap();
        let err = save(&db, &store, "u1", &ann, &stale).await.unwrap_err();
        assert!(matches!(err, CommandError::Store(StoreError::Conflict { actual: 2, .. })));
        assert!(matches!(fresh.change_email("x"), Err(CommandError::Rejected(_))));
    }
}
