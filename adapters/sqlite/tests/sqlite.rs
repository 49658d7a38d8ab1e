//! Behaviour only SQLite has: the busy timeout, independent handles on one file (what separate
//! processes do), a runtime that keeps running while SQLite waits, cancellation, persistence.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pupsourcing::{
    BackendErrorKind, Database, Event, EventStore, EventStoreExt, ExpectedVersion, StoreError,
    StreamId,
};
use pupsourcing_sqlite::{SqliteDatabase, SqliteOptions, SqliteStore};
use tokio::sync::{Barrier, oneshot};
use uuid::Uuid;

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("pupsourcing-{name}-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("events.sqlite3")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn one(stream: &StreamId) -> Vec<Event> {
    vec![Event::new(stream, "Touched", b"{}".to_vec())]
}

async fn open(path: PathBuf, busy: Duration) -> (SqliteDatabase, SqliteStore) {
    let db = SqliteDatabase::open_with(SqliteOptions::new(path).busy_timeout(busy)).await.unwrap();
    let store = SqliteStore::new(&db);
    store.migrate().await.unwrap();
    (db, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_locked_out_past_the_busy_timeout_gets_a_retryable_busy_error() {
    let dir = Dir::new("busy");
    let (first, _) = open(dir.file(), Duration::from_secs(5)).await;
    let (second, store) = open(dir.file(), Duration::from_millis(100)).await;
    let holder = first.begin().await.unwrap();
    let err = second.begin().await.expect_err("the write lock is taken");
    assert_eq!(err.kind(), BackendErrorKind::Busy);
    assert!(err.is_retryable());
    let s = StreamId::new("t", "1");
    match store.append_committed(&second, ExpectedVersion::NoStream, one(&s)).await {
        Err(StoreError::Backend(err)) => {
            assert_eq!(err.kind(), BackendErrorKind::Busy, "append_committed: {err}");
        }
        other => panic!("append_committed must be refused as busy, got {other:?}"),
    }
    drop(holder);
    let result = store.append_committed(&second, ExpectedVersion::NoStream, one(&s)).await;
    assert!(result.is_ok(), "after the holder rolled back the second handle writes: {result:?}");
}

#[tokio::test(flavor = "current_thread")]
async fn waiting_for_the_write_lock_does_not_stall_the_runtime() {
    let dir = Dir::new("no_stall");
    let (first, store) = open(dir.file(), Duration::from_secs(30)).await;
    let (second, _) = open(dir.file(), Duration::from_secs(30)).await;
    let mut holder = first.begin().await.unwrap();
    let s = StreamId::new("t", "1");
    store.append(&mut holder, ExpectedVersion::NoStream, one(&s)).await.unwrap();

    let waiter = {
        let store = store.clone();
        let s = s.clone();
        tokio::spawn(async move {
            store.append_committed(&second, ExpectedVersion::Exact(1), one(&s)).await
        })
    };
    tokio::task::yield_now().await;
    // A ping-pong between two tasks needs the (only) runtime thread: were it blocked inside
    // SQLite's busy handler, this would never complete and the holder would never commit.
    let (ping, pong) = oneshot::channel();
    tokio::spawn(async move { ping.send(()).unwrap() });
    tokio::time::timeout(Duration::from_secs(20), pong).await.expect("runtime stalled").unwrap();
    assert!(!waiter.is_finished(), "the second writer must still be waiting for the lock");

    first.commit(holder).await.unwrap();
    let appended = waiter.await.unwrap().expect("the waiter appends once the lock is free");
    assert_eq!(appended.to_version(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn independent_handles_on_one_file_never_lose_or_duplicate_a_version() {
    let dir = Dir::new("handles");
    let handles: Vec<_> = open_handles(4, dir.file()).await;
    let s = StreamId::new("counter", "shared");
    let barrier = Arc::new(Barrier::new(handles.len()));
    let tasks: Vec<_> = handles
        .into_iter()
        .map(|(db, store)| {
            let (s, barrier) = (s.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                for _ in 0..25 {
                    store
                        .append_committed(&db, ExpectedVersion::Any, one(&s))
                        .await
                        .expect("append");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let (db, store) = open(dir.file(), Duration::from_secs(5)).await;
    let mut tx = db.begin_read().await.unwrap();
    let stream = store.read_full_stream(&mut tx, &s).await.unwrap();
    let versions: Vec<u64> = stream.iter().map(|e| e.aggregate_version).collect();
    assert_eq!(versions, (1..=100).collect::<Vec<_>>());
    let positions: Vec<u64> = stream.iter().map(|e| e.global_position).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]));
}

async fn open_handles(count: usize, path: PathBuf) -> Vec<(SqliteDatabase, SqliteStore)> {
    let mut handles = Vec::new();
    for _ in 0..count {
        handles.push(open(path.clone(), Duration::from_secs(30)).await);
    }
    handles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_statements_share_the_transaction_and_timestamps_are_stored_as_utc_text() {
    let dir = Dir::new("call");
    let (db, store) = open(dir.file(), Duration::from_secs(5)).await;
    let mut tx = db.begin().await.unwrap();
    tx.call(|conn| conn.execute("CREATE TABLE audit (note TEXT NOT NULL)", [])).await.unwrap();
    db.commit(tx).await.unwrap();

    let s = StreamId::new("t", "1");
    for commit in [false, true] {
        let mut tx = db.begin().await.unwrap();
        store.append(&mut tx, ExpectedVersion::Any, one(&s)).await.unwrap();
        tx.call(|conn| conn.execute("INSERT INTO audit (note) VALUES ('touched')", []))
            .await
            .unwrap();
        if commit {
            db.commit(tx).await.unwrap();
        } else {
            db.rollback(tx).await.unwrap();
        }
    }
    let mut tx = db.begin_read().await.unwrap();
    let (notes, stamp): (i64, String) = tx
        .call(|conn| {
            conn.query_row(
                "SELECT (SELECT count(*) FROM audit), (SELECT created_at FROM events)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
        .unwrap();
    assert_eq!(notes, 1);
    assert_eq!(store.stream_version(&mut tx, &s).await.unwrap(), 1);
    assert!(stamp.ends_with('Z') && stamp.len() == "2024-01-01T00:00:00.000000Z".len(), "{stamp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_call_loses_the_transaction_but_not_the_database() {
    let dir = Dir::new("cancel");
    let (db, store) = open(dir.file(), Duration::from_secs(5)).await;
    let s = StreamId::new("t", "1");
    let mut tx = db.begin().await.unwrap();
    store.append(&mut tx, ExpectedVersion::Any, one(&s)).await.unwrap();
    let (started, wait_started) = oneshot::channel::<()>();
    let (_release, released) = std::sync::mpsc::channel::<()>();
    let call = tx.call(move |_conn| {
        let _ = started.send(());
        let _ = released.recv_timeout(Duration::from_millis(200));
        Ok(())
    });
    tokio::select! {
        _ = call => panic!("the call should still be running"),
        _ = wait_started => {}
    }
    let lost = store.append(&mut tx, ExpectedVersion::Any, one(&s)).await;
    match lost {
        Err(StoreError::Backend(err)) => assert_eq!(err.kind(), BackendErrorKind::Connection),
        other => panic!("expected a lost connection, got {other:?}"),
    }
    drop(tx);
    let appended = store.append_committed(&db, ExpectedVersion::NoStream, one(&s)).await.unwrap();
    assert_eq!(appended.to_version(), 1, "the cancelled transaction must have rolled back");
}

/// With `calls_in_place`, a call from a task of a multi-threaded runtime runs on its worker
/// thread: a timeout cannot cut it short, so the transaction survives it, and the runtime's
/// other tasks run meanwhile, even with a single worker thread (the call below waits for a
/// message that only another task sends).
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn calls_in_place_block_no_other_task_and_cannot_be_cut_short() {
    let dir = Dir::new("in-place");
    let options = SqliteOptions::new(dir.file()).calls_in_place(true);
    let db = SqliteDatabase::open_with(options).await.unwrap();
    let store = SqliteStore::new(&db);
    store.migrate().await.unwrap();
    // On the runtime's worker, not on the test's own thread.
    let in_task = tokio::spawn(async move {
        let s = StreamId::new("t", "1");
        let mut tx = db.begin().await.unwrap();
        store.append(&mut tx, ExpectedVersion::NoStream, one(&s)).await.unwrap();
        let (send, receive) = std::sync::mpsc::channel::<()>();
        let (ready, go) = oneshot::channel::<()>();
        let other = tokio::spawn(async move {
            go.await.unwrap();
            send.send(()).unwrap();
        });
        let call = tx.call(move |_conn| {
            let _ = ready.send(());
            let heard = receive.recv_timeout(Duration::from_secs(10)).is_ok();
            // Well past the timeout below: only a call that cannot be interrupted succeeds.
            std::thread::sleep(Duration::from_millis(50));
            Ok(heard)
        });
        let answered = tokio::time::timeout(Duration::from_millis(1), call).await;
        assert!(
            matches!(answered, Ok(Ok(true))),
            "the call must finish, having heard from the other task: {answered:?}"
        );
        other.await.unwrap();
        store.append(&mut tx, ExpectedVersion::Exact(1), one(&s)).await.unwrap();
        db.commit(tx).await.unwrap();
        let mut read = db.begin_read().await.unwrap();
        assert_eq!(store.stream_version(&mut read, &s).await.unwrap(), 2);
    });
    in_task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_survives_reopening_and_temporary_databases_vanish() {
    let dir = Dir::new("reopen");
    let s = StreamId::new("t", "1");
    {
        let (db, store) = open(dir.file(), Duration::from_secs(5)).await;
        store.append_committed(&db, ExpectedVersion::NoStream, one(&s)).await.unwrap();
    }
    let (db, store) = open(dir.file(), Duration::from_secs(5)).await;
    let mut tx = db.begin_read().await.unwrap();
    assert_eq!(store.stream_version(&mut tx, &s).await.unwrap(), 1);
    db.rollback(tx).await.unwrap();

    let temporary = SqliteDatabase::open(":memory:").await.unwrap();
    let path = temporary.path().to_path_buf();
    assert!(path.exists());
    drop(temporary);
    assert!(!path.exists(), "a temporary database must be deleted with its last handle");
}

/// A store used before `migrate()` reports a schema error that names the missing table and says
/// how to create it, in the message itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_its_tables_names_the_missing_table() {
    let db = SqliteDatabase::open(":memory:").await.unwrap();
    let store = SqliteStore::new(&db);
    let stream = StreamId::new("account", "1");
    let result = store.append_committed(&db, ExpectedVersion::Any, one(&stream)).await;
    let message = result.as_ref().map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("no such table: stream_heads"), "names the table: {message}");
    assert!(message.contains("store.migrate()"), "says what to do: {message}");
    match result {
        Err(StoreError::Backend(err)) => assert_eq!(err.kind(), BackendErrorKind::Schema),
        other => panic!("expected a schema error, got {other:?}"),
    }
}

/// `append_committed` (begin, append and commit in one call) tells this process's consumers
/// about its commit, as a committed transaction does; a refused append does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_committed_signals_its_commit_and_a_refusal_does_not() {
    let db = SqliteDatabase::open_in_memory().await.expect("open");
    let store = SqliteStore::new(&db);
    store.migrate().await.expect("migrate");
    let mut commits = db.subscribe_commits();
    let before = *commits.borrow_and_update();
    let s = StreamId::new("signal", "1");
    let event = || vec![Event::new(&s, "Happened", b"{}".to_vec())];
    store.append_committed(&db, ExpectedVersion::NoStream, event()).await.expect("append");
    assert!(commits.has_changed().expect("sender alive"), "a commit must be signalled");
    assert_eq!(*commits.borrow_and_update(), before + 1);
    let refused = store.append_committed(&db, ExpectedVersion::NoStream, event()).await;
    assert!(matches!(refused, Err(StoreError::Conflict { actual: 1, .. })), "{refused:?}");
    assert!(!commits.has_changed().expect("sender alive"), "a refusal commits nothing");
}
