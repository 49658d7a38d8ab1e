//! The leader lease.

use sea_query::{Expr, ExprTrait, Query};

use super::{Dialect, Statement, arg};
use crate::{Tables, WorkerColumn as C};

/// The shared statements of the coordinator's leadership.
#[derive(Debug, Clone)]
pub struct LeadershipStatements {
    /// Gives the lease up at once if node `0` holds it at epoch `1`.
    pub release_lease: Statement,
}

impl LeadershipStatements {
    /// The statements over `tables`, in `dialect`.
    pub fn new(dialect: Dialect, tables: &Tables) -> Self {
        let release_lease = Query::update()
            .table(tables.table_name(tables.leader()))
            .value(C::NodeId, Expr::cust("NULL"))
            .value(C::ExpiresAt, dialect.now())
            .and_where(Expr::col(C::Id).eq(Expr::cust("1")))
            .and_where(Expr::col(C::NodeId).eq(arg(0)))
            .and_where(Expr::col(C::Epoch).eq(arg(1)))
            .to_owned();
        Self { release_lease: Statement::render(dialect, &release_lease) }
    }
}
