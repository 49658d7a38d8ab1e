//! Aggregate snapshots.

use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};

use super::{Dialect, Statement, arg};
use crate::{SnapshotColumn as C, Tables};

/// The snapshot store's statements (all shared).
#[derive(Debug, Clone)]
pub struct SnapshotStatements {
    /// Saves or replaces a snapshot: bounded context, aggregate type, aggregate id, stream
    /// version, state version, state, taken at (microseconds since the Unix epoch).
    pub save: Statement,
    /// The newest snapshot of stream `0`/`1`/`2` at or below version `3`: stream version, state
    /// version, state, taken at.
    pub latest: Statement,
    /// Deletes the snapshots of stream `0`/`1`/`2`.
    pub delete_stream: Statement,
    /// Deletes the snapshots of aggregate type `0`.
    pub delete_aggregate_type: Statement,
    /// How many snapshots aggregate type `0` has, and their state bytes.
    pub stats: Statement,
}

impl SnapshotStatements {
    /// The statements over `tables`, in `dialect`.
    pub fn new(dialect: Dialect, tables: &Tables) -> Self {
        let snapshots = tables.table_name(tables.snapshots());
        let key = [C::BoundedContext, C::AggregateType, C::AggregateId, C::StreamVersion];
        let stream = || {
            Expr::col(C::BoundedContext)
                .eq(arg(0))
                .and(Expr::col(C::AggregateType).eq(arg(1)))
                .and(Expr::col(C::AggregateId).eq(arg(2)))
        };
        let save = Query::insert()
            .into_table(snapshots.clone())
            .columns(key.into_iter().chain([C::StateVersion, C::State, C::TakenAt]))
            .values_panic((0..6).map(arg).chain([dialect.micros(6)]))
            .on_conflict(
                OnConflict::columns(key)
                    .update_columns([C::StateVersion, C::State, C::TakenAt])
                    .to_owned(),
            )
            .to_owned();
        let latest = Query::select()
            .columns([C::StreamVersion, C::StateVersion, C::State, C::TakenAt])
            .from(snapshots.clone())
            .cond_where(stream())
            .and_where(Expr::col(C::StreamVersion).lte(arg(3)))
            .order_by(C::StreamVersion, Order::Desc)
            .to_owned();
        let delete_stream =
            Query::delete().from_table(snapshots.clone()).cond_where(stream()).to_owned();
        let delete_aggregate_type = Query::delete()
            .from_table(snapshots.clone())
            .and_where(Expr::col(C::AggregateType).eq(arg(0)))
            .to_owned();
        let stats = Query::select()
            .expr(Expr::cust("count(*)"))
            .expr(Expr::cust(dialect.total_bytes("state")))
            .from(snapshots)
            .and_where(Expr::col(C::AggregateType).eq(arg(0)))
            .to_owned();
        Self {
            save: Statement::render(dialect, &save),
            latest: Statement::render(dialect, &latest).with_literal(" LIMIT 1"),
            delete_stream: Statement::render(dialect, &delete_stream),
            delete_aggregate_type: Statement::render(dialect, &delete_aggregate_type),
            stats: Statement::render(dialect, &stats),
        }
    }
}
