//! The event-store tables: `events` (the log) and `stream_heads` (one row per stream with its
//! current version, so a version check is one primary-key lookup).

use sea_query::{
    ColumnDef, Expr, ExprTrait, Iden, Index, IndexCreateStatement, Table, TableCreateStatement,
};

use crate::backend::{bytes, instant, long_text, name};
use crate::{Backend, Tables};

/// Columns of the events table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum EventColumn {
    GlobalPosition,
    BoundedContext,
    AggregateType,
    AggregateId,
    AggregateVersion,
    StreamHash,
    EventId,
    EventType,
    EventVersion,
    Payload,
    Metadata,
    CreatedAt,
    TraceId,
    CorrelationId,
    CausationId,
}

impl Iden for EventColumn {
    fn unquoted(&self) -> &str {
        match self {
            Self::GlobalPosition => "global_position",
            Self::BoundedContext => "bounded_context",
            Self::AggregateType => "aggregate_type",
            Self::AggregateId => "aggregate_id",
            Self::AggregateVersion => "aggregate_version",
            Self::StreamHash => "stream_hash",
            Self::EventId => "event_id",
            Self::EventType => "event_type",
            Self::EventVersion => "event_version",
            Self::Payload => "payload",
            Self::Metadata => "metadata",
            Self::CreatedAt => "created_at",
            Self::TraceId => "trace_id",
            Self::CorrelationId => "correlation_id",
            Self::CausationId => "causation_id",
        }
    }
}

/// Columns of the stream-heads table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum StreamHeadColumn {
    BoundedContext,
    AggregateType,
    AggregateId,
    Version,
}

impl Iden for StreamHeadColumn {
    fn unquoted(&self) -> &str {
        match self {
            Self::BoundedContext => "bounded_context",
            Self::AggregateType => "aggregate_type",
            Self::AggregateId => "aggregate_id",
            Self::Version => "version",
        }
    }
}

/// Suffix of the unique constraint on `event_id`; adapters match errors against it.
pub const EVENT_ID_KEY_SUFFIX: &str = "_event_id_key";
/// Suffix of the unique constraint on (stream, version); adapters match errors against it.
pub const STREAM_VERSION_KEY_SUFFIX: &str = "_stream_key";

pub(crate) fn events_table(backend: Backend, tables: &Tables) -> TableCreateStatement {
    use EventColumn as C;
    let events = tables.events();
    let mut position = ColumnDef::new(C::GlobalPosition);
    position.big_integer().not_null().primary_key();
    match backend {
        Backend::Postgres => {
            position.default(Expr::cust(format!(
                "{}()",
                crate::postgres::next_position_function(tables)
            )));
        }
        Backend::Mysql => {
            position.auto_increment();
        }
        Backend::Sqlite => {}
    }
    // `json`, not `jsonb`, on PostgreSQL and `LONGTEXT`, not `JSON`, on MySQL: both keep the
    // text as written, so numbers read back exactly (`jsonb` turns `1e16` into
    // `10000000000000000` and `-0.0` into `0`).
    let mut metadata = match backend {
        Backend::Mysql => long_text(backend, C::Metadata),
        Backend::Postgres | Backend::Sqlite => ColumnDef::new(C::Metadata).json().to_owned(),
    };
    let mut table = Table::create();
    table
        .table(tables.table_name(events))
        .if_not_exists()
        .col(position)
        .col(name(backend, C::BoundedContext).not_null().default(""))
        .col(name(backend, C::AggregateType).not_null())
        .col(name(backend, C::AggregateId).not_null())
        .col(
            ColumnDef::new(C::AggregateVersion)
                .big_integer()
                .not_null()
                .check(Expr::col(C::AggregateVersion).gt(0)),
        )
        .col(
            ColumnDef::new(C::StreamHash)
                .big_integer()
                .not_null()
                .check(Expr::col(C::StreamHash).gte(0)),
        )
        .col(ColumnDef::new(C::EventId).uuid().not_null())
        .col(name(backend, C::EventType).not_null())
        .col(
            ColumnDef::new(C::EventVersion)
                .integer()
                .not_null()
                .check(Expr::col(C::EventVersion).gte(0)),
        )
        .col(bytes(backend, C::Payload).not_null())
        .col(metadata.not_null())
        .col(instant(backend, C::CreatedAt).not_null())
        .col(long_text(backend, C::TraceId).null())
        .col(long_text(backend, C::CorrelationId).null())
        .col(long_text(backend, C::CausationId).null())
        .index(
            Index::create()
                .name(events.with_suffix(EVENT_ID_KEY_SUFFIX).as_str())
                .unique()
                .col(C::EventId),
        )
        .index(
            Index::create()
                .name(events.with_suffix(STREAM_VERSION_KEY_SUFFIX).as_str())
                .unique()
                .col(C::BoundedContext)
                .col(C::AggregateType)
                .col(C::AggregateId)
                .col(C::AggregateVersion),
        );
    // MySQL has no `CREATE INDEX IF NOT EXISTS`: its filter indexes are declared here.
    if backend == Backend::Mysql {
        for (suffix, column) in FILTER_INDEXES {
            table.index(
                Index::create()
                    .name(events.with_suffix(suffix).as_str())
                    .col(column)
                    .col(C::GlobalPosition),
            );
        }
    }
    table.to_owned()
}

/// The filter indexes: name suffix and leading column.
const FILTER_INDEXES: [(&str, EventColumn); 2] =
    [("_type_pos_idx", EventColumn::AggregateType), ("_ctx_pos_idx", EventColumn::BoundedContext)];

/// Indexes for consumers that read the log filtered by aggregate type or bounded context, in
/// position order.
pub(crate) fn event_indexes(tables: &Tables) -> Vec<IndexCreateStatement> {
    use EventColumn as C;
    let events = tables.events();
    FILTER_INDEXES
        .into_iter()
        .map(|(suffix, column)| {
            Index::create()
                .if_not_exists()
                .name(events.with_suffix(suffix).as_str())
                .table(tables.table_name(events))
                .col(column)
                .col(C::GlobalPosition)
                .to_owned()
        })
        .collect()
}

/// MySQL's position counter for the serialized gap strategy: one row, the last position drawn.
pub(crate) fn position_counter_table(tables: &Tables) -> TableCreateStatement {
    use sea_query::Alias;
    Table::create()
        .table(tables.table_name(&tables.position_counter()))
        .if_not_exists()
        .col(ColumnDef::new(Alias::new("id")).small_integer().not_null().primary_key())
        .col(ColumnDef::new(Alias::new("last_position")).big_integer().not_null())
        .to_owned()
}

pub(crate) fn stream_heads_table(backend: Backend, tables: &Tables) -> TableCreateStatement {
    use StreamHeadColumn as C;
    Table::create()
        .table(tables.table_name(tables.stream_heads()))
        .if_not_exists()
        .col(name(backend, C::BoundedContext).not_null())
        .col(name(backend, C::AggregateType).not_null())
        .col(name(backend, C::AggregateId).not_null())
        .col(ColumnDef::new(C::Version).big_integer().not_null().check(Expr::col(C::Version).gt(0)))
        .primary_key(
            Index::create().col(C::BoundedContext).col(C::AggregateType).col(C::AggregateId),
        )
        .to_owned()
}
