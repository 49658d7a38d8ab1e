//! Store options: table names, NOTIFY channel, size limits.

use std::time::Duration;

use pupsourcing::AppendLimits;
use pupsourcing_migrations::{Ident, NameError, Tables};

/// Options of a [`PostgresStore`](crate::PostgresStore).
///
/// Appends NOTIFY by default, on a channel derived from the table names (so stores with other
/// tables in one database do not wake each other): idle consumers then wake within milliseconds
/// of a commit instead of at their next poll. The price: PostgreSQL queues notifications under
/// one database-wide lock taken at commit, so committing appends that notified is serialized
/// for that short moment; [`without_notify`](Self::without_notify) gives it back to write-heavy
/// deployments whose consumers can wait for a poll.
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

    /// Sends `pg_notify(channel, <last position>)` inside every append transaction on this
    /// channel instead of the derived one, so listeners wake up when (and only if) it commits.
    /// The name follows the identifier rules of [`Ident`].
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

/// How the safe frontier is advanced.
///
/// ```
/// use std::time::Duration;
/// use pupsourcing_postgres::FrontierConfig;
///
/// let config = FrontierConfig::default().with_hole_warning_after(Duration::from_secs(30));
/// assert_eq!(config.force_skip_after(), None); // never skips unless asked to
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontierConfig {
    window: usize,
    hole_warning_after: Duration,
    force_skip_after: Option<Duration>,
    hole_retention: Duration,
}

impl Default for FrontierConfig {
    fn default() -> Self {
        Self {
            window: 10_000,
            hole_warning_after: Duration::from_secs(10),
            force_skip_after: None,
            hole_retention: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl FrontierConfig {
    /// How many positions above the frontier one round of an advance examines (default 10 000);
    /// an advance keeps going round by round while the frontier moves through full windows.
    #[must_use]
    pub fn with_window(mut self, positions: usize) -> Self {
        self.window = positions.max(1);
        self
    }

    /// After how long an open hole holding the frontier back is reported with a `tracing`
    /// warning naming the oldest transaction that may be behind it (default 10 s).
    #[must_use]
    pub fn with_hole_warning_after(mut self, age: Duration) -> Self {
        self.hole_warning_after = age;
        self
    }

    /// **Opt-in, lossy.** Skips a hole once it has been open this long, whether or not its
    /// transaction could still commit. Its events, if they ever commit, will never reach
    /// consumers. Each skip is logged as a warning and recorded as `forced` in the holes table.
    /// Off by default: without it, a long transaction delays consumers but never makes them skip.
    #[must_use]
    pub fn with_force_skip_after(mut self, age: Option<Duration>) -> Self {
        self.force_skip_after = age;
        self
    }

    /// How long resolved holes (filled or dead) stay in the holes table for inspection (default
    /// 24 h). Forced skips are kept forever, as an audit trail.
    #[must_use]
    pub fn with_hole_retention(mut self, retention: Duration) -> Self {
        self.hole_retention = retention;
        self
    }

    /// Positions examined per round.
    pub fn window(&self) -> usize {
        self.window
    }

    /// The warning threshold.
    pub fn hole_warning_after(&self) -> Duration {
        self.hole_warning_after
    }

    /// The force-skip timeout, if enabled.
    pub fn force_skip_after(&self) -> Option<Duration> {
        self.force_skip_after
    }

    /// The retention of resolved holes.
    pub fn hole_retention(&self) -> Duration {
        self.hole_retention
    }
}
