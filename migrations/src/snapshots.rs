//! The snapshot store's table: a stream's folded state at a stream version.

use sea_query::{ColumnDef, Expr, ExprTrait, Iden, Index, Table, TableCreateStatement};

use crate::backend::{bytes, clock, name};
use crate::{Backend, Tables};

/// Columns of the snapshots table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SnapshotColumn {
    BoundedContext,
    AggregateType,
    AggregateId,
    StreamVersion,
    StateVersion,
    State,
    TakenAt,
}

impl Iden for SnapshotColumn {
    fn unquoted(&self) -> &str {
        match self {
            Self::BoundedContext => "bounded_context",
            Self::AggregateType => "aggregate_type",
            Self::AggregateId => "aggregate_id",
            Self::StreamVersion => "stream_version",
            Self::StateVersion => "state_version",
            Self::State => "state",
            Self::TakenAt => "taken_at",
        }
    }
}

/// The primary key `(bounded_context, aggregate_type, aggregate_id, stream_version)` serves both
/// the newest-at-or-below lookup (a backward range scan) and deleting a stream's snapshots.
pub(crate) fn snapshots_table(backend: Backend, tables: &Tables) -> TableCreateStatement {
    use SnapshotColumn as C;
    Table::create()
        .table(tables.table_name(tables.snapshots()))
        .if_not_exists()
        .col(name(backend, C::BoundedContext).not_null())
        .col(name(backend, C::AggregateType).not_null())
        .col(name(backend, C::AggregateId).not_null())
        .col(
            ColumnDef::new(C::StreamVersion)
                .big_integer()
                .not_null()
                .check(Expr::col(C::StreamVersion).gt(0)),
        )
        .col(ColumnDef::new(C::StateVersion).integer().not_null())
        .col(bytes(backend, C::State).not_null())
        .col(clock(backend, C::TakenAt).not_null())
        .primary_key(
            Index::create()
                .col(C::BoundedContext)
                .col(C::AggregateType)
                .col(C::AggregateId)
                .col(C::StreamVersion),
        )
        .to_owned()
}
