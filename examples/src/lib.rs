//! Shared code of the pupsourcing examples.

pub mod users;
