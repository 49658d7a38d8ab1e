//! Behaviour only PostgreSQL has: isolation levels, deadlocks, NOTIFY, killed connections,
//! concurrent migrations and the database-level safety net.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::sync::Arc;
use std::time::Duration;

use pupsourcing::{
    Backend, BackendErrorKind, Database, Event, EventStore, ExpectedVersion, StoreError, StreamId,
};
use pupsourcing_migrations::Tables;
use pupsourcing_postgres::{IsolationLevel, PgDatabase, PostgresStore, PostgresStoreConfig};
use pupsourcing_testkit::postgres::TestDatabase;
use sqlx::postgres::PgListener;
use tokio::sync::Barrier;
use uuid::Uuid;

async fn setup(name: &str) -> (TestDatabase, PgDatabase, PostgresStore) {
    let database = TestDatabase::new(name).await;
    let db = PgDatabase::new(database.pool(16).await.expect("pool"));
    let store = PostgresStore::with_config(
        &db,
        PostgresStoreConfig::default().with_notify_channel("events_appended").expect("channel"),
    );
    store.migrate().await.expect("migrate");
    (database, db, store)
}

fn stream() -> StreamId {
    StreamId::new("account", Uuid::new_v4().to_string())
}

fn one(stream: &StreamId) -> Vec<Event> {
    vec![Event::new(stream, "Touched", b"{}".to_vec())]
}

