//! Shared code of the pupsourcing examples.

pub mod customer_directory;
pub mod customers;
pub mod directory;
pub mod setup;
pub mod sql;
pub mod tally;

pub use pupsourcing_quickstart::users;

/// The README's examples compile (as doctests of this crate, which depends on every adapter).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
