//! The built `pupsourcing` binary against real databases: a SQLite file per test and a database
//! per test on the throwaway PostgreSQL cluster, with a worker running in this process.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code: failing loudly is the point

mod support;

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;
use std::time::Duration;

use pupsourcing::encryption::{AeadWrapper, DataKey, Encryptor, Keyring, Subject};
use pupsourcing::spi::{Coordinator, KeyStore};
use pupsourcing::{Backend, Database, EventStore};
use pupsourcing_mysql::MysqlBackend;
use pupsourcing_postgres::PostgresBackend;
use pupsourcing_testkit::postgres::TestDatabase;
use support::{
    Billing, Running, append, command, deposits, expect_code, json, read_all, run, sqlite, stderr,
    stdout, until,
};

/// Each backend's fixture for a scenario: what must live as long as the test, the backend, and
/// the URL the command line connects with.
async fn sqlite_fixture(name: &str) -> ((), pupsourcing_sqlite::SqliteBackend, String) {
    let (backend, path) = sqlite(name).await;
    ((), backend, path.display().to_string())
}

async fn postgres_fixture(name: &str) -> (TestDatabase, PostgresBackend, String) {
    let database = TestDatabase::new(&format!("cli_{name}")).await;
    let pool = database.pool(8).await.expect("pool");
    let backend = pupsourcing_postgres::from_pool(pool, Default::default());
    backend.store().migrate().await.expect("migrate");
    let url = database.url().to_owned();
    (database, backend, url)
}

async fn mysql_fixture(
    name: &str,
) -> (pupsourcing_testkit::mysql::TestDatabase, MysqlBackend, String) {
    let database = pupsourcing_testkit::mysql::TestDatabase::new(&format!("cli_{name}")).await;
    let pool = database.pool(8).await.expect("pool");
    let backend = pupsourcing_mysql::from_pool(pool, Default::default());
    backend.store().migrate().await.expect("migrate");
    let url = database.url().to_owned();
    (database, backend, url)
}

mod fixture {
    pub(super) use super::{
        mysql_fixture as mysql, postgres_fixture as postgres, sqlite_fixture as sqlite,
    };
}

/// One test per backend for `scenario`, in a module named after it.
macro_rules! on_backends {
    ($scenario:ident: $($fixture:ident),+) => {
        mod $scenario {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $fixture() {
                    let fixture = super::fixture::$fixture;
                    let (_guard, backend, url) = fixture(stringify!($scenario)).await;
                    super::$scenario(&backend, &url).await;
                }
            )+
        }
    };
}

