//! The quickstart's domain, shared with the other examples: a user aggregate, its events and the
//! commands that decide them.

pub mod users;
