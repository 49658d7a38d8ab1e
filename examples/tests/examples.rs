//! Every small example runs to completion on SQLite without setup and on PostgreSQL and MariaDB
//! with `DATABASE_URL`, and prints what it promises (each also checks itself and fails
//! otherwise).

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::process::Command;

use pupsourcing_testkit::{mysql, postgres};

fn run(binary: &str, command: &mut Command, promises: &[&str]) {
    let output = command.output().expect("run the example");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{binary} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for promise in promises {
        assert!(stdout.contains(promise), "{binary}: missing {promise:?} in:\n{stdout}");
    }
}

fn on_sqlite(binary: &str, path: &str, promises: &[&str]) {
    let dir = std::env::temp_dir()
        .join(format!("pupsourcing-{binary}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(path);
    command.arg(dir.join("example.sqlite3")).env_remove("DATABASE_URL");
    run(binary, &mut command, &[&["on SQLite"], promises].concat());
    std::fs::remove_dir_all(dir).unwrap();
}

async fn on_postgres(binary: &str, path: &str, promises: &[&str]) {
    let database = postgres::TestDatabase::new(&binary.replace('-', "_")).await;
    let mut command = Command::new(path);
    command.env("DATABASE_URL", database.url());
    run(binary, &mut command, &[&["on PostgreSQL"], promises].concat());
}

async fn on_mysql(binary: &str, path: &str, promises: &[&str]) {
    let database = mysql::TestDatabase::new(&binary.replace('-', "_")).await;
    let mut command = Command::new(path);
    command.env("DATABASE_URL", database.url());
    run(binary, &mut command, &[&["on MySQL/MariaDB"], promises].concat());
    let own = format!("pupsourcing_{}", binary.replace('-', "_"));
    pupsourcing_examples::setup::drop_mysql(database.url(), &own).await.unwrap();
}

macro_rules! example_tests {
    ($($sqlite:ident, $postgres:ident, $mysql:ident: $binary:literal => [$($promise:literal),* $(,)?];)*) => {
        $(
            #[test]
            fn $sqlite() {
                on_sqlite($binary, env!(concat!("CARGO_BIN_EXE_", $binary)), &[$($promise),*]);
            }

            #[tokio::test]
            async fn $postgres() {
                on_postgres($binary, env!(concat!("CARGO_BIN_EXE_", $binary)), &[$($promise),*]).await;
            }

            #[tokio::test]
            async fn $mysql() {
                on_mysql($binary, env!(concat!("CARGO_BIN_EXE_", $binary)), &[$($promise),*]).await;
            }
        )*
    };
}

example_tests! {
    bank_account_on_sqlite, bank_account_on_postgres, bank_account_on_mysql: "bank-account" =>
        ["is refused: insufficient funds", "balance 176.00 at version 90", "no update lost: true"];
    snapshots_on_sqlite, snapshots_on_postgres, snapshots_on_mysql: "snapshots" => [
        "without snapshots: 20000 events replayed",
        "with snapshots: 0 events replayed after the snapshot at version 20001",
        "same state with and without snapshots: true",
        "state version 2 ignores the version-1 snapshot: true",
        "state version 2 loads from its own snapshot at version 20002",
        "2 account snapshots",
        "dropped 2 snapshots; loading replays all 20002 events again, balance",
    ];
    event_mapping_on_sqlite, event_mapping_on_postgres, event_mapping_on_mysql: "event-mapping" => [
        r#"AccountOpened   v1 -> Opened(Opened { owner: "ann", currency: "EUR" })"#,
        "Deposited       v1 -> Deposited(Deposited { cents: 2500 })",
        "MoneyDeposited  v1 -> Deposited(Deposited { cents: 1000 })",
        "AccountOpened   current v2, aliases [], upcast from [1]",
    ];
    single_worker_on_sqlite, single_worker_on_postgres, single_worker_on_mysql: "single-worker" =>
        ["30 events counted, each once"];
    multiple_projections_on_sqlite, multiple_projections_on_postgres, multiple_projections_on_mysql: "multiple-projections" =>
        ["both projections counted all 30 events"];
    scoped_projections_on_sqlite, scoped_projections_on_postgres, scoped_projections_on_mysql: "scoped-projections" =>
        ["payments [(\"order\", 10)]: 10 of 30 events in scope", "every projection saw exactly its scope"];
    stop_resume_on_sqlite, stop_resume_on_postgres, stop_resume_on_mysql: "stop-resume" =>
        ["21 events counted in all, none twice"];
    with_logging_on_sqlite, with_logging_on_postgres, with_logging_on_mysql: "with-logging" =>
        ["pupsourcing_events_handled_total", "pupsourcing_consumer_lag", "adds up to"];
    scaling_on_sqlite, scaling_on_postgres, scaling_on_mysql: "scaling" =>
        ["3 nodes: {\"node-a\": 2, \"node-b\": 2, \"node-c\": 2}", "60 of 60 events counted"];
}
