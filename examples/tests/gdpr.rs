//! The GDPR walkthrough runs to completion on SQLite without setup, on PostgreSQL and on
//! MariaDB, and shows what it promises: look-up by blind index, erasure, and a rebuild that keeps
//! the erasure.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::process::Command;

use pupsourcing_testkit::{mysql, postgres};

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run the gdpr walkthrough");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "gdpr walkthrough failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in [
        "through the blind index: found c-002 (Bob Keller)",
        "\"name\":\"pupenc:",
        "destroyed 1 key version(s) of c-002",
        "look-up by c-002's old email: not found",
        "now gives: Shredded",
        "rebuilt: 3 customers, 1 shown as erased",
        "worker stopped",
    ] {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("wrong!"), "{stdout}");
    let rebuilt = stdout.split("6. Rebuilding").nth(1).expect("a rebuild section");
    assert!(rebuilt.contains("c-002    [erased]         [erased]"), "{rebuilt}");
    assert!(rebuilt.contains("Alice Martin     alice.martin@example.com"), "{rebuilt}");
    let erased = stdout.split("5. Erasing").nth(1).expect("an erasure section");
    assert!(!erased.contains("Bob Keller") && !erased.contains("bob"), "{erased}");
    stdout
}

#[test]
fn gdpr_walkthrough_runs_on_sqlite_without_setup() {
    let dir =
        std::env::temp_dir().join(format!("pupsourcing-gdpr-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let stdout = run(Command::new(env!("CARGO_BIN_EXE_gdpr"))
        .arg(dir.join("gdpr.sqlite3"))
        .env_remove("DATABASE_URL"));
    assert!(stdout.contains("on SQLite"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn gdpr_walkthrough_runs_on_postgres_with_database_url() {
    let database = postgres::TestDatabase::new("gdpr").await;
    let stdout = run(Command::new(env!("CARGO_BIN_EXE_gdpr")).env("DATABASE_URL", database.url()));
    assert!(stdout.contains("on PostgreSQL"));
}

#[tokio::test]
async fn gdpr_walkthrough_runs_on_mysql_with_database_url() {
    let database = mysql::TestDatabase::new("gdpr").await;
    let stdout = run(Command::new(env!("CARGO_BIN_EXE_gdpr")).env("DATABASE_URL", database.url()));
    assert!(stdout.contains("on MySQL/MariaDB"));
    pupsourcing_examples::setup::drop_mysql(database.url(), "pupsourcing_gdpr").await.unwrap();
}
