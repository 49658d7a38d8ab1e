//! What an operator sees and changes.

use sea_query::{Alias, Cond, Expr, ExprTrait, JoinType, Order, Query};

use super::{Dialect, Statement, arg, same_unit};
use crate::{Tables, WorkerColumn as C};

/// The shared statements of the coordinator's operations.
#[derive(Debug, Clone)]
pub struct OperationStatements {
    /// Every unit: consumer, partitions, partition, owner, epoch, checkpoint, drain limit,
    /// paused, attempts, last error, failed position, skip position, failing since.
    pub status: Statement,
    /// Every registered node: id, consumers, version, start, microseconds since its heartbeat,
    /// and the leader lease's holder while it is unexpired (else NULL).
    pub nodes: Statement,
    /// Pauses (`2` true) or resumes the units of consumer `0`, partition `1` (NULL: all);
    /// resuming clears the attempts and the start of the failure run.
    pub set_paused: Statement,
    /// Sets the checkpoints of consumer `0` to `1`.
    pub reset_checkpoints: Statement,
    /// Clears the failure records and skips of consumer `0`.
    pub reset_status: Statement,
}

impl OperationStatements {
    /// The statements over `tables`, in `dialect`.
    pub fn new(dialect: Dialect, tables: &Tables) -> Self {
        let checkpoints = tables.table_name(tables.checkpoints());
        let status = tables.table_name(tables.consumer_status());
        let (a, c, s) = (Alias::new("a"), Alias::new("c"), Alias::new("s"));
        let select_status = Query::select()
            .columns(
                [C::Consumer, C::Partitions, C::Partition, C::Owner, C::Epoch]
                    .map(|column| (a.clone(), column)),
            )
            .columns([C::Position, C::Upto].map(|column| (c.clone(), column)))
            .columns(
                [
                    C::Paused,
                    C::Attempts,
                    C::LastError,
                    C::FailedPosition,
                    C::SkipPosition,
                    C::FailingSince,
                ]
                .map(|column| (s.clone(), column)),
            )
            .from_as(tables.table_name(tables.assignments()), a.clone())
            .join_as(JoinType::InnerJoin, checkpoints.clone(), c, same_unit("c", "a"))
            .join_as(JoinType::InnerJoin, status.clone(), s, same_unit("s", "a"))
            .order_by((a.clone(), C::Consumer), Order::Asc)
            .order_by((a.clone(), C::Partitions), Order::Asc)
            .order_by((a, C::Partition), Order::Asc)
            .to_owned();
        let (n, l) = (Alias::new("n"), Alias::new("l"));
        let nodes = Query::select()
            .columns(
                [C::NodeId, C::Consumers, C::Version, C::StartedAt]
                    .map(|column| (n.clone(), column)),
            )
            .expr(dialect.micros_since("n.heartbeat_at"))
            .expr(dialect.while_before("l.node_id", "l.expires_at"))
            .from_as(tables.table_name(tables.nodes()), n.clone())
            .join_as(
                JoinType::LeftJoin,
                tables.table_name(tables.leader()),
                l,
                Expr::cust("l.id = 1"),
            )
            .order_by((n, C::NodeId), Order::Asc)
            .to_owned();
        let set_paused = Query::update()
            .table(status.clone())
            .value(C::Paused, arg(2))
            .value(C::Attempts, dialect.custom("CASE WHEN ? THEN attempts ELSE 0 END", [2]))
            .value(C::FailingSince, dialect.custom("CASE WHEN ? THEN failing_since END", [2]))
            .value(C::UpdatedAt, dialect.now())
            .and_where(Expr::col(C::Consumer).eq(arg(0)))
            .cond_where(Cond::any().add(arg(1).is_null()).add(Expr::col(C::Partition).eq(arg(1))))
            .to_owned();
        let reset_checkpoints = Query::update()
            .table(checkpoints)
            .value(C::Position, arg(1))
            .value(C::UpdatedAt, dialect.now())
            .and_where(Expr::col(C::Consumer).eq(arg(0)))
            .to_owned();
        let reset_status = Query::update()
            .table(status)
            .value(C::Attempts, Expr::cust("0"))
            .value(C::LastError, Expr::cust("NULL"))
            .value(C::FailedPosition, Expr::cust("NULL"))
            .value(C::SkipPosition, Expr::cust("NULL"))
            .value(C::FailingSince, Expr::cust("NULL"))
            .value(C::UpdatedAt, dialect.now())
            .and_where(Expr::col(C::Consumer).eq(arg(0)))
            .to_owned();
        Self {
            status: Statement::render(dialect, &select_status),
            nodes: Statement::render(dialect, &nodes),
            set_paused: Statement::render(dialect, &set_paused),
            reset_checkpoints: Statement::render(dialect, &reset_checkpoints),
            reset_status: Statement::render(dialect, &reset_status),
        }
    }
}