fn backend_kind<T: std::fmt::Debug>(result: Result<T, StoreError>) -> BackendErrorKind {
    match result {
        Err(StoreError::Backend(err)) => err.kind(),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_under_repeatable_read_or_serializable_fail_retryably() {
    let (_database, db, store) = setup("isolation_failures").await;
    for isolation in [IsolationLevel::RepeatableRead, IsolationLevel::Serializable] {
        for expected_second in [ExpectedVersion::Any, ExpectedVersion::Exact(1)] {
            let db = db.clone().with_isolation(isolation);
            let s = stream();
            store.append_committed(&db, ExpectedVersion::NoStream, one(&s)).await.expect("seed");

            let mut late = db.begin().await.expect("begin");
            assert_eq!(store.stream_version(&mut late, &s).await.expect("snapshot"), 1);
            store.append_committed(&db, ExpectedVersion::Exact(1), one(&s)).await.expect("winner");
            let result = store.append(&mut late, expected_second, one(&s)).await;
            let kind = backend_kind(result);
            assert_eq!(
                kind,
                BackendErrorKind::SerializationFailure,
                "{isolation:?} {expected_second:?}"
            );
            assert!(kind.is_retryable());
            drop(late);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlocks_are_reported_as_retryable() {
    let (_database, db, store) = setup("deadlocks").await;
    let (a, b) = (stream(), stream());
    let barrier = Arc::new(Barrier::new(2));
    let task = |first: StreamId, second: StreamId| {
        let (db, store, barrier) = (db.clone(), store.clone(), Arc::clone(&barrier));
        tokio::spawn(async move {
            let mut tx = db.begin().await.expect("begin");
            store.append(&mut tx, ExpectedVersion::Any, one(&first)).await.expect("first lock");
            barrier.wait().await;
            let result = store.append(&mut tx, ExpectedVersion::Any, one(&second)).await;
            if result.is_ok() {
                db.commit(tx).await.expect("commit");
            }
            result
        })
    };
    let left = task(a.clone(), b.clone());
    let right = task(b, a);
    let outcomes = [left.await.expect("task"), right.await.expect("task")];
    let failures: Vec<_> = outcomes.into_iter().filter_map(Result::err).collect();
    assert_eq!(failures.len(), 1, "exactly one transaction is the deadlock victim");
    let kind = backend_kind::<()>(Err(failures.into_iter().next().expect("one")));
    assert_eq!(kind, BackendErrorKind::Deadlock);
    assert!(kind.is_retryable());
}

/// An append in a caller's transaction is announced after that transaction commits, by the
/// store, not by a NOTIFY inside it: nothing while it is open, the committed position (never a
/// later one still open) once it has committed and is visible, nothing for a rollback, and the
/// same for an append in a savepoint of a transaction that commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_in_a_transaction_notify_once_it_has_committed_and_never_on_rollback() {
    let (database, db, store) = setup("notify").await;
    let mut listener = PgListener::connect(database.url()).await.expect("listener");
    listener.listen("events_appended").await.expect("listen");

    let s = stream();
    let mut committing = db.begin().await.expect("begin");
    let committed = store
        .append(&mut committing, ExpectedVersion::Any, vec![one(&s).remove(0), one(&s).remove(0)])
        .await
        .expect("append");
    let mut open = db.begin().await.expect("begin");
    let later = store.append(&mut open, ExpectedVersion::Any, one(&stream())).await.expect("open");
    assert!(later.last_position() > committed.last_position());
    assert!(listener.flushed_notification().await.is_none(), "no notification before commit");

    db.commit(committing).await.expect("commit");
    assert_eq!(
        next_payload(&mut listener).await,
        committed.last_position().to_string(),
        "the committed position, not the later one of a transaction still open"
    );
    let mut reader = db.begin_read().await.expect("begin");
    assert_eq!(
        store.stream_version(&mut reader, &s).await.expect("version"),
        2,
        "visible when told"
    );
    drop(reader);

    db.rollback(open).await.expect("rollback");
    let mut outer = db.begin().await.expect("begin");
    sqlx::query("SAVEPOINT inner_append").execute(&mut *outer).await.expect("savepoint");
    let last = store.append(&mut outer, ExpectedVersion::Any, one(&s)).await.expect("append");
    sqlx::query("RELEASE SAVEPOINT inner_append").execute(&mut *outer).await.expect("release");
    db.commit(outer).await.expect("commit");
    assert_eq!(
        next_payload(&mut listener).await,
        last.last_position().to_string(),
        "the rolled-back append is never announced; the savepoint's is, after the commit"
    );
}

/// A store dropped while a transaction it appended in is still open leaves the wake-up to its
/// notifier, which goes on checking for a while: the commit is still announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_store_still_announces_a_later_commit() {
    let (database, db, store) = setup("notify_after_drop").await;
    let mut listener = PgListener::connect(database.url()).await.expect("listener");
    listener.listen("events_appended").await.expect("listen");
    let mut tx = db.begin().await.expect("begin");
    let appended =
        store.append(&mut tx, ExpectedVersion::Any, one(&stream())).await.expect("append");
    drop(store);
    db.commit(tx).await.expect("commit");
    assert_eq!(next_payload(&mut listener).await, appended.last_position().to_string());
}

/// `append_committed` leaves NOTIFY out of its statement (a notifying commit takes a
/// database-wide lock through its WAL flush) and notifies after its commit from the store's
/// notifier: what a notification names is already visible, a refused append sends nothing,
/// and a burst of concurrent appends ends with a notification naming the highest position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_committed_notifies_after_its_commit() {
    let (database, db, store) = setup("notify_committed").await;
    let mut listener = PgListener::connect(database.url()).await.expect("listener");
    listener.listen("events_appended").await.expect("listen");
    let s = stream();
    let first = store.append_committed(&db, ExpectedVersion::NoStream, one(&s)).await.expect("a");
    let note = tokio::time::timeout(Duration::from_secs(10), listener.recv())
        .await
        .expect("notified")
        .expect("recv");
    assert_eq!(note.payload(), first.last_position().to_string());
    let mut tx = db.begin_read().await.expect("begin");
    assert_eq!(store.stream_version(&mut tx, &s).await.expect("version"), 1, "visible when told");
    drop(tx);

    let refused = store.append_committed(&db, ExpectedVersion::NoStream, one(&s)).await;
    assert!(matches!(refused, Err(StoreError::Conflict { .. })), "{refused:?}");
    assert!(listener.flushed_notification().await.is_none(), "a refusal notifies nobody");

    let barrier = Arc::new(Barrier::new(16));
    let writers: Vec<_> = (0..16)
        .map(|_| {
            let (db, store, barrier) = (db.clone(), store.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.append_committed(&db, ExpectedVersion::Any, one(&stream())).await
            })
        })
        .collect();
    let mut highest = 0;
    for writer in writers {
        highest = highest.max(writer.await.expect("task").expect("append").last_position());
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let note = tokio::time::timeout(left, listener.recv())
            .await
            .expect("a notification naming the highest position")
            .expect("recv");
        let named: u64 = note.payload().parse().expect("a position");
        assert!(named <= highest, "notified {named}, beyond every append");
        if named == highest {
            break;
        }
    }
}

/// A store with the default configuration notifies on a channel derived from its table names:
/// two stores with other tables in one database get distinct channels, and a store with
/// `without_notify` sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_is_on_by_default_on_a_channel_per_set_of_tables() {
    let database = TestDatabase::new("notify_default").await;
    let db = PgDatabase::new(database.pool(4).await.expect("pool"));
    let store = PostgresStore::new(&db);
    store.migrate().await.expect("migrate");
    let channel = store.config().notify_channel().expect("on by default").to_owned();
    let other =
        PostgresStoreConfig::default().with_tables(Tables::new().with_prefix("b_").unwrap());
    assert_ne!(
        other.notify_channel(),
        Some(channel.as_str()),
        "distinct tables, distinct channels"
    );

    let mut listener = PgListener::connect(database.url()).await.expect("listener");
    listener.listen(&channel).await.expect("listen");
    let appended =
        store.append_committed(&db, ExpectedVersion::Any, one(&stream())).await.expect("append");
    let note = tokio::time::timeout(Duration::from_secs(10), listener.recv())
        .await
        .expect("notified")
        .expect("recv");
    assert_eq!(note.payload(), appended.last_position().to_string());

    let silent = PostgresStore::with_config(&db, PostgresStoreConfig::default().without_notify());
    assert_eq!(silent.config().notify_channel(), None);
    silent.append_committed(&db, ExpectedVersion::Any, one(&stream())).await.expect("append");
    assert!(listener.flushed_notification().await.is_none(), "without_notify sends nothing");
}