/// 5 deposits, a poison event, 5 more: the unit pauses right before the poison; `status`,
/// `dead-letters` and `skip` see and fix it, and `pause`/`resume` flip it.
async fn poison_is_seen_and_skipped<D, S, C, K>(backend: &Backend<D, S, C, K>, url: &str)
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let (db, store) = (backend.database(), backend.store());
    deposits(db, store, 5).await;
    let poison = append(db, store, "Poison", r#"{"pill":true}"#).await;
    let last = deposits(db, store, 5).await;
    let billing = Billing::new(Duration::ZERO);
    let handled = billing.handled.clone();
    let worker = Running::start(backend, billing);
    until(backend, "the unit to pause on the poison", |units| units[0].unit.paused).await;

    let status = json(&run(&["-d", url, "status", "--format", "json"]).await);
    let unit = &status["units"][0];
    assert_eq!(unit["consumer"], "billing", "{status:#}");
    assert_eq!(unit["state"], "paused", "{status:#}");
    assert_eq!(unit["failed_position"], poison, "{status:#}");
    assert_eq!(unit["checkpoint"], poison - 1, "{status:#}");
    assert!(unit["last_error"].as_str().unwrap().contains("poison pill"), "{status:#}");
    assert_eq!(status["frontier"]["latest_position"], last, "{status:#}");
    assert_eq!(status["nodes"][0]["node_id"], "node-1", "{status:#}");
    assert_eq!(status["nodes"][0]["alive"], true, "{status:#}");

    let text = run(&["-d", url, "status"]).await;
    expect_code(&text, 0);
    let text = stdout(&text);
    assert!(text.contains(&format!("Frontier: safe {last}, latest {last}, lag 0")), "{text}");
    let row = text.lines().find(|line| line.trim_start().starts_with("billing")).expect("row");
    for cell in ["0/1", "node-1", "paused", &poison.to_string(), "cannot bill a poison pill"] {
        assert!(row.contains(cell), "{cell:?} missing from {row:?} in\n{text}");
    }

    let letters = run(&["-d", url, "dead-letters"]).await;
    expect_code(&letters, 0);
    let letters = stdout(&letters);
    assert!(
        letters.contains(&format!("stuck on event #{poison} (Poison on account/")),
        "{letters}"
    );
    assert!(letters.contains("pupsourcing skip billing --partition 0"), "{letters}");
    let letters = json(&run(&["-d", url, "dead-letters", "--format", "json"]).await);
    assert_eq!(letters[0]["event"]["event_type"], "Poison", "{letters:#}");
    assert_eq!(letters[0]["event"]["payload"]["pill"], true, "{letters:#}");

    let wrong_partition = run(&["-d", url, "resume", "billing", "--partition", "9"]).await;
    expect_code(&wrong_partition, 3);
    assert!(
        stderr(&wrong_partition).contains("has no partition 9"),
        "{}",
        stderr(&wrong_partition)
    );
    // Following a paused consumer would never end: refused before anything changes.
    let refused = run(&["-d", url, "rewind", "billing", "--to", "0"]).await;
    expect_code(&refused, 4);
    assert!(stderr(&refused).contains("billing is paused"), "{}", stderr(&refused));
    let status = json(&run(&["-d", url, "status", "--format", "json"]).await);
    assert_eq!(status["units"][0]["checkpoint"], poison - 1, "a refused rewind moved it");
    assert_eq!(status["units"][0]["failed_position"], poison, "a refused rewind cleared it");
    let forward =
        run(&["-d", url, "rewind", "billing", "--to", &last.to_string(), "--detach"]).await;
    expect_code(&forward, 4);
    assert!(stderr(&forward).contains("Move billing forward"), "{}", stderr(&forward));
    let status = json(&run(&["-d", url, "status", "--format", "json"]).await);
    assert_eq!(status["units"][0]["checkpoint"], poison - 1, "an unconfirmed move moved it");

    // Without --yes and without a terminal to ask on, nothing is skipped.
    let refused = run(&["-d", url, "skip", "billing"]).await;
    expect_code(&refused, 4);
    assert!(
        stderr(&refused).contains(&format!("stuck on event #{poison} (Poison")),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("pass --yes"), "{}", stderr(&refused));
    let status = json(&run(&["-d", url, "status", "--format", "json"]).await);
    assert_eq!(status["units"][0]["state"], "paused", "a refused skip changed something");

    let skipped = run(&["-d", url, "skip", "billing", "--yes"]).await;
    expect_code(&skipped, 0);
    assert!(
        stdout(&skipped).contains(&format!("skipped #{poison} of billing")),
        "{}",
        stdout(&skipped)
    );
    until(backend, "the rest to be billed", |units| units[0].unit.checkpoint >= last).await;
    // The batch that met the poison rolled back, so this in-memory record (outside the
    // transaction) saw the events before it twice; the poison itself was never handled.
    let mut billed = handled.lock().unwrap().clone();
    billed.sort_unstable();
    billed.dedup();
    let expected: Vec<u64> = (1..=last).filter(|p| *p != poison).collect();
    assert_eq!(billed, expected, "every event but the poison");

    expect_code(&run(&["-d", url, "pause", "billing"]).await, 0);
    let status = json(&run(&["-d", url, "status", "--format", "json"]).await);
    assert_eq!(status["units"][0]["paused"], true);
    let nothing = run(&["-d", url, "skip", "billing", "--yes"]).await;
    expect_code(&nothing, 3);
    let resumed = run(&["-d", url, "resume", "billing", "--format", "json"]).await;
    assert_eq!(json(&resumed)["resumed"], 1);
    let status = json(&run(&["-d", url, "status", "--format", "json"]).await);
    assert_eq!(status["units"][0]["paused"], false);
    worker.stop().await;
}

on_backends!(poison_is_seen_and_skipped: sqlite, postgres, mysql);

