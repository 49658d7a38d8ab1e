//! PostgreSQL-only objects that sea-query does not model: the schema, the position sequence and
//! the position function.
//!
//! The global position is not a plain `nextval` default. Gap safety needs every inserting
//! transaction to hold a transaction id *before* it draws a position, so that a snapshot taken
//! after a position was drawn is guaranteed to list its writer as running or finished. The
//! default therefore calls a function that evaluates `pg_current_xact_id()` first (the `CASE`
//! fixes the order) and only then `nextval` on a sequence with `CACHE 1`, so no session can hold
//! pre-drawn positions that would come out of order.

use crate::Tables;

pub(crate) fn sequence(tables: &Tables) -> String {
    tables.qualified(&tables.events().with_suffix("_pos_seq"))
}

pub(crate) fn next_position_function(tables: &Tables) -> String {
    tables.qualified(&tables.events().with_suffix("_next_pos"))
}

pub(crate) fn before_tables(tables: &Tables) -> Vec<String> {
    let mut statements = Vec::new();
    if let Some(schema) = tables.schema() {
        statements.push(format!("CREATE SCHEMA IF NOT EXISTS {}", schema.quoted()));
    }
    let sequence = sequence(tables);
    statements.push(format!("CREATE SEQUENCE IF NOT EXISTS {sequence} AS bigint CACHE 1"));
    statements.push(format!(
        "CREATE OR REPLACE FUNCTION {function}() RETURNS bigint LANGUAGE sql VOLATILE AS \
         $$ SELECT CASE WHEN pg_current_xact_id() IS NOT NULL THEN nextval('{sequence}') END $$",
        function = next_position_function(tables),
    ));
    statements
}

pub(crate) fn after_tables(tables: &Tables) -> Vec<String> {
    vec![format!(
        "ALTER SEQUENCE {} OWNED BY {}.\"global_position\"",
        sequence(tables),
        tables.qualified(tables.events()),
    )]
}
