//! The shape of an aggregate: initial state, evolve, decide.

use std::marker::PhantomData;

use crate::DomainEvent;

/// How an aggregate's state folds from its events and what a command decides.
///
/// Implement it on an infrastructure type (never on the domain's own types), or build one from
/// three plain functions with [`decider`].
pub trait Decider: Send + Sync {
    /// The state folded from the events.
    type State: Send;
    /// The aggregate's events.
    type Event: DomainEvent + Send + Sync;
    /// What the aggregate is asked to do.
    type Command: Send + Sync;
    /// Why a command is refused (a domain error: never retried).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The state of a stream without events.
    fn initial_state(&self) -> Self::State;

    /// The state after `event`.
    fn evolve(&self, state: Self::State, event: &Self::Event) -> Self::State;

    /// The events `command` produces in `state` (none: nothing to do), or why it is refused.
    fn decide(
        &self,
        state: &Self::State,
        command: &Self::Command,
    ) -> Result<Vec<Self::Event>, Self::Error>;
}

/// A [`Decider`] made of three functions (see [`decider`]).
pub struct FnDecider<S, E, Cmd, Err, I, V, C> {
    initial: I,
    evolve: V,
    decide: C,
    _types: PhantomData<Signature<S, E, Cmd, Err>>,
}

/// The types a [`FnDecider`]'s functions work with, for the compiler only.
type Signature<S, E, Cmd, Err> = fn() -> (S, E, Cmd, Err);

/// A [`Decider`] from plain functions: `initial() -> State`, `evolve(State, &Event) -> State`
/// and `decide(&State, &Command) -> Result<Vec<Event>, Error>`.
pub fn decider<S, E, Cmd, Err, I, V, C>(
    initial: I,
    evolve: V,
    decide: C,
) -> FnDecider<S, E, Cmd, Err, I, V, C>
where
    I: Fn() -> S + Send + Sync,
    V: Fn(S, &E) -> S + Send + Sync,
    C: Fn(&S, &Cmd) -> Result<Vec<E>, Err> + Send + Sync,
{
    FnDecider { initial, evolve, decide, _types: PhantomData }
}

impl<S, E, Cmd, Err, I, V, C> Decider for FnDecider<S, E, Cmd, Err, I, V, C>
where
    S: Send,
    E: DomainEvent + Send + Sync,
    Cmd: Send + Sync,
    Err: std::error::Error + Send + Sync + 'static,
    I: Fn() -> S + Send + Sync,
    V: Fn(S, &E) -> S + Send + Sync,
    C: Fn(&S, &Cmd) -> Result<Vec<E>, Err> + Send + Sync,
{
    type State = S;
    type Event = E;
    type Command = Cmd;
    type Error = Err;

    fn initial_state(&self) -> S {
        (self.initial)()
    }

    fn evolve(&self, state: S, event: &E) -> S {
        (self.evolve)(state, event)
    }

    fn decide(&self, state: &S, command: &Cmd) -> Result<Vec<E>, Err> {
        (self.decide)(state, command)
    }
}