/// `rebuild` replays everything and follows the consumer to the end of the log; without a
/// terminal it prints plain progress lines, `--detach` returns at once.
async fn rebuild_follows_to_the_end<D, S, C, K>(backend: &Backend<D, S, C, K>, url: &str)
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let (db, store) = (backend.database(), backend.store());
    let last = deposits(db, store, 60).await;
    let billing = Billing::new(Duration::from_millis(25));
    let handled = billing.handled.clone();
    let worker = Running::start(backend, billing);
    until(backend, "the first pass", |units| units[0].unit.checkpoint >= last).await;

    let rebuilt = run(&["-d", url, "rebuild", "billing"]).await;
    expect_code(&rebuilt, 0);
    assert!(
        stdout(&rebuilt)
            .contains(&format!("billing caught up: checkpoint {last} ({last} positions")),
        "{}",
        stdout(&rebuilt)
    );
    assert!(stderr(&rebuilt).contains("rebuild billing: "), "{}", stderr(&rebuilt));
    assert!(stderr(&rebuilt).contains(&format!("/{last} positions")), "{}", stderr(&rebuilt));
    assert_eq!(handled.lock().unwrap().len(), 2 * usize::try_from(last).unwrap());

    let detached =
        run(&["-d", url, "rewind", "billing", "--to", &(last - 2).to_string(), "--detach"]).await;
    expect_code(&detached, 0);
    let past_the_end =
        run(&["-d", url, "rewind", "billing", "--to", &(last + 1).to_string()]).await;
    expect_code(&past_the_end, 4);
    assert!(stderr(&past_the_end).contains("past the end of the log"), "{}", stderr(&past_the_end));
    until(backend, "the detached rewind to replay", |units| units[0].unit.checkpoint >= last).await;
    let back = run(&["-d", url, "rewind", "billing", "--to", "1", "--detach"]).await;
    expect_code(&back, 0);
    until(backend, "the replay", |units| units[0].unit.checkpoint >= last).await;
    let followed =
        json(&run(&["-d", url, "rewind", "billing", "--to", "0", "--format", "json"]).await);
    assert_eq!(followed["checkpoint"], last);
    assert_eq!(followed["target"], last);
    worker.stop().await;
}

on_backends!(rebuild_follows_to_the_end: sqlite, postgres);

/// In a pseudo-terminal (`script` from util-linux), rebuild draws an indicatif bar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_draws_a_progress_bar_in_a_terminal() {
    let (backend, path) = sqlite("bar").await;
    let last = deposits(backend.database(), backend.store(), 40).await;
    let worker = Running::start(&backend, Billing::new(Duration::from_millis(25)));
    until(&backend, "the first pass", |units| units[0].unit.checkpoint >= last).await;
    let line =
        format!("{} -d {} rebuild billing", env!("CARGO_BIN_EXE_pupsourcing"), path.display());
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &line, "/dev/null"]).env_remove("DATABASE_URL").stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || script.output())
        .await
        .unwrap()
        .expect("`script` (util-linux) runs the command in a pseudo-terminal; install util-linux");
    let screen = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{screen}");
    assert!(screen.contains("rebuild billing ["), "no bar drawn:\n{screen}");
    assert!(screen.contains(&format!("/{last} positions")), "{screen}");
    assert!(!screen.contains("rebuild billing: "), "plain lines on a terminal:\n{screen}");
    assert!(screen.contains("billing caught up"), "{screen}");
    worker.stop().await;
}

