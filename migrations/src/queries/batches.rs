//! Checkpoints and failures of batches.

use sea_query::{Expr, Query};

use super::{Dialect, Statement, unit};
use crate::{Tables, WorkerColumn as C};

/// The shared statements of the coordinator's batches.
#[derive(Debug, Clone)]
pub struct BatchStatements {
    /// Clears the failure record of unit `0`/`1`/`2`.
    pub clear_failures: Statement,
}

impl BatchStatements {
    /// The statements over `tables`, in `dialect`.
    pub fn new(dialect: Dialect, tables: &Tables) -> Self {
        let clear_failures = Query::update()
            .table(tables.table_name(tables.consumer_status()))
            .value(C::Attempts, Expr::cust("0"))
            .value(C::LastError, Expr::cust("NULL"))
            .value(C::FailedPosition, Expr::cust("NULL"))
            .value(C::FailingSince, Expr::cust("NULL"))
            .value(C::UpdatedAt, dialect.now())
            .cond_where(unit(0, 1, 2))
            .to_owned();
        Self { clear_failures: Statement::render(dialect, &clear_failures) }
    }
}
