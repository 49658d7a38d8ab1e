//! A tiny user domain: the payloads of its events, the state they fold into, and the decisions
//! its commands make — plain types and functions, with no pupsourcing trait on them.
//!
//! The infrastructure part is the last two items: the [`UserEvent`] enum that gives each payload
//! its stable name (`#[derive(DomainEvent)]`), and the [`Users`] decider that tells the
//! repository how to fold and decide.

use pupsourcing::aggregate::Decider;
use pupsourcing::{DomainEvent, StreamId};
use serde::{Deserialize, Serialize};

/// A user signed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registered {
    /// Display name.
    pub name: String,
    /// Contact address.
    pub email: String,
}

/// A user changed their address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailChanged {
    /// The previous address.
    pub old: String,
    /// The new address.
    pub new: String,
}

/// A user, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct User {
    /// Display name; empty until registered.
    pub name: String,
    /// Current address.
    pub email: String,
}

/// What a user can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    /// Sign up.
    Register {
        /// Display name.
        name: String,
        /// Contact address.
        email: String,
    },
    /// Change the address.
    ChangeEmail {
        /// The new address.
        email: String,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UserError {
    /// Registering twice.
    #[error("user {0} already exists")]
    AlreadyRegistered(String),
    /// Changing a user that was never registered.
    #[error("no such user")]
    Unknown,
    /// Changing the address to itself.
    #[error("the email is already {0}")]
    Unchanged(String),
}

impl User {
    /// The stream of user `id`.
    pub fn stream(id: &str) -> StreamId {
        StreamId::new("user", id)
    }

    fn registered(&self) -> bool {
        !self.name.is_empty()
    }
}

/// The user events as stored: explicit names, never derived from the Rust identifiers.
#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "user")]
pub enum UserEvent {
    /// See [`Registered`].
    #[event(name = "UserRegistered")]
    Registered(Registered),
    /// See [`EmailChanged`].
    #[event(name = "EmailChanged")]
    EmailChanged(EmailChanged),
}

/// How users fold and decide, for the repository.
#[derive(Debug, Clone, Copy, Default)]
pub struct Users;

impl Decider for Users {
    type State = User;
    type Event = UserEvent;
    type Command = UserCommand;
    type Error = UserError;

    fn initial_state(&self) -> User {
        User::default()
    }

    fn evolve(&self, mut user: User, event: &UserEvent) -> User {
        match event {
            UserEvent::Registered(Registered { name, email }) => {
                user.name.clone_from(name);
                user.email.clone_from(email);
            }
            UserEvent::EmailChanged(EmailChanged { new, .. }) => user.email.clone_from(new),
        }
        user
    }

    fn decide(&self, user: &User, command: &UserCommand) -> Result<Vec<UserEvent>, UserError> {
        match command {
            UserCommand::Register { .. } if user.registered() => {
                Err(UserError::AlreadyRegistered(user.name.clone()))
            }
            UserCommand::Register { name, email } => Ok(vec![UserEvent::Registered(Registered {
                name: name.clone(),
                email: email.clone(),
            })]),
            UserCommand::ChangeEmail { .. } if !user.registered() => Err(UserError::Unknown),
            UserCommand::ChangeEmail { email } if *email == user.email => {
                Err(UserError::Unchanged(email.clone()))
            }
            UserCommand::ChangeEmail { email } => Ok(vec![UserEvent::EmailChanged(EmailChanged {
                old: user.email.clone(),
                new: email.clone(),
            })]),
        }
    }
}

#[cfg(test)]
mod tests {
    use pupsourcing_testkit::events::assert_round_trips;
    use pupsourcing_testkit::given::given;

    use super::*;

    fn registered() -> UserEvent {
        UserEvent::Registered(Registered { name: "Ann".into(), email: "ann@a.example".into() })
    }

    #[test]
    fn commands_decide_from_the_folded_state() {
        let change = UserCommand::ChangeEmail { email: "ann@b.example".into() };
        given(Users, [registered()]).when(&change).then([UserEvent::EmailChanged(EmailChanged {
            old: "ann@a.example".into(),
            new: "ann@b.example".into(),
        })]);
        given(Users, []).when(&change).then_error(UserError::Unknown);
        let again = UserCommand::Register { name: "Ann".into(), email: "x".into() };
        given(Users, [registered()])
            .when(&again)
            .then_error(UserError::AlreadyRegistered("Ann".into()));
        let same = UserCommand::ChangeEmail { email: "ann@a.example".into() };
        given(Users, [registered()])
            .when(&same)
            .then_error(UserError::Unchanged("ann@a.example".into()));
    }

    #[test]
    fn every_event_round_trips() {
        let changed = UserEvent::EmailChanged(EmailChanged { old: "a".into(), new: "b".into() });
        assert_round_trips(&User::stream("u1"), &[registered(), changed]);
    }
}
