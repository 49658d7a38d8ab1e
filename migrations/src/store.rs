//! The event-store tables: `events` (the log) and `stream_heads` (one row per stream with its
//! current version, so a version check is one primary-key lookup).

use sea_query::{
    ColumnDef, Expr, ExprTrait, Iden, Index, IndexCreateStatement, Table, TableCreateStatement,
};

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
    if backend == Backend::Postgres {
        position
            .default(Expr::cust(format!("{}()", crate::postgres::next_position_function(tables))));
    }
    // `json`, not `jsonb`, on PostgreSQL: it keeps the text as written, so numbers read back
    // exactly (`jsonb` turns `1e16` into `10000000000000000` and `-0.0` into `0`).
    let mut metadata = ColumnDef::new(C::Metadata);
    metadata.json();
    Table::create()
        .table(tables.table_name(events))
        .if_not_exists()
        .col(position)
        .col(ColumnDef::new(C::BoundedContext).text().not_null().default(""))
        .col(ColumnDef::new(C::AggregateType).text().not_null())
        .col(ColumnDef::new(C::AggregateId).text().not_null())
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
        .col(ColumnDef::new(C::EventType).text().not_null())
        .col(
            ColumnDef::new(C::EventVersion)
                .integer()
                .not_null()
                .check(Expr::col(C::EventVersion).gte(0)),
        )
        .col(ColumnDef::new(C::Payload).blob().not_null())
        .col(metadata.not_null())
        .col(ColumnDef::new(C::CreatedAt).timestamp_with_time_zone().not_null())
        .col(ColumnDef::new(C::TraceId).text().null())
        .col(ColumnDef::new(C::CorrelationId).text().null())
        .col(ColumnDef::new(C::CausationId).text().null())
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
        )
        .to_owned()
}

/// Indexes for consumers that read the log filtered by aggregate type or bounded context, in
/// position order.
pub(crate) fn event_indexes(tables: &Tables) -> Vec<IndexCreateStatement> {
    use EventColumn as C;
    let events = tables.events();
    [("_type_pos_idx", C::AggregateType), ("_ctx_pos_idx", C::BoundedContext)]
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

pub(crate) fn stream_heads_table(tables: &Tables) -> TableCreateStatement {
    use StreamHeadColumn as C;
    Table::create()
        .table(tables.table_name(tables.stream_heads()))
        .if_not_exists()
        .col(ColumnDef::new(C::BoundedContext).text().not_null())
        .col(ColumnDef::new(C::AggregateType).text().not_null())
        .col(ColumnDef::new(C::AggregateId).text().not_null())
        .col(ColumnDef::new(C::Version).big_integer().not_null().check(Expr::col(C::Version).gt(0)))
        .primary_key(
            Index::create().col(C::BoundedContext).col(C::AggregateType).col(C::AggregateId),
        )
        .to_owned()
}
