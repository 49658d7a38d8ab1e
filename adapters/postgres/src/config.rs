//! Store options: table names, NOTIFY channel, size limits.

use pupsourcing::{AppendLimits, FrontierConfig};
use pupsourcing_migrations::{Ident, NameError, Tables};

/// Options of a [`PostgresStore`](crate::PostgresStore).
///
/// Appends NOTIFY by default, on a channel derived from the table names (so stores with other
/// tables in one database do not wake each other): idle consumers then wake within milliseconds
/// of a commit instead of at their next poll. No append notifies from its own transaction:
/// PostgreSQL queues notifications under one database-wide lock taken at commit and held
/// through the commit's WAL flush, so concurrent appends that notified could not share a flush
/// (8 writers: about two thirds of the rate without NOTIFY). The store notifies instead, from a
/// statement of its own that writes no WAL: right after an `append_committed` (at READ
/// COMMITTED; at the stricter levels it runs in a transaction of its own, as below), and for an
/// append in a caller's transaction once the server reports that transaction committed (the
/// store checks half a millisecond after the append, then at doubling intervals up to 100 ms
/// while it stays open, for up to ten minutes; a rolled-back transaction notifies nobody). A
/// wake-up therefore comes up to a check interval after the commit, and the checks take
/// connections from the store's pool: on a saturated pool they wait their turn. Notifications
/// are coalesced: one names the highest position committed since the last.
/// [`without_notify`](Self::without_notify) turns them off, for deployments whose consumers can
/// wait for a poll.
///
/// ```
/// use pupsourcing_postgres::{PostgresStoreConfig, Tables};
///
/// let config = PostgresStoreConfig::default().with_tables(Tables::new().with_schema("es")?);
/// assert!(config.notify_channel().is_some_and(|c| c.starts_with("pupsourcing_")));
/// let named = config.clone().with_notify_channel("es_events")?;
/// assert_eq!(named.notify_channel(), Some("es_events"));
/// assert_eq!(config.without_notify().notify_channel(), None);
/// # Ok::<(), pupsourcing_postgres::NameError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStoreConfig {
    tables: Tables,
    notify: Notify,
    limits: AppendLimits,
    frontier: FrontierConfig,
}

/// Which channel appends notify.
#[derive(Debug, Clone)]
enum Notify {
    /// Derived from the table names; follows [`PostgresStoreConfig::with_tables`].
    Derived(Option<Ident>),
    Named(Ident),
    Off,
}

impl Default for PostgresStoreConfig {
    fn default() -> Self {
        let tables = Tables::default();
        Self {
            notify: Notify::Derived(derived_channel(&tables)),
            tables,
            limits: AppendLimits::default(),
            frontier: FrontierConfig::default(),
        }
    }
}

/// `pupsourcing_` and 16 hex digits of a hash of the table names: a valid identifier for any
/// table names, and distinct for stores with distinct tables.
fn derived_channel(tables: &Tables) -> Option<Ident> {
    Ident::new(format!("pupsourcing_{:016x}", tables.lock_key("notify"))).ok()
}

impl PostgresStoreConfig {
    /// Uses these table names (and schema).
    #[must_use]
    pub fn with_tables(mut self, tables: Tables) -> Self {
        if let Notify::Derived(channel) = &mut self.notify {
            *channel = derived_channel(&tables);
        }
        self.tables = tables;
        self
    }

    /// Sends `pg_notify(channel, <last position>)` after appends commit on this channel instead
    /// of the derived one. The name follows the identifier rules of [`Ident`].
    pub fn with_notify_channel(mut self, channel: &str) -> Result<Self, NameError> {
        self.notify = Notify::Named(Ident::new(channel)?);
        Ok(self)
    }

    /// Appends without NOTIFY: consumers then find new events at their next poll (between the
    /// worker's `poll_interval` and `idle_backoff_max`). For databases where `pg_notify` is not
    /// allowed, or behind a proxy that drops notifications.
    #[must_use]
    pub fn without_notify(mut self) -> Self {
        self.notify = Notify::Off;
        self
    }

    /// Replaces the append size limits.
    #[must_use]
    pub fn with_limits(mut self, limits: AppendLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Replaces the frontier settings.
    #[must_use]
    pub fn with_frontier(mut self, frontier: FrontierConfig) -> Self {
        self.frontier = frontier;
        self
    }

    /// The frontier settings.
    pub fn frontier(&self) -> &FrontierConfig {
        &self.frontier
    }

    /// The table names.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The NOTIFY channel, if appends notify.
    pub fn notify_channel(&self) -> Option<&str> {
        match &self.notify {
            Notify::Derived(channel) => channel.as_ref().map(Ident::as_str),
            Notify::Named(channel) => Some(channel.as_str()),
            Notify::Off => None,
        }
    }

    /// The append size limits.
    pub fn limits(&self) -> &AppendLimits {
        &self.limits
    }
}
