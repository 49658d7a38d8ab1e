//! Frontier behaviour specific to PostgreSQL: the holes table, the opt-in forced skip, the
//! warning about old holes, and advancing through many windows.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pupsourcing::{Database, Event, EventStore, ExpectedVersion, StreamId};
use pupsourcing_postgres::{FrontierConfig, PgDatabase, PostgresStore, PostgresStoreConfig};
use pupsourcing_testkit::postgres::TestDatabase;
use uuid::Uuid;

async fn setup(name: &str, frontier: FrontierConfig) -> (TestDatabase, PgDatabase, PostgresStore) {
    let database = TestDatabase::new(name).await;
    let db = PgDatabase::new(database.pool(8).await.expect("pool"));
    let store =
        PostgresStore::with_config(&db, PostgresStoreConfig::default().with_frontier(frontier));
    store.migrate().await.expect("migrate");
    (database, db, store)
}

fn one(label: &str) -> Vec<Event> {
    vec![Event::new(&StreamId::new("t", Uuid::new_v4().to_string()), label, Vec::new())]
}

async fn holes(db: &PgDatabase) -> Vec<(i64, i64, Option<String>)> {
    sqlx::query_as("SELECT start_position, end_position, resolution FROM event_holes ORDER BY 1")
        .fetch_all(db.pool())
        .await
        .expect("holes")
}

async fn advance_until(store: &PostgresStore, position: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.advance_frontier().await.expect("advance").safe_position < position {
        assert!(Instant::now() < deadline, "frontier stuck below {position}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holes_are_recorded_and_resolved_as_dead_or_filled() {
    let (_database, db, store) = setup("holes_recorded", FrontierConfig::default()).await;
    let mut doomed = db.begin().await.unwrap();
    let dead = store
        .append(&mut doomed, ExpectedVersion::Any, one("doomed"))
        .await
        .unwrap()
        .last_position();
    let mut late = db.begin().await.unwrap();
    let filled =
        store.append(&mut late, ExpectedVersion::Any, one("late")).await.unwrap().last_position();
    let top = store
        .append_committed(&db, ExpectedVersion::Any, one("top"))
        .await
        .unwrap()
        .last_position();

    let status = store.advance_frontier().await.unwrap();
    assert!(status.safe_position < dead);
    let run = (i64::try_from(dead).unwrap(), i64::try_from(filled).unwrap(), None);
    assert_eq!(holes(&db).await, vec![run], "one run, first seen together");

    db.rollback(doomed).await.unwrap();
    db.commit(late).await.unwrap();
    advance_until(&store, top).await;
    let recorded = holes(&db).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].2.as_deref(),
        Some("dead"),
        "a run with a missing position resolves as dead"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_skips_happen_only_when_enabled_and_are_audited() {
    let config = FrontierConfig::default().with_force_skip_after(Some(Duration::from_millis(300)));
    let (_database, db, store) = setup("forced_skip", config).await;
    let mut stuck = db.begin().await.unwrap();
    let skipped =
        store.append(&mut stuck, ExpectedVersion::Any, one("stuck")).await.unwrap().last_position();
    let after = store
        .append_committed(&db, ExpectedVersion::Any, one("after"))
        .await
        .unwrap()
        .last_position();

    let first = store.advance_frontier().await.unwrap();
    assert!(first.safe_position < skipped && first.forced.is_empty(), "not yet: {first:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let forced = loop {
        let status = store.advance_frontier().await.unwrap();
        if !status.forced.is_empty() {
            break status;
        }
        assert!(Instant::now() < deadline, "the hole was never force-skipped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(forced.safe_position >= after);
    assert_eq!(forced.forced[0].start, skipped);
    assert!(forced.forced[0].age >= Duration::from_millis(300));
    assert_eq!(holes(&db).await[0].2.as_deref(), Some("forced"));

    // The lossy part, as documented: the late event commits below the frontier.
    db.commit(stuck).await.unwrap();
    let mut tx = db.begin_read().await.unwrap();
    let frontier = store.safe_frontier(&mut tx).await.unwrap();
    assert!(frontier >= skipped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_never_skips_however_old_the_hole() {
    let config = FrontierConfig::default().with_hole_warning_after(Duration::ZERO);
    let (_database, db, store) = setup("never_skip", config).await;
    let mut stuck = db.begin().await.unwrap();
    let held =
        store.append(&mut stuck, ExpectedVersion::Any, one("held")).await.unwrap().last_position();
    store.append_committed(&db, ExpectedVersion::Any, one("after")).await.unwrap();
    sqlx::query("UPDATE event_holes SET first_seen_at = now() - interval '7 days'")
        .execute(db.pool())
        .await
        .unwrap();
    store.advance_frontier().await.unwrap();
    sqlx::query("UPDATE event_holes SET first_seen_at = now() - interval '7 days'")
        .execute(db.pool())
        .await
        .unwrap();
    let status = store.advance_frontier().await.unwrap();
    assert!(status.safe_position < held, "no timeout may skip a pending hole: {status:?}");
    assert!(status.oldest_hole_age().unwrap() >= Duration::from_secs(6 * 24 * 3600));
    db.commit(stuck).await.unwrap();
    assert!(store.advance_frontier().await.unwrap().safe_position > held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_hole_is_reported_with_the_blocking_transaction() {
    let records = Arc::new(Mutex::new(Vec::new()));
    let subscriber = tracing_subscriber::fmt()
        .with_writer({
            let records = Arc::clone(&records);
            move || Capture(Arc::clone(&records))
        })
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let config = FrontierConfig::default().with_hole_warning_after(Duration::from_millis(100));
    let (_database, db, store) = setup("hole_warning", config).await;
    let mut stuck = db.begin().await.unwrap();
    store.append(&mut stuck, ExpectedVersion::Any, one("held")).await.unwrap();
    store.append_committed(&db, ExpectedVersion::Any, one("after")).await.unwrap();
    store.advance_frontier().await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    store.advance_frontier().await.unwrap();
    let logged = String::from_utf8(records.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("holding the event frontier back"), "{logged}");
    assert!(logged.contains("blocking_transaction_age_secs"), "{logged}");
    db.rollback(stuck).await.unwrap();
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_advance_walks_through_as_many_windows_as_needed() {
    let (_database, db, store) = setup("windows", FrontierConfig::default().with_window(7)).await;
    let stream = StreamId::new("t", "many");
    let batch = (0..100).map(|i| Event::new(&stream, "E", vec![i])).collect();
    let appended = store.append_committed(&db, ExpectedVersion::NoStream, batch).await.unwrap();
    let status = store.advance_frontier().await.unwrap();
    assert_eq!(status.safe_position, appended.last_position());
    assert_eq!(status.lag(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolved_holes_are_purged_after_the_retention() {
    let config = FrontierConfig::default().with_hole_retention(Duration::ZERO);
    let (_database, db, store) = setup("hole_retention", config).await;
    let mut doomed = db.begin().await.unwrap();
    store.append(&mut doomed, ExpectedVersion::Any, one("doomed")).await.unwrap();
    let top = store
        .append_committed(&db, ExpectedVersion::Any, one("top"))
        .await
        .unwrap()
        .last_position();
    db.rollback(doomed).await.unwrap();
    advance_until(&store, top).await;
    let later = store
        .append_committed(&db, ExpectedVersion::Any, one("later"))
        .await
        .unwrap()
        .last_position();
    advance_until(&store, later).await;
    assert!(holes(&db).await.is_empty(), "resolved holes below the frontier are purged");
}
