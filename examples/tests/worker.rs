//! The worker example runs two separate worker processes, kills one with SIGKILL, and the
//! projection still converges exactly: on SQLite without setup, on PostgreSQL and on MariaDB.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::process::Command;

use pupsourcing_testkit::{mysql, postgres};

fn run(command: &mut Command) -> String {
    let output = command.output().expect("run the worker demo");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "worker demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in
        ["killed process a with SIGKILL", "node b owns every unit", "converged", "clean shutdown"]
    {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    assert!(stdout.contains("300 users, every email and version as written"), "{stdout}");
    eprintln!("{stdout}");
    stdout
}

#[test]
fn two_processes_on_sqlite_survive_a_kill() {
    let dir =
        std::env::temp_dir().join(format!("pupsourcing-worker-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let stdout = run(Command::new(env!("CARGO_BIN_EXE_worker"))
        .arg("demo")
        .arg(dir.join("demo.sqlite3"))
        .env_remove("DATABASE_URL"));
    assert!(stdout.contains("on SQLite"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn two_processes_on_postgres_survive_a_kill() {
    let database = postgres::TestDatabase::new("worker_demo").await;
    let stdout = run(Command::new(env!("CARGO_BIN_EXE_worker"))
        .arg("demo")
        .env("DATABASE_URL", database.url()));
    assert!(stdout.contains("on PostgreSQL"));
}

#[tokio::test]
async fn two_processes_on_mysql_survive_a_kill() {
    let database = mysql::TestDatabase::new("worker_demo").await;
    let stdout = run(Command::new(env!("CARGO_BIN_EXE_worker"))
        .arg("demo")
        .env("DATABASE_URL", database.url()));
    assert!(stdout.contains("on MySQL/MariaDB"));
    pupsourcing_examples::setup::drop_mysql(database.url(), "pupsourcing_demo").await.unwrap();
}
