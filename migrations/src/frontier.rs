//! The frontier tables of the backends with concurrent writers (PostgreSQL, MySQL): `event_frontier` (one row, the safe position) and
//! `event_holes` (runs of missing positions above it, with the snapshot bound recorded when each
//! run was first seen, and how it was resolved: filled, dead or forced).

use sea_query::{
    ColumnDef, Expr, ExprTrait, Iden, InsertStatement, OnConflict, Query, Table,
    TableCreateStatement,
};

use crate::backend::{instant, name};
use crate::{Backend, Tables};

/// Columns of the frontier table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum FrontierColumn {
    Id,
    SafePosition,
    UpdatedAt,
}

impl Iden for FrontierColumn {
    fn unquoted(&self) -> &str {
        match self {
            Self::Id => "id",
            Self::SafePosition => "safe_position",
            Self::UpdatedAt => "updated_at",
        }
    }
}

/// Columns of the holes table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum HoleColumn {
    StartPosition,
    EndPosition,
    FirstSeenXid,
    FirstSeenAt,
    ResolvedAt,
    Resolution,
}

impl Iden for HoleColumn {
    fn unquoted(&self) -> &str {
        match self {
            Self::StartPosition => "start_position",
            Self::EndPosition => "end_position",
            Self::FirstSeenXid => "first_seen_xid",
            Self::FirstSeenAt => "first_seen_at",
            Self::ResolvedAt => "resolved_at",
            Self::Resolution => "resolution",
        }
    }
}

/// `now` as a column default: MySQL wants the column's precision.
fn now(backend: Backend) -> Expr {
    match backend {
        Backend::Mysql => Expr::cust("CURRENT_TIMESTAMP(6)"),
        Backend::Postgres | Backend::Sqlite => Expr::current_timestamp(),
    }
}

pub(crate) fn frontier_table(backend: Backend, tables: &Tables) -> TableCreateStatement {
    use FrontierColumn as C;
    Table::create()
        .table(tables.table_name(tables.frontier()))
        .if_not_exists()
        .col(
            ColumnDef::new(C::Id)
                .small_integer()
                .not_null()
                .primary_key()
                .check(Expr::col(C::Id).eq(1)),
        )
        .col(
            ColumnDef::new(C::SafePosition)
                .big_integer()
                .not_null()
                .check(Expr::col(C::SafePosition).gte(0)),
        )
        .col(instant(backend, C::UpdatedAt).not_null().default(now(backend)))
        .to_owned()
}

pub(crate) fn frontier_row(tables: &Tables) -> InsertStatement {
    use FrontierColumn as C;
    Query::insert()
        .into_table(tables.table_name(tables.frontier()))
        .columns([C::Id, C::SafePosition])
        .values_panic([1.into(), 0.into()])
        .on_conflict(OnConflict::column(C::Id).do_nothing_on([C::Id]).to_owned())
        .to_owned()
}

pub(crate) fn holes_table(backend: Backend, tables: &Tables) -> TableCreateStatement {
    use HoleColumn as C;
    Table::create()
        .table(tables.table_name(tables.holes()))
        .if_not_exists()
        .col(ColumnDef::new(C::StartPosition).big_integer().not_null().primary_key())
        .col(ColumnDef::new(C::EndPosition).big_integer().not_null())
        .col(ColumnDef::new(C::FirstSeenXid).big_integer().not_null())
        .col(instant(backend, C::FirstSeenAt).not_null().default(now(backend)))
        .col(instant(backend, C::ResolvedAt).null())
        .col(
            name(backend, C::Resolution)
                .null()
                .check(Expr::col(C::Resolution).is_in(["filled", "dead", "forced"])),
        )
        .check(Expr::col(C::EndPosition).gte(Expr::col(C::StartPosition)))
        .to_owned()
}
