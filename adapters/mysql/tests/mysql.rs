//! What only MySQL needs: the `INNODB_TRX` freshness rule, and the classification of InnoDB's
//! lock errors.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use pupsourcing::{
    BackendErrorKind, Database, Event, EventStore, ExpectedVersion, StoreError, StreamId,
};
use pupsourcing_mysql::{
    GapStrategy, MysqlDatabase, MysqlStore, MysqlStoreConfig, PositionReadback,
};
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

/// MYSQL.md's torture on MariaDB: 16 writers, commits delayed 0–200 ms, one in twenty held for
/// 1.5 s, one in five rolled back, and one late commit staged for certain. A reader that goes on
/// "after the last position it saw" misses events; the reader that stays at or below the fenced
/// frontier sees every committed event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_slow_writers_and_rollbacks_only_the_fenced_reader_misses_nothing() {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use pupsourcing::LogQuery;
    use tokio::sync::{Mutex, oneshot};

    let (_database, db, store) = fresh("mysql_torture").await;
    let committed = Arc::new(Mutex::new(BTreeSet::new()));
    let running = Arc::new(AtomicBool::new(true));

    // The staged late commit: a low position drawn, a higher one committed, then the low one.
    let (drawn_tx, drawn) = oneshot::channel::<()>();
    let (release_tx, release) = oneshot::channel::<()>();
    let late = {
        let (db, store, committed) = (db.clone(), store.clone(), Arc::clone(&committed));
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            let position = store
                .append(&mut tx, ExpectedVersion::Any, one(&StreamId::new("t", "late"), "late"))
                .await
                .unwrap()
                .last_position();
            drawn_tx.send(()).unwrap();
            release.await.unwrap();
            db.commit(tx).await.unwrap();
            committed.lock().await.insert(position);
        })
    };
    drawn.await.unwrap();

    let writers: Vec<_> = (0..16u64)
        .map(|w| {
            let (db, store, committed) = (db.clone(), store.clone(), Arc::clone(&committed));
            tokio::spawn(async move {
                let mut seed = w.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let mut next = move || {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    seed >> 33
                };
                for n in 0..12 {
                    let stream = StreamId::new("torture", format!("w{w}-{n}"));
                    let mut tx = db.begin().await.unwrap();
                    let position = store
                        .append(&mut tx, ExpectedVersion::Any, one(&stream, "e"))
                        .await
                        .unwrap()
                        .last_position();
                    let delay = if next() % 20 == 0 { 1_500 } else { next() % 200 };
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    if next() % 5 == 0 {
                        db.rollback(tx).await.unwrap();
                    } else {
                        db.commit(tx).await.unwrap();
                        committed.lock().await.insert(position);
                    }
                }
            })
        })
        .collect();

    let naive = {
        let (db, store, running) = (db.clone(), store.clone(), Arc::clone(&running));
        tokio::spawn(async move {
            let (mut seen, mut after) = (BTreeSet::new(), 0);
            while running.load(Ordering::SeqCst) {
                let mut tx = db.begin_read().await.unwrap();
                for event in store.read_events(&mut tx, after, 10_000).await.unwrap() {
                    after = after.max(event.global_position);
                    seen.insert(event.global_position);
                }
                db.rollback(tx).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        })
    };
    let fenced = {
        let (db, store, running) = (db.clone(), store.clone(), Arc::clone(&running));
        tokio::spawn(async move {
            let (mut seen, mut after, mut duplicates) = (BTreeSet::new(), 0, 0);
            loop {
                let done = !running.load(Ordering::SeqCst);
                let status = store.advance_frontier().await.unwrap();
                let mut tx = db.begin_read().await.unwrap();
                let query = LogQuery::up_to(status.safe_position).after(after).limit(10_000);
                for event in store.read_events_until(&mut tx, &query).await.unwrap() {
                    duplicates += usize::from(!seen.insert(event.global_position));
                }
                db.rollback(tx).await.unwrap();
                after = status.safe_position;
                if done && status.safe_position >= status.latest_position {
                    return (seen, duplicates);
                }
            }
        })
    };

    // The late writer commits once a higher position is visible to the naive reader.
    tokio::time::sleep(Duration::from_millis(500)).await;
    release_tx.send(()).unwrap();
    late.await.unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.store(false, Ordering::SeqCst);
    let naive = naive.await.unwrap();
    let (fenced, duplicates) = fenced.await.unwrap();
    let committed = committed.lock().await.clone();
    let missed_naive = committed.difference(&naive).count();
    assert_eq!(fenced, committed, "the fenced reader must see exactly the committed events");
    assert_eq!(duplicates, 0, "the fenced reader saw an event twice");
    assert!(
        missed_naive > 0,
        "the naive reader was expected to miss late commits ({} committed)",
        committed.len()
    );
}

