//! The worker's tables: nodes, the leader lease, consumers, assignments, checkpoints and
//! consumer status.
//!
//! Times are `timestamptz` on PostgreSQL and integer microseconds since the Unix epoch on
//! SQLite; both are written from the database's clock, never a node's.

use sea_query::{
    ColumnDef, Expr, ExprTrait, Iden, Index, IndexCreateStatement, Table, TableCreateStatement,
};

use crate::backend::{clock, long_text, name};
use crate::{Backend, Tables};

/// Columns of the worker tables (each table uses some of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum WorkerColumn {
    NodeId,
    Consumers,
    Version,
    StartedAt,
    HeartbeatAt,
    Id,
    Epoch,
    ExpiresAt,
    Name,
    Partitions,
    PreviousPartitions,
    DrainPosition,
    UpdatedAt,
    Consumer,
    Partition,
    Owner,
    Position,
    Upto,
    Paused,
    Attempts,
    LastError,
    FailedPosition,
    SkipPosition,
    FailingSince,
}

impl Iden for WorkerColumn {
    fn unquoted(&self) -> &str {
        match self {
            Self::NodeId => "node_id",
            Self::Consumers => "consumers",
            Self::Version => "version",
            Self::StartedAt => "started_at",
            Self::HeartbeatAt => "heartbeat_at",
            Self::Id => "id",
            Self::Epoch => "epoch",
            Self::ExpiresAt => "expires_at",
            Self::Name => "name",
            Self::Partitions => "partitions",
            Self::PreviousPartitions => "previous_partitions",
            Self::DrainPosition => "drain_position",
            Self::UpdatedAt => "updated_at",
            Self::Consumer => "consumer",
            Self::Partition => "partition",
            Self::Owner => "owner",
            Self::Position => "position",
            Self::Upto => "upto",
            Self::Paused => "paused",
            Self::Attempts => "attempts",
            Self::LastError => "last_error",
            Self::FailedPosition => "failed_position",
            Self::SkipPosition => "skip_position",
            Self::FailingSince => "failing_since",
        }
    }
}

use WorkerColumn as C;

/// The unit key columns shared by assignments, checkpoints and status.
fn unit_columns(backend: Backend, table: &mut TableCreateStatement) {
    table
        .col(name(backend, C::Consumer).not_null())
        .col(
            ColumnDef::new(C::Partitions)
                .integer()
                .not_null()
                .check(Expr::col(C::Partitions).gt(0)),
        )
        .col(
            ColumnDef::new(C::Partition).integer().not_null().check(Expr::col(C::Partition).gte(0)),
        )
        .primary_key(Index::create().col(C::Consumer).col(C::Partitions).col(C::Partition));
}

pub(crate) fn tables(backend: Backend, tables: &Tables) -> Vec<TableCreateStatement> {
    let consumers_type = match backend {
        Backend::Postgres => ColumnDef::new(C::Consumers).json_binary().not_null().to_owned(),
        Backend::Sqlite => ColumnDef::new(C::Consumers).text().not_null().to_owned(),
        Backend::Mysql => long_text(backend, C::Consumers).not_null().to_owned(),
    };
    let nodes = Table::create()
        .table(tables.table_name(tables.nodes()))
        .if_not_exists()
        .col(name(backend, C::NodeId).not_null().primary_key())
        .col(consumers_type)
        .col(name(backend, C::Version).not_null())
        .col(clock(backend, C::StartedAt).not_null())
        .col(clock(backend, C::HeartbeatAt).not_null())
        .to_owned();
    let leader = Table::create()
        .table(tables.table_name(tables.leader()))
        .if_not_exists()
        .col(
            ColumnDef::new(C::Id)
                .small_integer()
                .not_null()
                .primary_key()
                .check(Expr::col(C::Id).eq(1)),
        )
        .col(name(backend, C::NodeId).null())
        .col(ColumnDef::new(C::Epoch).big_integer().not_null())
        .col(clock(backend, C::ExpiresAt).not_null())
        .to_owned();
    let consumers = Table::create()
        .table(tables.table_name(tables.consumers()))
        .if_not_exists()
        .col(name(backend, C::Name).not_null().primary_key())
        .col(
            ColumnDef::new(C::Partitions)
                .integer()
                .not_null()
                .check(Expr::col(C::Partitions).gt(0)),
        )
        .col(ColumnDef::new(C::PreviousPartitions).integer().null())
        .col(ColumnDef::new(C::DrainPosition).big_integer().null())
        .col(clock(backend, C::UpdatedAt).not_null())
        .to_owned();
    let mut assignments = Table::create();
    assignments.table(tables.table_name(tables.assignments())).if_not_exists();
    unit_columns(backend, &mut assignments);
    assignments
        .col(name(backend, C::Owner).null())
        .col(ColumnDef::new(C::Epoch).big_integer().not_null());
    // MySQL has no `CREATE INDEX IF NOT EXISTS`: the owner index is declared here.
    if backend == Backend::Mysql {
        assignments.index(Index::create().name(owner_index(tables).as_str()).col(C::Owner));
    }
    let mut checkpoints = Table::create();
    checkpoints.table(tables.table_name(tables.checkpoints())).if_not_exists();
    unit_columns(backend, &mut checkpoints);
    checkpoints
        .col(
            ColumnDef::new(C::Position)
                .big_integer()
                .not_null()
                .check(Expr::col(C::Position).gte(0)),
        )
        .col(ColumnDef::new(C::Upto).big_integer().null())
        .col(clock(backend, C::UpdatedAt).not_null());
    let mut status = Table::create();
    status.table(tables.table_name(tables.consumer_status())).if_not_exists();
    unit_columns(backend, &mut status);
    status
        .col(ColumnDef::new(C::Paused).boolean().not_null())
        .col(ColumnDef::new(C::Attempts).integer().not_null())
        .col(long_text(backend, C::LastError).null())
        .col(ColumnDef::new(C::FailedPosition).big_integer().null())
        .col(ColumnDef::new(C::SkipPosition).big_integer().null())
        .col(clock(backend, C::FailingSince).null())
        .col(clock(backend, C::UpdatedAt).not_null());
    vec![nodes, leader, consumers, assignments, checkpoints, status]
}

fn owner_index(tables: &Tables) -> crate::Ident {
    tables.assignments().with_suffix("_owner_idx")
}

pub(crate) fn indexes(tables: &Tables) -> Vec<IndexCreateStatement> {
    vec![
        Index::create()
            .if_not_exists()
            .name(owner_index(tables).as_str())
            .table(tables.table_name(tables.assignments()))
            .col(C::Owner)
            .to_owned(),
    ]
}