/// `events tail` prints the end of the log, then new events as they commit; filters and JSON
/// lines for scripts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tail_follows_new_events() {
    let (backend, path) = sqlite("tail").await;
    let (db, store) = (backend.database(), backend.store());
    deposits(db, store, 3).await;
    append(db, store, "Withdrawn", r#"{"amount":7}"#).await;
    let url = path.to_str().unwrap();

    let all = run(&["-d", url, "events", "tail", "--from", "0", "--no-follow"]).await;
    expect_code(&all, 0);
    let text = stdout(&all);
    assert!(text.contains("#4  account/") && text.contains("v1  Withdrawn"), "{text}");
    assert!(text.contains("\"amount\": 7"), "payloads are pretty-printed:\n{text}");
    let filtered = run(&[
        "-d",
        url,
        "events",
        "tail",
        "--from",
        "0",
        "--no-follow",
        "--event-type",
        "Withdrawn",
        "--format",
        "json",
    ])
    .await;
    expect_code(&filtered, 0);
    let lines: Vec<serde_json::Value> =
        stdout(&filtered).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["position"], 4);
    assert_eq!(lines[0]["payload"]["amount"], 7);

    let mut follower = std::process::Command::new(env!("CARGO_BIN_EXE_pupsourcing"))
        .args(["-d", url, "events", "tail", "-n", "1", "--format", "json"])
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::unbounded_channel();
    let stdout = follower.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let next = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<String>| {
        let line =
            tokio::time::timeout(support::PATIENCE, rx.recv()).await.expect("a line").unwrap();
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    };
    assert_eq!(next(&mut lines_rx).await["position"], 4, "-n 1 starts with the last event");
    let fresh = append(db, store, "Deposited", r#"{"amount":99}"#).await;
    let seen = next(&mut lines_rx).await;
    assert_eq!(seen["position"], fresh);
    assert_eq!(seen["payload"]["amount"], 99);
    follower.kill().unwrap();
    follower.wait().unwrap();
}

/// `stream show` lists a stream's versions and positions; an unknown stream is "not found".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_show_lists_versions() {
    let (backend, path) = sqlite("stream").await;
    let (db, store) = (backend.database(), backend.store());
    let stream = pupsourcing::StreamId::new("account", "acc-1");
    for (i, kind) in ["Opened", "Deposited", "Deposited"].into_iter().enumerate() {
        deposits(db, store, 1).await;
        let mut tx = db.begin().await.unwrap();
        let event = pupsourcing::Event::new(&stream, kind, format!("{{\"n\":{i}}}").into_bytes());
        let expected = pupsourcing::ExpectedVersion::Exact(u64::try_from(i).unwrap());
        store.append(&mut tx, expected, vec![event]).await.unwrap();
        db.commit(tx).await.unwrap();
    }
    let url = path.to_str().unwrap();
    let shown =
        json(&run(&["-d", url, "stream", "show", "account", "acc-1", "--format", "json"]).await);
    let versions: Vec<_> = shown.as_array().unwrap().iter().map(|e| e["version"].clone()).collect();
    assert_eq!(versions, [1, 2, 3]);
    let positions: Vec<_> =
        shown.as_array().unwrap().iter().map(|e| e["position"].clone()).collect();
    assert_eq!(positions, [2, 4, 6]);
    let text = stdout(&run(&["-d", url, "stream", "show", "account", "acc-1"]).await);
    assert!(text.contains("#6  account/acc-1 v3  Deposited"), "{text}");
    let missing = run(&["-d", url, "stream", "show", "account", "nobody"]).await;
    expect_code(&missing, 3);
    assert!(stderr(&missing).starts_with("error: no stream"), "{}", stderr(&missing));
    assert_eq!(read_all(db, store).await.len(), 6);
}

fn kek_file(name: &str, byte: u8) -> (AeadWrapper, String) {
    let path =
        std::env::temp_dir().join(format!("pupsourcing-cli-{}-{name}.kek", std::process::id()));
    std::fs::write(&path, format!("{}\n", format!("{byte:02x}").repeat(32))).unwrap();
    let wrapper = AeadWrapper::new(name, &DataKey::from_bytes([byte; 32])).unwrap();
    (wrapper, format!("{name}={}", path.display()))
}

/// `keys shred` makes a subject's fields read as shredded; others keep theirs.
async fn shred_erases_a_subject<D, S, C, K>(backend: &Backend<D, S, C, K>, url: &str)
where
    D: Database,
    K: KeyStore<D> + Clone,
{
    let (kek, _) = kek_file("shred-kek", 7);
    let encryptor = Encryptor::new(backend, Keyring::new(kek));
    let (alice, bob) =
        (Subject::new("users", "alice").unwrap(), Subject::new("users", "bob").unwrap());
    let sealed_alice =
        encryptor.seal(&alice, "email", &"alice@example.com".to_owned()).await.unwrap();
    let sealed_bob = encryptor.seal(&bob, "email", &"bob@example.com".to_owned()).await.unwrap();

    let refused = run(&["-d", url, "keys", "shred", "users", "alice"]).await;
    expect_code(&refused, 4);
    let fresh = Encryptor::new(backend, Keyring::new(kek_file("shred-kek", 7).0));
    assert!(!fresh.reveal(&alice, "email", &sealed_alice).await.unwrap().is_shredded());

    let shredded = json(
        &run(&["-d", url, "keys", "shred", "users", "alice", "--yes", "--format", "json"]).await,
    );
    assert_eq!(shredded["destroyed"], 1);
    let fresh = Encryptor::new(backend, Keyring::new(kek_file("shred-kek", 7).0));
    assert!(fresh.reveal(&alice, "email", &sealed_alice).await.unwrap().is_shredded());
    let bob_email = fresh.reveal(&bob, "email", &sealed_bob).await.unwrap().plain();
    assert_eq!(bob_email.as_deref(), Some("bob@example.com"));
}