/// A payload the server refuses for its `max_allowed_packet` fails with an error that names the
/// setting, and nothing is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_packet_over_max_allowed_packet_names_the_setting() {
    let (_database, db, store) = fresh("mysql_packet").await;
    sqlx::query("SET GLOBAL max_allowed_packet = 1048576").execute(db.pool()).await.unwrap();
    let small = MysqlDatabase::connect(_database.url(), 2).await.expect("connect");
    let mut tx = small.begin().await.unwrap();
    let big = vec![Event::new(&StreamId::new("t", "big"), "Big", vec![7; 2 * 1024 * 1024])];
    let refused = store.append(&mut tx, ExpectedVersion::NoStream, big).await;
    drop(tx);
    sqlx::query("SET GLOBAL max_allowed_packet = 1073741824").execute(db.pool()).await.unwrap();
    let err = refused.expect_err("the server refuses the packet");
    assert!(format!("{err} {err:?}").contains("max_allowed_packet"), "{err:?}");
    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(store.latest_position(&mut tx).await.unwrap(), 0, "nothing was stored");
    db.rollback(tx).await.unwrap();
}

/// An append moves its stream head before it inserts, and duplicate ids are found by the
/// insert: here the id is another transaction's uncommitted row, so the insert waits on it and
/// fails with a duplicate once it commits. By then this append had moved its stream head: the
/// typed duplicate must leave the transaction as it was, usable, with no head that has no
/// events.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_duplicate_found_at_insert_leaves_no_head_behind() {
    let (_database, db, store) = fresh("mysql_late_duplicate").await;
    let (first, second) = (StreamId::new("t", "first"), StreamId::new("t", "second"));
    let id = uuid::Uuid::new_v4();
    let mut holder = db.begin().await.unwrap();
    let event = |stream: &StreamId| Event::new(stream, "E", vec![]).with_event_id(id);
    store.append(&mut holder, ExpectedVersion::NoStream, vec![event(&first)]).await.unwrap();

    let racing = {
        let (db, store, second) = (db.clone(), store.clone(), second.clone());
        tokio::spawn(async move {
            let mut tx = db.begin().await.unwrap();
            let refused = store
                .append(
                    &mut tx,
                    ExpectedVersion::NoStream,
                    vec![Event::new(&second, "E", vec![]).with_event_id(id)],
                )
                .await;
            let version = store.stream_version(&mut tx, &second).await.unwrap();
            let again = store
                .append(&mut tx, ExpectedVersion::NoStream, one(&second, "fresh id"))
                .await
                .map(|appended| appended.to_version());
            db.commit(tx).await.unwrap();
            (refused, version, again)
        })
    };
    // INNODB_LOCK_WAITS comes from the same buffer as INNODB_TRX, refreshed only after 0.1 s
    // without readers: poll it more slowly than that.
    let mut waiting = 0;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        waiting = sqlx::query_scalar::<_, i64>(
            "SELECT COUNT(*) FROM information_schema.INNODB_LOCK_WAITS",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
    }
    assert!(waiting > 0, "the racing insert never waited on the uncommitted duplicate");
    db.commit(holder).await.unwrap();
    let (refused, version, again) = racing.await.unwrap();
    assert!(matches!(refused, Err(StoreError::DuplicateEventId { .. })), "{refused:?}");
    assert_eq!(version, 0, "the refused append left its head behind");
    assert_eq!(again.expect("the transaction stays usable"), 1);
    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(store.stream_version(&mut tx, &second).await.unwrap(), 1);
    db.rollback(tx).await.unwrap();
}

/// Positions read from `LAST_INSERT_ID()` (MySQL 8) are consecutive only with
/// `auto_increment_increment` = 1: any other value is refused with a typed error before the
/// append writes anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn last_insert_id_positions_need_an_increment_of_one() {
    let (database, _, _) = fresh("mysql_increment").await;
    // One connection in the pool: the session setting applies to the store's appends.
    let db = MysqlDatabase::connect(database.url(), 1).await.expect("connect");
    let config = MysqlStoreConfig::default().with_position_readback(PositionReadback::LastInsertId);
    let store = MysqlStore::with_config(&db, config);
    sqlx::query("SET SESSION auto_increment_increment = 2").execute(db.pool()).await.unwrap();
    let stream = StreamId::new("t", "stepped");
    let mut tx = db.begin().await.unwrap();
    let err = store
        .append(&mut tx, ExpectedVersion::NoStream, one(&stream, "a"))
        .await
        .expect_err("an increment of 2 is refused");
    db.rollback(tx).await.unwrap();
    assert!(format!("{err}").contains("auto_increment_increment is 2"), "{err}");
    assert!(
        matches!(err, StoreError::Backend(ref b) if b.kind() == BackendErrorKind::Other),
        "{err:?}"
    );
    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(store.latest_position(&mut tx).await.unwrap(), 0, "nothing was stored");
    assert_eq!(store.stream_version(&mut tx, &stream).await.unwrap(), 0, "no head was written");
    db.rollback(tx).await.unwrap();
}
