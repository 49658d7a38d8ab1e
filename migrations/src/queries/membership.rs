//! Nodes and their heartbeats.

use sea_query::{Expr, ExprTrait, Order, Query};

use super::{Dialect, Statement, arg};
use crate::{Tables, WorkerColumn as C};

/// The shared statements of the coordinator's membership.
#[derive(Debug, Clone)]
pub struct MembershipStatements {
    /// Removes node `0`.
    pub leave: Statement,
    /// Nodes whose heartbeat is younger than duration `0`
    /// ([`Dialect::duration_value`]): id, consumers, version, start.
    pub live_nodes: Statement,
}

impl MembershipStatements {
    /// The statements over `tables`, in `dialect`.
    pub fn new(dialect: Dialect, tables: &Tables) -> Self {
        let nodes = tables.table_name(tables.nodes());
        let leave = Query::delete()
            .from_table(nodes.clone())
            .and_where(Expr::col(C::NodeId).eq(arg(0)))
            .to_owned();
        let live_nodes = Query::select()
            .columns([C::NodeId, C::Consumers, C::Version, C::StartedAt])
            .from(nodes)
            .and_where(Expr::col(C::HeartbeatAt).gt(dialect.ago(0)))
            .order_by(C::NodeId, Order::Asc)
            .to_owned();
        Self {
            leave: Statement::render(dialect, &leave),
            live_nodes: Statement::render(dialect, &live_nodes),
        }
    }
}