async fn next_payload(listener: &mut PgListener) -> String {
    let note = tokio::time::timeout(Duration::from_secs(10), listener.recv()).await;
    note.expect("notified").expect("recv").payload().to_owned()
}

trait FlushedNotification {
    async fn flushed_notification(&mut self) -> Option<String>;
}

impl FlushedNotification for PgListener {
    /// A query round trip on the listener's own connection flushes any notification already
    /// queued, so no sleep is needed to prove that none was sent before a given point.
    async fn flushed_notification(&mut self) -> Option<String> {
        sqlx::query("SELECT 1").execute(&mut *self).await.expect("flush");
        self.next_buffered().map(|n| n.payload().to_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_safe_to_run_concurrently() {
    let database = TestDatabase::new("migrate_concurrently").await;
    let db = PgDatabase::new(database.pool(16).await.expect("pool"));
    let tables =
        Tables::new().with_schema("es").expect("schema").with_prefix("app_").expect("prefix");
    let store = PostgresStore::with_config(&db, PostgresStoreConfig::default().with_tables(tables));
    let runs: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.migrate().await })
        })
        .collect();
    for run in runs {
        run.await.expect("task").expect("migrate");
    }
    let s = stream();
    store.append_committed(&db, ExpectedVersion::NoStream, one(&s)).await.expect("append");
    store.migrate().await.expect("migrating again changes nothing");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM es.app_events")
        .fetch_one(db.pool())
        .await
        .expect("count");
    assert_eq!(count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_without_its_tables_reports_a_schema_error() {
    let database = TestDatabase::new("no_schema").await;
    let db = PgDatabase::new(database.pool(4).await.expect("pool"));
    let store = PostgresStore::new(&db);
    let result = store.append_committed(&db, ExpectedVersion::Any, one(&stream())).await;
    let message = result.as_ref().map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("\"stream_heads\" does not exist"), "names the table: {message}");
    assert!(message.contains("store.migrate()"), "says what to do: {message}");
    let kind = backend_kind(result);
    assert_eq!(kind, BackendErrorKind::Schema);
    assert!(!kind.is_retryable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_connection_is_a_retryable_connection_error() {
    let (_database, db, store) = setup("killed_connection").await;
    let s = stream();
    let mut tx = db.begin().await.expect("begin");
    let pid: i32 =
        sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *tx).await.expect("pid");
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(db.pool())
        .await
        .expect("kill");
    assert!(killed);
    let kind = backend_kind(store.append(&mut tx, ExpectedVersion::Any, one(&s)).await);
    assert_eq!(kind, BackendErrorKind::Connection);
    assert!(kind.is_retryable());
    drop(tx);
    let mut tx = db.begin_read().await.expect("begin");
    assert_eq!(store.stream_version(&mut tx, &s).await.expect("version"), 0, "nothing was stored");
}

/// Both append paths (in a caller's transaction, and `append_committed` in autocommit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unique_stream_version_constraint_backs_up_the_stream_heads() {
    let (_database, db, store) = setup("safety_net").await;
    for in_transaction in [true, false] {
        let s = stream();
        store.append_committed(&db, ExpectedVersion::NoStream, one(&s)).await.expect("seed");
        // Simulate heads out of step with the events (manual tampering, a foreign writer).
        sqlx::query("DELETE FROM stream_heads").execute(db.pool()).await.expect("delete heads");
        let result = if in_transaction {
            let mut tx = db.begin().await.expect("begin");
            let result = store.append(&mut tx, ExpectedVersion::NoStream, one(&s)).await;
            drop(tx);
            result
        } else {
            store.append_committed(&db, ExpectedVersion::NoStream, one(&s)).await
        };
        match result {
            Err(StoreError::Conflict { actual, .. }) => assert_eq!(actual, 1),
            other => panic!("expected the constraint to report a conflict, got {other:?}"),
        }
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM events WHERE aggregate_id = $1")
            .bind(s.aggregate_id())
            .fetch_one(db.pool())
            .await
            .expect("count");
        assert_eq!(count, 1, "in a transaction: {in_transaction}");
    }
}

