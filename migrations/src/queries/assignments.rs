//! Consumers, their units and which node runs each.

use sea_query::{Alias, Expr, ExprTrait, JoinType, OnConflict, Order, Query};

use super::{Dialect, Statement, arg, same_unit, unit};
use crate::{Tables, WorkerColumn as C};

/// The shared statements of the coordinator's assignments.
#[derive(Debug, Clone)]
pub struct AssignmentStatements {
    /// Every consumer: name, partitions, previous partitions, drain position.
    pub consumers: Statement,
    /// Every unit with its owner, epoch and checkpoint, in unit order.
    pub units: Statement,
    /// Creates consumer `0` with `1` partitions unless it exists.
    pub create_consumer: Statement,
    /// Starts repartitioning consumer `0` to `1` partitions from `2`, draining at `3`, unless a
    /// repartitioning is under way.
    pub start_transition: Statement,
    /// Caps the checkpoints of consumer `0`'s units of `1` partitions at `2`.
    pub set_drain_limit: Statement,
    /// Deletes the assignments of consumer `0`'s units of `1` partitions.
    pub drop_assignments: Statement,
    /// Deletes the checkpoints of consumer `0`'s units of `1` partitions.
    pub drop_checkpoints: Statement,
    /// Deletes the status rows of consumer `0`'s units of `1` partitions.
    pub drop_status: Statement,
    /// Ends consumer `0`'s repartitioning.
    pub finish_transition: Statement,
    /// Assigns unit `0`/`1`/`2` to `3` (NULL: nobody), bumping its epoch.
    pub assign: Statement,
    /// The units of owner `0`: consumer, partitions, partition, epoch.
    pub assignments_of: Statement,
    /// Unassigns every unit of owner `0`, bumping their epochs.
    pub release_units: Statement,
}

impl AssignmentStatements {
    /// The statements over `tables`, in `dialect`.
    pub fn new(dialect: Dialect, tables: &Tables) -> Self {
        let consumers = tables.table_name(tables.consumers());
        let assignments = tables.table_name(tables.assignments());
        let checkpoints = tables.table_name(tables.checkpoints());
        let status = tables.table_name(tables.consumer_status());
        let of_consumer = |table| {
            Query::delete()
                .from_table(table)
                .and_where(Expr::col(C::Consumer).eq(arg(0)))
                .and_where(Expr::col(C::Partitions).eq(arg(1)))
                .to_owned()
        };
        let bump = Expr::col(C::Epoch).add(Expr::cust("1"));
        Self {
            consumers: Statement::render(
                dialect,
                &Query::select()
                    .columns([C::Name, C::Partitions, C::PreviousPartitions, C::DrainPosition])
                    .from(consumers.clone())
                    .order_by(C::Name, Order::Asc)
                    .to_owned(),
            ),
            units: Statement::render(
                dialect,
                &Query::select()
                    .columns([
                        (Alias::new("a"), C::Consumer),
                        (Alias::new("a"), C::Partitions),
                        (Alias::new("a"), C::Partition),
                        (Alias::new("a"), C::Owner),
                        (Alias::new("a"), C::Epoch),
                    ])
                    .column((Alias::new("c"), C::Position))
                    .from_as(assignments.clone(), Alias::new("a"))
                    .join_as(
                        JoinType::InnerJoin,
                        checkpoints.clone(),
                        Alias::new("c"),
                        same_unit("c", "a"),
                    )
                    .order_by((Alias::new("a"), C::Consumer), Order::Asc)
                    .order_by((Alias::new("a"), C::Partitions), Order::Asc)
                    .order_by((Alias::new("a"), C::Partition), Order::Asc)
                    .to_owned(),
            ),
            create_consumer: Statement::render(
                dialect,
                &Query::insert()
                    .into_table(consumers.clone())
                    .columns([C::Name, C::Partitions, C::UpdatedAt])
                    .values_panic([arg(0), arg(1), dialect.now()])
                    .on_conflict(OnConflict::column(C::Name).do_nothing_on([C::Name]).to_owned())
                    .to_owned(),
            ),
            start_transition: Statement::render(
                dialect,
                &Query::update()
                    .table(consumers.clone())
                    .value(C::Partitions, arg(1))
                    .value(C::PreviousPartitions, arg(2))
                    .value(C::DrainPosition, arg(3))
                    .value(C::UpdatedAt, dialect.now())
                    .and_where(Expr::col(C::Name).eq(arg(0)))
                    .and_where(Expr::col(C::PreviousPartitions).is_null())
                    .to_owned(),
            ),
            set_drain_limit: Statement::render(
                dialect,
                &Query::update()
                    .table(checkpoints.clone())
                    .value(C::Upto, arg(2))
                    .and_where(Expr::col(C::Consumer).eq(arg(0)))
                    .and_where(Expr::col(C::Partitions).eq(arg(1)))
                    .to_owned(),
            ),
            drop_assignments: Statement::render(dialect, &of_consumer(assignments.clone())),
            drop_checkpoints: Statement::render(dialect, &of_consumer(checkpoints)),
            drop_status: Statement::render(dialect, &of_consumer(status)),
            finish_transition: Statement::render(
                dialect,
                &Query::update()
                    .table(consumers)
                    .value(C::PreviousPartitions, Expr::cust("NULL"))
                    .value(C::DrainPosition, Expr::cust("NULL"))
                    .value(C::UpdatedAt, dialect.now())
                    .and_where(Expr::col(C::Name).eq(arg(0)))
                    .to_owned(),
            ),
            assign: Statement::render(
                dialect,
                &Query::update()
                    .table(assignments.clone())
                    .value(C::Owner, arg(3))
                    .value(C::Epoch, bump.clone())
                    .cond_where(unit(0, 1, 2))
                    .to_owned(),
            ),
            assignments_of: Statement::render(
                dialect,
                &Query::select()
                    .columns([C::Consumer, C::Partitions, C::Partition, C::Epoch])
                    .from(assignments.clone())
                    .and_where(Expr::col(C::Owner).eq(arg(0)))
                    .to_owned(),
            ),
            release_units: Statement::render(
                dialect,
                &Query::update()
                    .table(assignments)
                    .value(C::Owner, Expr::cust("NULL"))
                    .value(C::Epoch, bump)
                    .and_where(Expr::col(C::Owner).eq(arg(0)))
                    .to_owned(),
            ),
        }
    }
}
