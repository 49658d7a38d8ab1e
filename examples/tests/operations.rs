//! The operations example pauses its `revenue` consumer on the malformed invoice, keeps running
//! for an operator, and stops cleanly on SIGINT: on SQLite without setup and on PostgreSQL.

#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)] // test code: failing loudly is the point

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use pupsourcing_testkit::postgres;

fn operate(command: &mut Command) {
    let mut child = command.stdout(Stdio::piped()).stdin(Stdio::null()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let ready = line.starts_with("running;");
        seen.push(line);
        if ready {
            break;
        }
    }
    let text = seen.join("\n");
    assert!(text.contains("revenue paused on event 120"), "{text}");
    assert!(text.contains("invoice amount is not a number: \"twelve\""), "{text}");
    let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
    assert!(interrupted.unwrap().success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(rest.iter().any(|line| line == "stopped"), "no clean stop after:\n{text}\n{rest:?}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn operations_on_sqlite() {
    let dir = std::env::temp_dir()
        .join(format!("pupsourcing-operations-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    operate(
        Command::new(env!("CARGO_BIN_EXE_operations"))
            .arg(dir.join("ops.sqlite3"))
            .env_remove("DATABASE_URL"),
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn operations_on_postgres() {
    let database = postgres::TestDatabase::new("operations").await;
    operate(Command::new(env!("CARGO_BIN_EXE_operations")).env("DATABASE_URL", database.url()));
}