/// `append_committed` keeps the database's isolation level: a writer that waited on the stream
/// head behind a concurrent append gets the retryable serialization failure under REPEATABLE
/// READ and SERIALIZABLE (a lone autocommit statement would have re-checked and reported a
/// conflict), and the conflict under READ COMMITTED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_committed_keeps_the_isolation_level() {
    let (_database, db, store) = setup("isolation_committed").await;
    for isolation in [
        IsolationLevel::ReadCommitted,
        IsolationLevel::RepeatableRead,
        IsolationLevel::Serializable,
    ] {
        let db = db.clone().with_isolation(isolation);
        let s = stream();
        store.append_committed(&db, ExpectedVersion::NoStream, one(&s)).await.expect("seed");
        let mut first = db.pool().begin().await.expect("begin");
        store.append(&mut first, ExpectedVersion::Exact(1), one(&s)).await.expect("first");
        let waiting = {
            let (db, store, s) = (db.clone(), store.clone(), s.clone());
            tokio::spawn(async move {
                store.append_committed(&db, ExpectedVersion::Exact(1), one(&s)).await
            })
        };
        // The second writer is queued on the head row's lock before the first commits.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let waiters: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND wait_event_type = 'Lock'",
            )
            .fetch_one(db.pool())
            .await
            .expect("waiters");
            if waiters > 0 {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{isolation:?}: the writer never waited");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        first.commit().await.expect("commit the first");
        let result = waiting.await.expect("task");
        match isolation {
            IsolationLevel::ReadCommitted => match result {
                Err(StoreError::Conflict { actual: 2, .. }) => {}
                other => panic!("expected a conflict at 2, got {other:?}"),
            },
            _ => {
                let kind = backend_kind(result);
                assert_eq!(kind, BackendErrorKind::SerializationFailure, "{isolation:?}");
            }
        }
        let mut tx = db.begin_read().await.expect("begin");
        assert_eq!(store.stream_version(&mut tx, &s).await.expect("version"), 2);
        drop(tx);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_transaction_carries_its_own_writes_atomically() {
    let (_database, db, store) = setup("shared_transaction").await;
    sqlx::query("CREATE TABLE audit (note text NOT NULL)").execute(db.pool()).await.expect("table");
    let s = stream();
    for commit in [false, true] {
        let mut tx = db.begin().await.expect("begin");
        store.append(&mut tx, ExpectedVersion::Any, one(&s)).await.expect("append");
        sqlx::query("INSERT INTO audit (note) VALUES ('touched')")
            .execute(&mut *tx)
            .await
            .expect("insert");
        if commit {
            db.commit(tx).await.expect("commit");
        } else {
            db.rollback(tx).await.expect("rollback");
        }
    }
    let notes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM audit").fetch_one(db.pool()).await.expect("count");
    let mut tx = db.begin_read().await.expect("begin");
    assert_eq!((notes, store.stream_version(&mut tx, &s).await.expect("version")), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_position_function_takes_a_transaction_id_before_the_position() {
    let (_database, db, store) = setup("xid_first").await;
    let s = stream();
    let mut tx = db.begin().await.expect("begin");
    let before: Option<String> =
        sqlx::query_scalar("SELECT pg_current_xact_id_if_assigned()::text")
            .fetch_one(&mut *tx)
            .await
            .expect("xid");
    assert!(before.is_none());
    store.append(&mut tx, ExpectedVersion::Any, one(&s)).await.expect("append");
    let after: Option<String> = sqlx::query_scalar("SELECT pg_current_xact_id_if_assigned()::text")
        .fetch_one(&mut *tx)
        .await
        .expect("xid");
    assert!(after.is_some());
    let cache: i64 = sqlx::query_scalar(
        "SELECT cache_size FROM pg_sequences WHERE sequencename = 'events_pos_seq'",
    )
    .fetch_one(db.pool())
    .await
    .expect("sequence");
    assert_eq!(cache, 1, "a cached sequence would hand out positions out of order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_creation_refuses_repeatable_read_and_works_under_serializable() {
    use pupsourcing::EncryptionError;
    use pupsourcing::encryption::{AeadWrapper, DataKey, Encryptor, Keyring, Subject};
    use pupsourcing_postgres::PostgresKeyStore;

    let (_database, db, store) = setup("keys_isolation").await;
    let keyring = Keyring::new(AeadWrapper::new("kek", &DataKey::generate()).unwrap());
    let keys = PostgresKeyStore::new(&store);

    let repeatable = db.clone().with_isolation(IsolationLevel::RepeatableRead);
    let encryptor = Encryptor::new(
        &Backend::from_parts(repeatable.clone(), (), (), keys.clone()),
        keyring.clone(),
    );
    let refused = encryptor
        .encrypt(&Subject::new("users", "alice").expect("valid subject"), "email", b"x")
        .await;
    assert!(
        matches!(&refused, Err(EncryptionError::Configuration { reason, .. }) if reason.contains("REPEATABLE READ")),
        "{refused:?}"
    );

    let serializable = db.clone().with_isolation(IsolationLevel::Serializable);
    let encryptor =
        Encryptor::new(&Backend::from_parts(serializable, (), (), keys.clone()), keyring.clone());
    let envelope = encryptor
        .encrypt(&Subject::new("users", "alice").expect("valid subject"), "email", b"x")
        .await
        .unwrap();

    let reader = Encryptor::new(&Backend::from_parts(repeatable, (), (), keys), keyring);
    let back = reader
        .decrypt(&Subject::new("users", "alice").expect("valid subject"), "email", &envelope)
        .await
        .unwrap();
    assert_eq!(&back[..], b"x", "reading keys works at any isolation level");
    let existing = reader
        .encrypt(&Subject::new("users", "alice").expect("valid subject"), "email", b"y")
        .await
        .unwrap();
    assert_eq!(existing.key_version(), 1, "using an existing key needs no lock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_writer_is_the_open_transaction_behind_a_hole() {
    let (_database, db, store) = setup("oldest_writer").await;
    assert_eq!(store.oldest_writer().await.expect("oldest"), None);
    let mut open = db.begin().await.expect("begin");
    let pid: i32 =
        sqlx::query_scalar("SELECT pg_backend_pid()").fetch_one(&mut *open).await.expect("pid");
    store.append(&mut open, ExpectedVersion::Any, one(&stream())).await.expect("append");
    let writer = store.oldest_writer().await.expect("oldest").expect("a writer is open");
    assert_eq!(writer.pid, pid, "{writer:?}");
    assert!(writer.query.to_uppercase().contains("INSERT"), "{writer:?}");
    db.rollback(open).await.expect("rollback");
    assert_eq!(store.oldest_writer().await.expect("oldest"), None);
}
