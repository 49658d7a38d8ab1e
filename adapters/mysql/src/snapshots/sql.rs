//! The snapshot store's SQL: shared by every backend, rendered for MySQL.

use pupsourcing_migrations::{Dialect, SnapshotStatements, Tables};

use crate::shared::Shared;

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) save: Shared,
    pub(crate) latest: Shared,
    pub(crate) delete_stream: Shared,
    pub(crate) delete_aggregate_type: Shared,
    pub(crate) stats: Shared,
}

impl Statements {
    pub(crate) fn new(tables: &Tables) -> Self {
        let shared = SnapshotStatements::new(Dialect::Mysql, tables);
        Self {
            save: shared.save.into(),
            latest: shared.latest.into(),
            delete_stream: shared.delete_stream.into(),
            delete_aggregate_type: shared.delete_aggregate_type.into(),
            stats: shared.stats.into(),
        }
    }
}