on_backends!(shred_erases_a_subject: sqlite, postgres);

/// `keys rewrap` stopped after one page prints a cursor; resumed from it, it re-wraps the rest,
/// and every field then opens with the new KEK alone. `keys rotate` starts a new version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrap_resumes_after_an_interruption() {
    let (backend, path) = sqlite("rewrap").await;
    let url = path.to_str().unwrap();
    let (old, old_spec) = kek_file("old", 1);
    let (_, new_spec) = kek_file("new", 2);
    let encryptor = Encryptor::new(&backend, Keyring::new(old));
    let mut sealed = Vec::new();
    for name in ["ann", "ben", "cat", "dan", "eve"] {
        let subject = Subject::new("users", name).unwrap();
        let field = encryptor.seal(&subject, "name", &name.to_owned()).await.unwrap();
        sealed.push((subject, field));
    }
    let first = run(&[
        "-d",
        url,
        "keys",
        "rewrap",
        "--kek",
        &old_spec,
        "--to",
        &new_spec,
        "--page-size",
        "2",
        "--pages",
        "1",
    ])
    .await;
    expect_code(&first, 0);
    let text = stdout(&first);
    assert!(text.contains("re-wrapped 2 key(s) under new"), "{text}");
    let cursor = text.split("--resume-after ").nth(1).expect("a cursor").trim().to_owned();
    assert_eq!(cursor, "users/ben/v1");

    let rest = json(
        &run(&[
            "-d",
            url,
            "keys",
            "rewrap",
            "--kek",
            &old_spec,
            "--to",
            &new_spec,
            "--resume-after",
            &cursor,
            "--format",
            "json",
        ])
        .await,
    );
    assert_eq!(rest["rewrapped"], 3, "{rest:#}");
    assert_eq!(rest["complete"], true, "{rest:#}");
    let only_new = Encryptor::new(&backend, Keyring::new(kek_file("new", 2).0));
    for (subject, field) in &sealed {
        let name = only_new.reveal(subject, "name", field).await.unwrap().plain();
        assert_eq!(name.as_deref(), Some(subject.id()));
    }

    let rotated = json(
        &run(&[
            "-d", url, "keys", "rotate", "users", "ann", "--kek", &new_spec, "--format", "json",
        ])
        .await,
    );
    assert_eq!(rotated["version"], 2);
    let bad_kek = run(&["-d", url, "keys", "rotate", "users", "ann", "--kek", "no-file"]).await;
    expect_code(&bad_kek, 2);
}

