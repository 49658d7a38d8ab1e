//! Store options: table names, NOTIFY channel, size limits.

use pupsourcing::AppendLimits;
use pupsourcing_migrations::{Ident, NameError, Tables};

/// Options of a [`PostgresStore`](crate::PostgresStore).
///
/// ```
/// use pupsourcing_postgres::PostgresStoreConfig;
/// use pupsourcing_migrations::Tables;
///
/// let config = PostgresStoreConfig::default()
///     .with_tables(Tables::new().with_schema("es")?)
///     .with_notify_channel("es_events")?;
/// assert_eq!(config.notify_channel(), Some("es_events"));
/// # Ok::<(), pupsourcing_migrations::NameError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct PostgresStoreConfig {
    tables: Tables,
    notify_channel: Option<Ident>,
    limits: AppendLimits,
}

impl PostgresStoreConfig {
    /// Uses these table names (and schema).
    #[must_use]
    pub fn with_tables(mut self, tables: Tables) -> Self {
        self.tables = tables;
        self
    }

    /// Sends `pg_notify(channel, <last position>)` inside every append transaction, so listeners
    /// wake up when (and only if) it commits. The name follows the identifier rules of
    /// [`Ident`].
    pub fn with_notify_channel(mut self, channel: &str) -> Result<Self, NameError> {
        self.notify_channel = Some(Ident::new(channel)?);
        Ok(self)
    }

    /// Replaces the append size limits.
    #[must_use]
    pub fn with_limits(mut self, limits: AppendLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The table names.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The NOTIFY channel, if any.
    pub fn notify_channel(&self) -> Option<&str> {
        self.notify_channel.as_ref().map(Ident::as_str)
    }

    /// The append size limits.
    pub fn limits(&self) -> &AppendLimits {
        &self.limits
    }
}
