//! The store's reads: a stream, the raw log, the latest position, a stream's version, and the
//! consumers' filtered read up to the frontier (whose shape depends on the caller, so it is
//! built per call).

use sea_query::{Expr, ExprTrait, Iden, Order, Query, SelectStatement};

use super::{Dialect, Statement, arg};
use crate::{EventColumn, StreamHeadColumn, Tables};

/// The columns of an event row, in the order adapters decode them.
pub const EVENT_COLUMNS: [EventColumn; 14] = [
    EventColumn::GlobalPosition,
    EventColumn::AggregateVersion,
    EventColumn::BoundedContext,
    EventColumn::AggregateType,
    EventColumn::AggregateId,
    EventColumn::EventId,
    EventColumn::EventType,
    EventColumn::EventVersion,
    EventColumn::Payload,
    EventColumn::Metadata,
    EventColumn::CreatedAt,
    EventColumn::TraceId,
    EventColumn::CorrelationId,
    EventColumn::CausationId,
];

/// [`EVENT_COLUMNS`] as a select list for hand-written SQL.
pub fn event_column_list() -> String {
    EVENT_COLUMNS.iter().map(Iden::unquoted).collect::<Vec<_>>().join(", ")
}

/// A consumer's read of the log: positions in `(after, frontier]`, optionally restricted to some
/// aggregate types and bounded contexts (empty: any), oldest first, at most `limit` rows.
#[derive(Debug, Clone, Copy)]
pub struct EventsUntil<'a> {
    /// Exclusive lower bound.
    pub after: i64,
    /// Inclusive upper bound: the safe frontier.
    pub frontier: i64,
    /// Aggregate types to keep; empty keeps all.
    pub aggregate_types: &'a [String],
    /// Bounded contexts to keep; empty keeps all.
    pub bounded_contexts: &'a [String],
    /// Event types to keep; empty keeps all.
    pub event_types: &'a [String],
    /// Only streams whose `stream_hash` is at least the first and below the second (no upper
    /// bound when `None`): one partition's hashes, which have 63 bits.
    pub stream_hashes: Option<(u64, Option<u64>)>,
    /// Row limit (non-negative: sea-query binds it unsigned).
    pub limit: i64,
}

/// The select for `query`. Uses the `(aggregate_type, global_position)` and
/// `(bounded_context, global_position)` indexes when filtered.
pub fn events_until(tables: &Tables, query: &EventsUntil<'_>) -> SelectStatement {
    use EventColumn as C;
    let mut select = Query::select();
    select
        .columns(EVENT_COLUMNS)
        .from(tables.table_name(tables.events()))
        .and_where(Expr::col(C::GlobalPosition).gt(query.after))
        .and_where(Expr::col(C::GlobalPosition).lte(query.frontier));
    if !query.aggregate_types.is_empty() {
        select.and_where(Expr::col(C::AggregateType).is_in(query.aggregate_types.iter().cloned()));
    }
    if !query.bounded_contexts.is_empty() {
        select
            .and_where(Expr::col(C::BoundedContext).is_in(query.bounded_contexts.iter().cloned()));
    }
    if !query.event_types.is_empty() {
        select.and_where(Expr::col(C::EventType).is_in(query.event_types.iter().cloned()));
    }
    if let Some((start, end)) = query.stream_hashes {
        let signed = |hash: u64| i64::try_from(hash).unwrap_or(i64::MAX);
        select.and_where(Expr::col(C::StreamHash).gte(signed(start)));
        if let Some(end) = end {
            select.and_where(Expr::col(C::StreamHash).lt(signed(end)));
        }
    }
    select.order_by(C::GlobalPosition, Order::Asc).limit(u64::try_from(query.limit).unwrap_or(0));
    select
}

/// The store's fixed reads, rendered for one dialect.
#[derive(Debug, Clone)]
pub struct EventStatements {
    /// A stream's events with versions in `[3, 4]`: arguments bounded context (`""` for none),
    /// aggregate type, aggregate id, first and last version.
    pub read_stream: Statement,
    /// A stream's head version: bounded context, aggregate type, aggregate id.
    pub stream_version: Statement,
    /// Events after position `0`, at most `1` of them, oldest first.
    pub read_events: Statement,
    /// The highest position, 0 for an empty log.
    pub latest_position: Statement,
}

