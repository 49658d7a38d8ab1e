//! Every shared statement rendered for every dialect, pinned in `golden/<dialect>.sql`. After an
//! intended change, `PUPSOURCING_BLESS=1 cargo test -p pupsourcing-migrations golden` rewrites
//! the files; review the diff.

use super::*;
use crate::Tables;

fn rendered(dialect: Dialect) -> String {
    let tables = Tables::new();
    let events = EventStatements::new(dialect, &tables);
    let membership = MembershipStatements::new(dialect, &tables);
    let leadership = LeadershipStatements::new(dialect, &tables);
    let assignments = AssignmentStatements::new(dialect, &tables);
    let batches = BatchStatements::new(dialect, &tables);
    let operations = OperationStatements::new(dialect, &tables);
    let snapshots = SnapshotStatements::new(dialect, &tables);
    let all: Vec<(&str, &Statement)> = vec![
        ("events.read_stream", &events.read_stream),
        ("events.stream_version", &events.stream_version),
        ("events.read_events", &events.read_events),
        ("events.latest_position", &events.latest_position),
        ("membership.leave", &membership.leave),
        ("membership.live_nodes", &membership.live_nodes),
        ("leadership.release_lease", &leadership.release_lease),
        ("assignments.consumers", &assignments.consumers),
        ("assignments.units", &assignments.units),
        ("assignments.create_consumer", &assignments.create_consumer),
        ("assignments.start_transition", &assignments.start_transition),
        ("assignments.set_drain_limit", &assignments.set_drain_limit),
        ("assignments.drop_assignments", &assignments.drop_assignments),
        ("assignments.drop_checkpoints", &assignments.drop_checkpoints),
        ("assignments.drop_status", &assignments.drop_status),
        ("assignments.finish_transition", &assignments.finish_transition),
        ("assignments.assign", &assignments.assign),
        ("assignments.assignments_of", &assignments.assignments_of),
        ("assignments.release_units", &assignments.release_units),
        ("batches.clear_failures", &batches.clear_failures),
        ("operations.status", &operations.status),
        ("operations.nodes", &operations.nodes),
        ("operations.set_paused", &operations.set_paused),
        ("operations.reset_checkpoints", &operations.reset_checkpoints),
        ("operations.reset_status", &operations.reset_status),
        ("snapshots.save", &snapshots.save),
        ("snapshots.latest", &snapshots.latest),
        ("snapshots.delete_stream", &snapshots.delete_stream),
        ("snapshots.delete_aggregate_type", &snapshots.delete_aggregate_type),
        ("snapshots.stats", &snapshots.stats),
    ];
    all.iter()
        .map(|(name, statement)| {
            format!("-- {name} (arguments {:?})\n{};\n", statement.order, statement.sql)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn pinned(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => include_str!("golden/postgres.sql"),
        Dialect::Sqlite => include_str!("golden/sqlite.sql"),
        Dialect::Mysql => include_str!("golden/mysql.sql"),
    }
}

#[test]
fn every_shared_statement_renders_as_pinned_for_every_dialect() {
    let bless = std::env::var_os("PUPSOURCING_BLESS").is_some();
    for dialect in Dialect::ALL {
        let text = rendered(dialect);
        if bless {
            let path = format!("{}/src/queries/golden/{dialect}.sql", env!("CARGO_MANIFEST_DIR"));
            std::fs::write(&path, &text).expect("write the golden file");
        } else {
            assert_eq!(
                text,
                pinned(dialect),
                "{dialect}: the rendered SQL changed; if intended, rerun with PUPSOURCING_BLESS=1 \
                 and review the diff"
            );
        }
    }
}

#[test]
fn no_dialect_drops_a_clause_or_inlines_a_value() {
    for dialect in Dialect::ALL {
        let tables = Tables::new();
        let snapshots = SnapshotStatements::new(dialect, &tables);
        let upsert = snapshots.save.sql();
        match dialect {
            Dialect::Mysql => assert!(upsert.contains("ON DUPLICATE KEY UPDATE"), "{upsert}"),
            _ => {
                assert!(upsert.contains("ON CONFLICT") && upsert.contains("DO UPDATE"), "{upsert}")
            }
        }
        // sea-query renders a bare `do_nothing` on MySQL as `ON DUPLICATE KEY IGNORE`, which
        // MySQL refuses: the polyfill must name a column.
        let create = AssignmentStatements::new(dialect, &tables).create_consumer;
        let expected = match dialect {
            Dialect::Mysql => "ON DUPLICATE KEY UPDATE `name` = `name`",
            _ => "ON CONFLICT (\"name\") DO NOTHING",
        };
        assert!(create.sql().ends_with(expected), "{dialect}: {}", create.sql());
        for statement in [&snapshots.save, &snapshots.latest, &snapshots.stats] {
            let placeholders = match dialect {
                Dialect::Postgres => statement.sql().matches('$').count(),
                _ => statement.sql().matches('?').count(),
            };
            assert_eq!(placeholders, statement.order.len(), "{dialect}: {}", statement.sql());
        }
    }
}

#[test]
fn values_follow_the_placeholders() {
    let set_paused = OperationStatements::new(Dialect::Mysql, &Tables::new()).set_paused;
    assert_eq!(set_paused.arity(), 3);
    let values = set_paused.values(&[Value::from("c"), Value::Int(None), Value::Bool(Some(true))]);
    let firsts: Vec<&Value> = values.0.iter().collect();
    assert_eq!(firsts.len(), set_paused.order.len());
    for (value, index) in values.0.iter().zip(&set_paused.order) {
        let expected = match index {
            0 => Value::from("c"),
            1 => Value::Int(None),
            _ => Value::Bool(Some(true)),
        };
        assert_eq!(value, &expected);
    }
}

/// Why appends, lease acquisition and `RETURNING` statements stay hand-written: sea-query's
/// MySQL builder drops what MySQL lacks instead of failing. Rendered there, a conditional lease
/// upsert would let any node take a live lease. If this test fails, sea-query changed and the
/// shared set may grow.
#[test]
fn sea_query_silently_drops_what_mysql_lacks() {
    use sea_query::{OnConflict, Query, ReturningClause};

    use crate::WorkerColumn as C;
    let tables = Tables::new();
    let lease = Query::insert()
        .into_table(tables.table_name(tables.leader()))
        .columns([C::Id, C::NodeId])
        .values_panic([arg(0), arg(1)])
        .on_conflict(
            OnConflict::column(C::Id)
                .update_column(C::NodeId)
                .action_and_where(Expr::col(C::ExpiresAt).lte(Dialect::Mysql.now()))
                .to_owned(),
        )
        .returning(ReturningClause::Columns(vec![sea_query::IntoColumnRef::into_column_ref(
            C::Epoch,
        )]))
        .to_owned();
    let postgres = Statement::render(Dialect::Postgres, &lease);
    let mysql = Statement::render(Dialect::Mysql, &lease);
    assert!(postgres.sql().contains("WHERE") && postgres.sql().contains("RETURNING"));
    assert!(!mysql.sql().contains("WHERE"), "{}", mysql.sql());
    assert!(!mysql.sql().contains("RETURNING"), "{}", mysql.sql());
}
