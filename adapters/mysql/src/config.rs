//! Store options: table names and size limits.

use pupsourcing::{AppendLimits, FrontierConfig};
use pupsourcing_migrations::Tables;

/// Options of a [`MysqlStore`](crate::MysqlStore).
#[derive(Debug, Clone, Default)]
pub struct MysqlStoreConfig {
    tables: Tables,
    limits: AppendLimits,
    frontier: FrontierConfig,
}

impl MysqlStoreConfig {
    /// Uses `tables` for every table name.
    #[must_use]
    pub fn with_tables(mut self, tables: Tables) -> Self {
        self.tables = tables;
        self
    }

    /// Replaces the append size limits.
    #[must_use]
    pub fn with_limits(mut self, limits: AppendLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Replaces how the frontier advances.
    #[must_use]
    pub fn with_frontier(mut self, frontier: FrontierConfig) -> Self {
        self.frontier = frontier;
        self
    }

    /// How the frontier advances.
    pub fn frontier(&self) -> &FrontierConfig {
        &self.frontier
    }

    /// The table names.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The append size limits.
    pub fn limits(&self) -> &AppendLimits {
        &self.limits
    }
}