/// Bad input: one clear line (and a hint), a distinct exit code, nothing changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gives_one_line_and_a_code() {
    let (backend, path) = sqlite("bad").await;
    deposits(backend.database(), backend.store(), 1).await;
    let url = path.to_str().unwrap();
    let missing = std::env::temp_dir().join("pupsourcing-cli-no-such.db");
    let cases: [(&[&str], i32, &str); 9] = [
        (
            &["-d", url, "keys", "shred", "users", "nobody", "--yes"],
            3,
            "error: users/nobody has no keys",
        ),
        (&["-d", url, "pause", "nobody"], 3, "error: no consumer named \"nobody\""),
        (&["-d", url, "rewind", "nobody", "--to", "0"], 3, "error: no consumer named"),
        (&["-d", "redis://localhost", "status"], 2, "error: unsupported database URL scheme"),
        (&["-d", missing.to_str().unwrap(), "status"], 3, "error: no SQLite database at"),
        (&["-d", url, "--events-table", "nope", "status"], 3, "error: schema error"),
        (&["-d", url, "--events-table", "no pe", "status"], 2, "error: "),
        (&["-d", "postgres://nobody@127.0.0.1:1/none", "status"], 5, "error: cannot connect"),
        (&["status"], 2, "error: no database given"),
    ];
    for (args, code, message) in cases {
        let output = run(args).await;
        assert_eq!(output.status.code(), Some(code), "{args:?}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(err.starts_with(message), "{args:?}: {err}");
        assert!(err.lines().count() <= 2, "one line and a hint: {err}");
    }
    assert!(!missing.exists(), "a mistyped path must not create a database");
    let mut schema = command(&["migrate", "--backend", "sqlite"]);
    schema.env("DATABASE_URL", "redis://not-a-database");
    let schema = tokio::task::spawn_blocking(move || schema.output().unwrap()).await.unwrap();
    expect_code(&schema, 0);
    for usage in [&["-d", url, "rewind", "billing"][..], &["-d", url, "status", "--count", "2"]] {
        let usage = run(usage).await;
        expect_code(&usage, 2);
        assert!(stderr(&usage).starts_with("error: "), "{}", stderr(&usage));
    }
    assert_eq!(read_all(backend.database(), backend.store()).await.len(), 1);
}

/// `migrate` writes the DDL as `pupsourcing-migrate` did, and `--apply` creates it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_writes_and_applies_the_schema() {
    let dir = std::env::temp_dir().join(format!("pupsourcing-cli-migrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let written = run(&["migrate", "--backend", "sqlite", "--output", dir.to_str().unwrap()]).await;
    expect_code(&written, 0);
    let sql = std::fs::read_to_string(dir.join("pupsourcing_sqlite.sql")).unwrap();
    assert!(sql.contains("CREATE TABLE IF NOT EXISTS \"events\""));
    let piped = run(&["migrate", "--backend", "pg", "--prefix", "app_", "--schema", "es"]).await;
    expect_code(&piped, 0);
    assert!(stdout(&piped).contains("\"es\".\"app_events\""), "{}", stdout(&piped));
    expect_code(&run(&["migrate"]).await, 2);
    expect_code(&run(&["migrate", "--backend", "oracle"]).await, 2);

    let db = dir.join("fresh.db");
    let applied =
        run(&["-d", db.to_str().unwrap(), "--prefix", "app_", "migrate", "--apply"]).await;
    expect_code(&applied, 0);
    let status = run(&["-d", db.to_str().unwrap(), "--prefix", "app_", "status"]).await;
    expect_code(&status, 0);
    let unprefixed = run(&["-d", db.to_str().unwrap(), "status"]).await;
    expect_code(&unprefixed, 3);
    std::fs::remove_dir_all(dir).unwrap();
}

/// On PostgreSQL, `status` names the open hole and the transaction behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_status_names_the_transaction_behind_a_hole() {
    let (database, backend, _) = postgres_fixture("hole").await;
    let (db, store) = (backend.database(), backend.store());
    let mut open = db.begin().await.unwrap();
    let stream = pupsourcing::StreamId::new("account", "slow");
    let event = pupsourcing::Event::new(&stream, "Deposited", b"{}".to_vec());
    store.append(&mut open, pupsourcing::ExpectedVersion::Any, vec![event]).await.unwrap();
    let pid: i32 = pupsourcing_postgres::sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut *open)
        .await
        .unwrap();
    deposits(db, store, 1).await;
    let status = json(&run(&["-d", database.url(), "status", "--format", "json"]).await);
    assert_eq!(status["frontier"]["safe_position"], 0, "{status:#}");
    assert_eq!(status["frontier"]["open_holes"][0]["start"], 1, "{status:#}");
    assert_eq!(status["frontier"]["oldest_writer"]["pid"], pid, "{status:#}");
    let text = stdout(&run(&["-d", database.url(), "status"]).await);
    assert!(text.contains("open hole 1..=1"), "{text}");
    let (base, _) = database.url().rsplit_once('/').unwrap();
    let no_database = run(&["-d", &format!("{base}/no_such_database"), "status"]).await;
    expect_code(&no_database, 3);
    assert!(
        stderr(&no_database).starts_with("error: no such database"),
        "{}",
        stderr(&no_database)
    );
    assert!(text.contains(&format!("oldest open writer: pid {pid}")), "{text}");
    db.rollback(open).await.unwrap();
}

