//! What only MySQL needs: the `INNODB_TRX` freshness rule, and the classification of InnoDB's
//! lock errors.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pupsourcing::{
    BackendErrorKind, Database, Event, EventStore, ExpectedVersion, StoreError, StreamId,
};
use pupsourcing_mysql::{GapStrategy, MysqlDatabase, MysqlStore, MysqlStoreConfig};
use pupsourcing_testkit::mysql::TestDatabase;
use tokio::sync::Barrier;

async fn fresh(test: &str) -> (TestDatabase, MysqlDatabase, MysqlStore) {
    let database = TestDatabase::new(test).await;
    let db = MysqlDatabase::connect(database.url(), 32).await.expect("connect");
    let store = MysqlStore::new(&db);
    store.migrate().await.expect("migrate");
    (database, db, store)
}

fn one(stream: &StreamId, label: &str) -> Vec<Event> {
    vec![Event::new(stream, label, b"{}".to_vec())]
}

/// While another session reads `INNODB_TRX` every 20 ms, InnoDB never refreshes the buffer:
/// it keeps showing the moment before a slow writer started. A frontier that believed it would
/// find no running transaction and declare the writer's position dead; this one counts the list
/// as fresh only when it shows the advance's own statement, so it stalls instead, however many
/// advances run. Once the reading stops, fresh lists show the writer running; when it rolls
/// back, the dead position is passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_transaction_list_never_proves_a_hole_dead() {
    let (_database, db, store) = fresh("mysql_stale_list").await;
    let polling = Arc::new(AtomicBool::new(true));
    let poller = {
        let (pool, polling) = (db.pool().clone(), Arc::clone(&polling));
        tokio::spawn(async move {
            while polling.load(Ordering::SeqCst) {
                let _ = sqlx::query("SELECT COUNT(*) FROM information_schema.INNODB_TRX")
                    .execute(&pool)
                    .await;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut slow = db.begin().await.unwrap();
    let low = store
        .append(&mut slow, ExpectedVersion::Any, one(&StreamId::new("t", "slow"), "low"))
        .await
        .unwrap()
        .last_position();
    let mut tx = db.begin().await.unwrap();
    let high = store
        .append(&mut tx, ExpectedVersion::Any, one(&StreamId::new("t", "fast"), "high"))
        .await
        .unwrap()
        .last_position();
    db.commit(tx).await.unwrap();
    assert!(high > low);
    for _ in 0..2 {
        let status = store.advance_frontier().await.expect("advance");
        assert!(status.safe_position < low, "a stale list let the frontier pass: {status:?}");
    }
    polling.store(false, Ordering::SeqCst);
    poller.await.unwrap();
    for _ in 0..2 {
        let status = store.advance_frontier().await.expect("advance");
        assert!(status.safe_position < low, "a running writer's position was passed: {status:?}");
    }

    db.rollback(slow).await.unwrap();
    let mut passed = 0;
    for _ in 0..3 {
        passed = store.advance_frontier().await.expect("advance").safe_position;
    }
    assert!(passed >= high, "the dead position was never passed: frontier {passed}");
}

/// Concurrent first appends to one new stream: one wins, every other gets a typed conflict or a
/// retryable error (InnoDB resolves racing inserts of one key with deadlocks), never a generic
/// failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_appends_get_typed_errors() {
    let (_database, db, store) = fresh("mysql_racing_first").await;
    for round in 0..5 {
        let stream = StreamId::new("race", format!("r{round}"));
        let barrier = Arc::new(Barrier::new(16));
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let (db, store, stream, barrier) =
                    (db.clone(), store.clone(), stream.clone(), Arc::clone(&barrier));
                tokio::spawn(async move {
                    let mut tx = db.begin().await.unwrap();
                    barrier.wait().await;
                    let result = store
                        .append(&mut tx, ExpectedVersion::NoStream, one(&stream, &i.to_string()))
                        .await;
                    match result {
                        Ok(_) => db.commit(tx).await.map(|()| true).map_err(StoreError::from),
                        Err(err) => {
                            let _ = db.rollback(tx).await;
                            Err(err)
                        }
                    }
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => won += 1,
                Err(StoreError::Conflict { .. }) => {}
                Err(err) if err.is_retryable() => {}
                Err(err) => panic!("round {round}: an untyped failure: {err:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}: exactly one first append");
    }
}

/// Without `PROCESS`, `migrate()` refuses the default strategy with a typed error that says what
/// to grant or which strategy needs nothing; the counter strategy works for the same user.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_process_privilege_is_reported_at_start_up() {
    let database = TestDatabase::new("mysql_no_process").await;
    let admin = MysqlDatabase::connect(database.url(), 2).await.expect("connect");
    let user = format!("np_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    for statement in [
        format!("CREATE USER '{user}'@'localhost' IDENTIFIED BY 'secret'"),
        format!("GRANT ALL PRIVILEGES ON `{}`.* TO '{user}'@'localhost'", database.name()),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(admin.pool()).await.unwrap();
    }
    let url = database.url().replacen("mysql://root@", &format!("mysql://{user}:secret@"), 1);
    let db = MysqlDatabase::connect(&url, 4).await.expect("connect without PROCESS");
    let refused = MysqlStore::new(&db).migrate().await.expect_err("PROCESS is missing");
    assert_eq!(refused.kind(), BackendErrorKind::Privilege, "{refused}");
    let message = format!("{refused} {refused:?}");
    assert!(message.contains("PROCESS") && message.contains("CounterRow"), "{message}");

    let config = MysqlStoreConfig::default().with_gap_strategy(GapStrategy::CounterRow);
    let store = MysqlStore::with_config(&db, config);
    store.migrate().await.expect("the counter strategy needs no privilege");
    let mut tx = db.begin().await.unwrap();
    store
        .append(&mut tx, ExpectedVersion::NoStream, one(&StreamId::new("t", "1"), "x"))
        .await
        .unwrap();
    db.commit(tx).await.unwrap();
    assert_eq!(store.advance_frontier().await.expect("advance").safe_position, 1);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP USER '{user}'@'localhost'")))
        .execute(admin.pool())
        .await
        .unwrap();
}

/// A real deadlock between two transactions is classified as one, and retryable.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deadlocks_are_classified_retryable() {
    let (_database, db, _store) = fresh("mysql_deadlock").await;
    sqlx::query("CREATE TABLE pairs (id INT PRIMARY KEY, n INT)").execute(db.pool()).await.unwrap();
    sqlx::query("INSERT INTO pairs VALUES (1, 0), (2, 0)").execute(db.pool()).await.unwrap();
    let barrier = Arc::new(Barrier::new(2));
    let tasks: Vec<_> = [(1, 2), (2, 1)]
        .into_iter()
        .map(|(first, second)| {
            let (db, barrier) = (db.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                let mut tx = db.begin().await.unwrap();
                sqlx::query("UPDATE pairs SET n = n + 1 WHERE id = ?")
                    .bind(first)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                barrier.wait().await;
                let second = sqlx::query("UPDATE pairs SET n = n + 1 WHERE id = ?")
                    .bind(second)
                    .execute(&mut *tx)
                    .await;
                match second {
                    Ok(_) => tx.commit().await.map_err(Some),
                    Err(err) => Err(Some(err)),
                }
            })
        })
        .collect();
    let mut kinds = Vec::new();
    for task in tasks {
        if let Err(Some(err)) = task.await.unwrap() {
            kinds.push(MysqlDatabase::classify(&err));
        }
    }
    assert_eq!(kinds, vec![Some(BackendErrorKind::Deadlock)], "one victim, classified");
}
