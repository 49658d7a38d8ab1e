//! The event-mapping example runs on SQLite without setup and on PostgreSQL, and maps every old
//! event onto today's types.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::process::Command;

use pupsourcing_testkit::postgres::TestDatabase;

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run event-mapping");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "event-mapping failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in [
        r#"AccountOpened   v1 -> Opened(Opened { owner: "ann", currency: "EUR" })"#,
        "Deposited       v1 -> Deposited(Deposited { cents: 2500 })",
        "MoneyDeposited  v1 -> Deposited(Deposited { cents: 1000 })",
        "AccountOpened   current v2, aliases [], upcast from [1]",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    stdout
}

#[test]
fn event_mapping_runs_on_sqlite_without_setup() {
    let dir =
        std::env::temp_dir().join(format!("pupsourcing-mapping-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let stdout = run(Command::new(env!("CARGO_BIN_EXE_event-mapping"))
        .arg(dir.join("mapping.sqlite3"))
        .env_remove("DATABASE_URL"));
    assert!(stdout.contains("on SQLite"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn event_mapping_runs_on_postgres_with_database_url() {
    let database = TestDatabase::new("event_mapping").await;
    let stdout =
        run(Command::new(env!("CARGO_BIN_EXE_event-mapping")).env("DATABASE_URL", database.url()));
    assert!(stdout.contains("on PostgreSQL"));
}