/// Every command's `--help` shows how to call it.
#[test]
fn every_command_has_examples_in_its_help() {
    let top = command(&["--help"]).assert().success();
    let top = String::from_utf8_lossy(&top.get_output().stdout).into_owned();
    assert!(top.contains("Exit codes:") && top.contains("3  not found"), "{top}");
    let commands: [&[&str]; 15] = [
        &["status"],
        &["pause"],
        &["resume"],
        &["skip"],
        &["rewind"],
        &["rebuild"],
        &["dead-letters"],
        &["events", "tail"],
        &["stream", "show"],
        &["keys", "shred"],
        &["keys", "rotate"],
        &["keys", "rewrap"],
        &["migrate"],
        &["events"],
        &["keys"],
    ];
    for args in commands {
        let mut with_help = args.to_vec();
        with_help.push("--help");
        let out = command(&with_help).assert().success();
        let help = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        let leaf = !matches!(args, ["events"] | ["keys"]);
        assert!(!leaf || help.contains("pupsourcing "), "{args:?} has no example:\n{help}");
    }
}

/// `status --watch` refreshes until told to stop (here after three refreshes); JSON too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_watch_refreshes() {
    let (backend, path) = sqlite("watch").await;
    deposits(backend.database(), backend.store(), 2).await;
    let url = path.to_str().unwrap();
    let watched =
        run(&["-d", url, "status", "--watch", "--interval", "0.05", "--count", "3"]).await;
    expect_code(&watched, 0);
    assert_eq!(stdout(&watched).matches("Frontier: safe 2, latest 2, lag 0").count(), 3);
    let args =
        ["-d", url, "status", "--watch", "--interval", "0.05", "--count", "2", "--format", "json"];
    let watched = run(&args).await;
    expect_code(&watched, 0);
    let documents: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&watched.stdout)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(documents.len(), 2);
    assert_eq!(documents[1]["frontier"]["latest_position"], 2);
    expect_code(&run(&["-d", url, "status", "--interval", "0"]).await, 2);
}

/// `rebuild --reset-sql` clears the read model in the transaction that moves the checkpoints
/// back; SQL that fails changes neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebuild_with_reset_sql_is_all_or_nothing() {
    let (backend, path) = sqlite("reset").await;
    let db = backend.database();
    let mut tx = db.begin().await.unwrap();
    tx.execute("CREATE TABLE billed (n INTEGER)", ()).await.unwrap();
    tx.execute("INSERT INTO billed VALUES (1), (2)", ()).await.unwrap();
    db.commit(tx).await.unwrap();
    let last = deposits(db, backend.store(), 20).await;
    let worker = Running::start(&backend, Billing::new(Duration::ZERO));
    until(&backend, "the first pass", |units| units[0].unit.checkpoint >= last).await;
    let url = path.to_str().unwrap();
    let billed = async || {
        let mut tx = db.begin_read().await.unwrap();
        let rows = tx.query("SELECT count(*) FROM billed", (), |row| row.get::<_, i64>(0)).await;
        db.rollback(tx).await.unwrap();
        rows.unwrap()[0]
    };

    let failed = run(&[
        "-d",
        url,
        "rebuild",
        "billing",
        "--reset-sql",
        "DELETE FROM billed; DELETE FROM nowhere",
    ])
    .await;
    expect_code(&failed, 1);
    assert!(stderr(&failed).starts_with("error: the reset SQL failed"), "{}", stderr(&failed));
    assert_eq!(billed().await, 2, "the failed reset left the read model alone");
    let status = json(&run(&["-d", url, "status", "--format", "json"]).await);
    assert_eq!(status["units"][0]["checkpoint"], last, "the failed reset left the checkpoint");

    let rebuilt =
        run(&["-d", url, "rebuild", "billing", "--reset-sql", "DELETE FROM billed"]).await;
    expect_code(&rebuilt, 0);
    assert!(
        stdout(&rebuilt).contains(&format!("billing caught up: checkpoint {last}")),
        "{}",
        stdout(&rebuilt)
    );
    assert_eq!(billed().await, 0);
    worker.stop().await;
}
