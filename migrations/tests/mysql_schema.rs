//! The MySQL schema on a real MariaDB: it applies, applies again without change, keeps names
//! case-sensitive and stores what the other backends store.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use pupsourcing_migrations::{Backend, Tables, statements};
use pupsourcing_testkit::mysql::TestDatabase;
use sqlx::{AssertSqlSafe, Row};

async fn apply(pool: &sqlx::MySqlPool, tables: &Tables) {
    for statement in statements(Backend::Mysql, tables).expect("statements") {
        sqlx::raw_sql(AssertSqlSafe(statement.clone()))
            .execute(pool)
            .await
            .unwrap_or_else(|err| panic!("MariaDB refused\n{statement}\n{err}"));
    }
}

#[tokio::test]
async fn the_schema_applies_twice_and_keys_names_byte_for_byte() {
    let db = TestDatabase::new("mysql_schema").await;
    let pool = db.pool(2).await.unwrap();
    let tables = Tables::new().with_prefix("app_").unwrap();
    apply(&pool, &tables).await;
    apply(&pool, &tables).await;

    let created: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
         WHERE table_schema = DATABASE() ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for table in ["app_events", "app_stream_heads", "app_snapshots", "app_data_keys"] {
        assert!(created.iter().any(|t| t == table), "{table} missing from {created:?}");
    }
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT CAST(index_name AS CHAR) FROM information_schema.statistics \
         WHERE table_schema = DATABASE() AND table_name = 'app_events'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for index in ["app_events_type_pos_idx", "app_events_ctx_pos_idx", "app_events_stream_key"] {
        assert!(indexes.iter().any(|i| i == index), "{index} missing from {indexes:?}");
    }

    let insert = "INSERT INTO app_events (bounded_context, aggregate_type, aggregate_id, \
                  aggregate_version, stream_hash, event_id, event_type, event_version, payload, \
                  metadata, created_at) VALUES ('', 'user', ?, 1, 0, ?, 'Registered', 1, ?, ?, \
                  '9999-12-31 23:59:59.999999')";
    let big = vec![7u8; 20 * 1024 * 1024];
    let mut positions = Vec::new();
    for id in ["abc", "ABC"] {
        let done = sqlx::query(insert)
            .bind(id)
            .bind(uuid::Uuid::new_v4().as_bytes().to_vec())
            .bind(if id == "abc" { big.clone() } else { vec![] })
            .bind(r#"{"n": 1e16, "z": -0.0}"#)
            .execute(&pool)
            .await
            .unwrap_or_else(|err| panic!("insert {id}: {err}"));
        positions.push(done.last_insert_id());
    }
    assert!(positions[0] < positions[1], "positions come from AUTO_INCREMENT: {positions:?}");
    let rows = sqlx::query(
        "SELECT aggregate_id, length(payload), metadata, created_at FROM app_events \
         ORDER BY global_position",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let ids: Vec<Vec<u8>> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(ids, [b"abc".to_vec(), b"ABC".to_vec()], "abc and ABC are two streams");
    assert_eq!(rows[0].get::<i64, _>(1), 20 * 1024 * 1024);
    assert_eq!(rows[0].get::<String, _>(2), r#"{"n": 1e16, "z": -0.0}"#, "metadata text kept");
    let created: chrono::NaiveDateTime = rows[0].get(3);
    assert_eq!(created.to_string(), "9999-12-31 23:59:59.999999");
}
