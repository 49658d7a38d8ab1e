//! Store options: table names and size limits.

use pupsourcing::{AppendLimits, FrontierConfig};
use pupsourcing_migrations::Tables;

/// How the global log is kept gap-safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GapStrategy {
    /// The transaction-id fence of [`frontier`](crate::frontier): writers never wait for each
    /// other. Needs the `PROCESS` privilege (to read `INFORMATION_SCHEMA.INNODB_TRX`);
    /// [`MysqlStore::migrate`](crate::MysqlStore::migrate) checks it.
    #[default]
    TransactionFence,
    /// Positions from a counter row each append locks until it commits: positions in commit
    /// order, no holes, no privilege, and appends serialize (measured at 0.2–0.55 of plain
    /// inserts with 8 to 16 writers). For servers where `PROCESS` cannot be granted.
    CounterRow,
}

/// How an append learns the positions the server gave its events (with
/// [`GapStrategy::TransactionFence`]; the counter row draws them itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PositionReadback {
    /// [`PositionReadback::Returning`] on MariaDB, [`PositionReadback::LastInsertId`] on
    /// MySQL, by the server's `VERSION()`, read on the first append.
    #[default]
    Detect,
    /// MariaDB's `INSERT … RETURNING` (10.5 and later): the positions come back with the
    /// insert.
    Returning,
    /// MySQL 8, which has no `INSERT … RETURNING`: the first position from the insert's
    /// `LAST_INSERT_ID()` and the others following it. InnoDB gives a multi-row insert of a
    /// known row count consecutive values as long as no bulk insert (`INSERT … SELECT`,
    /// `LOAD DATA`) into the events table runs at the same time under
    /// `innodb_autoinc_lock_mode=2`, MySQL 8's default: never load events that way beside a
    /// running store, or set the mode to 1. Needs `auto_increment_increment` = 1 (multi-primary
    /// group replication raises it); appends refuse to run otherwise.
    LastInsertId,
}

/// Options of a [`MysqlStore`](crate::MysqlStore).
#[derive(Debug, Clone, Default)]
pub struct MysqlStoreConfig {
    tables: Tables,
    limits: AppendLimits,
    frontier: FrontierConfig,
    gap_strategy: GapStrategy,
    position_readback: PositionReadback,
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

    /// Chooses how the log is kept gap-safe.
    #[must_use]
    pub fn with_gap_strategy(mut self, strategy: GapStrategy) -> Self {
        self.gap_strategy = strategy;
        self
    }

    /// How the log is kept gap-safe.
    pub fn gap_strategy(&self) -> GapStrategy {
        self.gap_strategy
    }

    /// Chooses how appends read their positions back.
    #[must_use]
    pub fn with_position_readback(mut self, readback: PositionReadback) -> Self {
        self.position_readback = readback;
        self
    }

    /// How appends read their positions back.
    pub fn position_readback(&self) -> PositionReadback {
        self.position_readback
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
