//! The README's first command keeps working: the quickstart binary runs to completion on SQLite
//! with no setup, and (built with the `postgres` feature, as the README's test command builds
//! it) on PostgreSQL when `DATABASE_URL` is set, and (with the `mysql` feature) on MariaDB.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::process::Command;

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run quickstart");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "quickstart failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in [
        "clerk B was refused: version conflict",
        "clerk B saved",
        "refused by the domain: the command was refused: the email is already",
        "nothing was stored twice",
        "EmailChanged",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    stdout
}

#[test]
fn quickstart_runs_on_sqlite_without_setup() {
    let dir = std::env::temp_dir()
        .join(format!("pupsourcing-quickstart-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("quickstart.sqlite3");
    let stdout =
        run(Command::new(env!("CARGO_BIN_EXE_quickstart")).arg(&path).env_remove("DATABASE_URL"));
    assert!(stdout.contains("on SQLite"));
    assert!(path.exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn quickstart_runs_on_postgres_with_database_url() {
    let database = pupsourcing_testkit::postgres::TestDatabase::new("quickstart").await;
    let stdout =
        run(Command::new(env!("CARGO_BIN_EXE_quickstart")).env("DATABASE_URL", database.url()));
    assert!(stdout.contains("on PostgreSQL"));
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn quickstart_runs_on_mysql_with_database_url() {
    let database = pupsourcing_testkit::mysql::TestDatabase::new("quickstart").await;
    let stdout =
        run(Command::new(env!("CARGO_BIN_EXE_quickstart")).env("DATABASE_URL", database.url()));
    assert!(stdout.contains("on MySQL/MariaDB"));
}
