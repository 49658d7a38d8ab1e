//! Commands on aggregates: load, decide, append, and retry on a conflict (feature `derive`, for
//! the typed events).
//!
//! Nothing here is implemented on domain types. The fold is given as a [`Decider`] — an initial
//! state, `evolve(state, &event)` and `decide(&state, &command)` — which the infrastructure
//! layer implements on a type of its own or builds from plain functions with [`decider`]. A
//! [`Repository`] loads the state and the stream version, runs the decision and appends with
//! `Exact(version)` (`NoStream` for a new stream); when another writer won the race it loads
//! again and decides again, in a fresh transaction, within a bounded, jittered
//! [`CommandRetry`]. Domain errors are returned at once and never retried.

mod decider;
mod repository;

pub use decider::{Decider, FnDecider, decider};
pub use repository::{CommandError, CommandRetry, Executed, Loaded, Repository, event_id_for};
