//! # pupsourcing-testkit
//!
//! What pupsourcing's own tests use, published for applications that test code built on it:
//!
//! - [`postgres`]: a fresh PostgreSQL database per test, on `DATABASE_URL`'s server or on a
//!   throwaway cluster the harness starts itself (no setup beyond the server binaries);
//! - `mysql` (feature `mysql`): the same for MariaDB, on `MYSQL_URL`'s server or a throwaway
//!   MariaDB started from Debian's `mariadb-server-core` and `mariadb-client-core`;
//! - [`strategies`]: proptest strategies for stream ids, events and JSON metadata;
//! - [`mock`]: mockall mocks of the ports, for unit tests of logic above them;
//! - [`given`]: given/when/then for deciders, pure;
//! - [`inline`]: a consumer run over given events on the memory backend, then the read model
//!   asserted;
//! - [`encryption`]: an encryptor with a made-up key, for aggregates whose events hold `Pii<T>`;
//! - [`events`]: round-trip and upcast assertions for a `DomainEvent` enum.

pub mod encryption;
mod error;
pub mod events;
pub mod given;
pub mod inline;
#[cfg(feature = "mysql")]
#[cfg_attr(docsrs, doc(cfg(feature = "mysql")))]
pub mod mysql;
pub mod postgres;
pub mod strategies;

pub use error::HarnessError;
pub use pupsourcing::mock;
