//! The bank-account flow runs on SQLite without setup and on PostgreSQL, and loses no update.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::process::Command;

use pupsourcing_testkit::postgres::TestDatabase;

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run bank-account");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "bank-account failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in
        ["is refused: insufficient funds", "balance 176.00 at version 90", "no update lost: true"]
    {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    stdout
}

#[test]
fn bank_account_runs_on_sqlite_without_setup() {
    let dir =
        std::env::temp_dir().join(format!("pupsourcing-bank-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let stdout = run(Command::new(env!("CARGO_BIN_EXE_bank-account"))
        .arg(dir.join("bank.sqlite3"))
        .env_remove("DATABASE_URL"));
    assert!(stdout.contains("on SQLite"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn bank_account_runs_on_postgres_with_database_url() {
    let database = TestDatabase::new("bank_account").await;
    let stdout =
        run(Command::new(env!("CARGO_BIN_EXE_bank-account")).env("DATABASE_URL", database.url()));
    assert!(stdout.contains("on PostgreSQL"));
}