impl EventStatements {
    /// The statements over `tables`, in `dialect`.
    pub fn new(dialect: Dialect, tables: &Tables) -> Self {
        use EventColumn as C;
        let events = tables.table_name(tables.events());
        let stream = |context, kind, id| {
            Expr::col(C::BoundedContext)
                .eq(arg(context))
                .and(Expr::col(C::AggregateType).eq(arg(kind)))
                .and(Expr::col(C::AggregateId).eq(arg(id)))
        };
        let read_stream = Query::select()
            .columns(EVENT_COLUMNS)
            .from(events.clone())
            .cond_where(stream(0, 1, 2))
            .and_where(Expr::col(C::AggregateVersion).between(arg(3), arg(4)))
            .order_by(C::AggregateVersion, Order::Asc)
            .to_owned();
        let stream_version = Query::select()
            .column(StreamHeadColumn::Version)
            .from(tables.table_name(tables.stream_heads()))
            .cond_where(stream(0, 1, 2))
            .to_owned();
        let read_events = Query::select()
            .columns(EVENT_COLUMNS)
            .from(events.clone())
            .and_where(Expr::col(C::GlobalPosition).gt(arg(0)))
            .order_by(C::GlobalPosition, Order::Asc)
            .to_owned();
        let latest_position = Query::select()
            .expr(Expr::cust(format!("coalesce(max({}), 0)", C::GlobalPosition.unquoted())))
            .from(events)
            .to_owned();
        Self {
            read_stream: Statement::render(dialect, &read_stream),
            stream_version: Statement::render(dialect, &stream_version),
            read_events: Statement::render(dialect, &read_events).with_limit(dialect, 1),
            latest_position: Statement::render(dialect, &latest_position),
        }
    }
}

#[cfg(test)]
mod tests {
    use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    use super::*;

    #[test]
    fn filters_become_in_lists_and_values_stay_bound() {
        let types = vec!["order".to_owned(), "invoice".to_owned()];
        let query = EventsUntil {
            after: 5,
            frontier: 9,
            aggregate_types: &types,
            bounded_contexts: &[],
            event_types: &["Placed".to_owned()],
            stream_hashes: Some((1 << 62, Some(3 << 61))),
            limit: 100,
        };
        let (sql, values) = events_until(&Tables::new(), &query).build(PostgresQueryBuilder);
        assert!(sql.contains("\"global_position\" > $1 AND \"global_position\" <= $2"), "{sql}");
        assert!(sql.contains("\"aggregate_type\" IN ($3, $4)"), "{sql}");
        assert!(sql.contains("\"event_type\" IN ($5)"), "{sql}");
        assert!(sql.contains("\"stream_hash\" >= $6 AND \"stream_hash\" < $7"), "{sql}");
        assert!(sql.ends_with("ORDER BY \"global_position\" ASC LIMIT $8"), "{sql}");
        assert_eq!(values.0.len(), 8);
        let last = EventsUntil { stream_hashes: Some((3 << 61, None)), ..query };
        let (sql, values) = events_until(&Tables::new(), &last).build(PostgresQueryBuilder);
        assert!(
            sql.contains("\"stream_hash\" >= $6 ORDER BY"),
            "the last partition is open: {sql}"
        );
        assert_eq!(values.0.len(), 7);
        let (sql, _) = events_until(&Tables::new(), &query).build(SqliteQueryBuilder);
        assert!(sql.starts_with(&format!("SELECT \"{}\"", "global_position")), "{sql}");
        assert!(!sql.contains("order'"), "values must not be inlined: {sql}");
    }

    #[test]
    fn column_list_matches_the_decoding_order() {
        assert!(
            event_column_list().starts_with("global_position, aggregate_version, bounded_context")
        );
        assert!(event_column_list().ends_with("correlation_id, causation_id"));
    }
}
