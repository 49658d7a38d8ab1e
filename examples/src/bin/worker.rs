//! Two worker processes maintain a user directory; one is killed mid-way and the other takes
//! over, and the directory still converges to exactly what was written.
//!
//! ```text
//! cargo run -p pupsourcing-examples --bin worker -- demo [file]       # SQLite (temp dir by default)
//! DATABASE_URL=postgres://... cargo run -p pupsourcing-examples --bin worker -- demo
//! DATABASE_URL=mysql://... cargo run -p pupsourcing-examples --bin worker -- demo
//! ```
//!
//! `demo` starts two copies of this program as `worker node a` and `worker node b`, writes
//! events, kills node `a` with SIGKILL, writes more, and waits for the projection to match.

#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::error::Error;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pupsourcing::spi::Coordinator;
use pupsourcing::{
    Admin, Backend, Consumer, Database, DomainEvent, EventStore, ExpectedVersion, Worker,
    WorkerConfig,
};
use pupsourcing_examples::directory::Directory;
use pupsourcing_examples::setup::{self, Server};
use pupsourcing_examples::sql::SqlDatabase;
use pupsourcing_examples::users::{EmailChanged, Registered, User, UserEvent};
use pupsourcing_postgres::sqlx::{self, AssertSqlSafe, postgres::PgPoolOptions};
use pupsourcing_postgres::{PostgresBackend, PostgresStoreConfig, Tables};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const SCHEMA: &str = "pupsourcing_demo";
const PATIENCE: Duration = Duration::from_secs(60);

fn config(node: &str) -> WorkerConfig {
    WorkerConfig {
        node_id: node.to_owned(),
        version: env!("CARGO_PKG_VERSION").into(),
        heartbeat_interval: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_millis(1500),
        lease_duration: Duration::from_millis(1500),
        poll_interval: Duration::from_millis(200),
        idle_backoff_max: Duration::from_secs(1),
        ..WorkerConfig::default()
    }
}

/// The SQLite file: the argument after the mode (and node name), or one in the temp dir.
fn sqlite_path() -> PathBuf {
    let position = if std::env::args().nth(1).as_deref() == Some("node") { 3 } else { 2 };
    std::env::args_os()
        .nth(position)
        .map_or_else(|| std::env::temp_dir().join("pupsourcing-worker-demo.sqlite3"), Into::into)
}

async fn postgres(url: &str) -> Result<PostgresBackend> {
    let pool = PgPoolOptions::new().max_connections(16).connect(url).await?;
    let config = PostgresStoreConfig::default().with_tables(Tables::new().with_schema(SCHEMA)?);
    Ok(pupsourcing_postgres::from_pool(pool, config))
}

#[tokio::main]
async fn main() -> Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "node" => {
            tracing_subscriber::fmt()
                .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
                .with_writer(std::io::stderr)
                .init();
            let name = std::env::args().nth(2).ok_or("usage: worker node <name> [sqlite-path]")?;
            match setup::server() {
                Some(Server::Postgres(url)) => {
                    let directory = Directory::new(&format!("{SCHEMA}."), &name);
                    node(&postgres(&url).await?, directory, &name).await
                }
                Some(Server::Mysql(url)) => {
                    let backend = setup::mysql_in(&url, SCHEMA).await?;
                    node(&backend, Directory::new("", &name), &name).await
                }
                None => {
                    let backend = pupsourcing_sqlite::open(sqlite_path()).await?;
                    node(&backend, Directory::new("", &name), &name).await
                }
            }
        }
        "demo" => match setup::server() {
            Some(Server::Postgres(url)) => {
                println!("pupsourcing worker demo on PostgreSQL (schema {SCHEMA})");
                let backend = postgres(&url).await?;
                sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")))
                    .execute(backend.database().pool())
                    .await?;
                backend.store().migrate().await?;
                demo(backend, Directory::new(&format!("{SCHEMA}."), "")).await
            }
            Some(Server::Mysql(url)) => {
                println!("pupsourcing worker demo on MySQL/MariaDB (database {SCHEMA})");
                demo(setup::fresh_mysql(&url, SCHEMA).await?, Directory::new("", "")).await
            }
            None => {
                let path = sqlite_path();
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                println!("pupsourcing worker demo on SQLite ({})", path.display());
                let backend = pupsourcing_sqlite::open(path).await?;
                backend.store().migrate().await?;
                demo(backend, Directory::new("", "")).await
            }
        },
        _ => Err("usage: worker demo [sqlite-file] | worker node <name> [sqlite-file]; \
                  set DATABASE_URL for PostgreSQL or MySQL/MariaDB"
            .into()),
    }
}

/// Runs one worker node until SIGINT.
async fn node<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    directory: Directory,
    name: &str,
) -> Result<()>
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
    Directory: Consumer<D>,
{
    let worker = Worker::builder(backend).config(config(name)).consumer(directory).build()?;
    worker
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// One row of the directory: (user id) → (email, version, node that wrote it).
type Rows = HashMap<String, (String, u64, String)>;

async fn rows<D: SqlDatabase>(db: &D, table: &str) -> Result<Rows> {
    let version = D::as_text("version");
    let sql = format!("SELECT user_id, email, {version}, handled_by FROM {table}");
    let mut rows = Rows::new();
    for row in db.query_committed(sql, Vec::new()).await? {
        let [Some(id), Some(email), Some(version), Some(node)] =
            <[_; 4]>::try_from(row).map_err(|_| "a directory row has four columns")?
        else {
            return Err("a directory row has a NULL".into());
        };
        rows.insert(id, (email, version.parse()?, node));
    }
    Ok(rows)
}

fn spawn_node(name: &str) -> Result<Child> {
    let mut command = Command::new(std::env::current_exe()?);
    command.arg("node").arg(name).arg(sqlite_path()).stdin(Stdio::null()).stdout(Stdio::null());
    Ok(command.spawn()?)
}

/// Writes registrations for `new` users and email changes for every `step`-th known user, and
/// records what the directory must end up holding.
async fn write<D: Database, S: EventStore<D>>(
    db: &D,
    store: &S,
    expected: &mut HashMap<String, (String, u64)>,
    new: usize,
    step: usize,
) -> Result<()> {
    let start = expected.len();
    for i in start..start + new {
        let id = format!("user-{i:04}");
        let email = format!("{id}@example.com");
        let event = UserEvent::Registered(Registered { name: id.clone(), email: email.clone() });
        store
            .append_committed(
                db,
                ExpectedVersion::NoStream,
                vec![event.to_event(&User::stream(&id))?],
            )
            .await?;
        expected.insert(id, (email, 1));
    }
    let mut ids: Vec<String> = expected.keys().cloned().collect();
    ids.sort();
    for id in ids.into_iter().step_by(step) {
        let (old, version) = expected[&id].clone();
        let new = format!("{id}.v{}@example.com", version + 1);
        let event = UserEvent::EmailChanged(EmailChanged { old, new: new.clone() });
        store
            .append_committed(
                db,
                ExpectedVersion::Exact(version),
                vec![event.to_event(&User::stream(&id))?],
            )
            .await?;
        expected.insert(id, (new, version + 1));
    }
    Ok(())
}

/// Waits until the directory has handled everything written so far, then checks that it holds
/// exactly `expected`; returns the rows.
async fn converged<D, S, C>(
    db: &D,
    admin: &Admin<D, S, C>,
    table: &str,
    expected: &HashMap<String, (String, u64)>,
) -> Result<Rows>
where
    D: SqlDatabase,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    admin.wait_caught_up("user-directory", PATIENCE).await?;
    let current = rows(db, table).await?;
    let matches = current.len() == expected.len()
        && expected.iter().all(|(id, (email, version))| {
            current.get(id).is_some_and(|(e, v, _)| e == email && v == version)
        });
    if !matches {
        return Err("the directory differs from what was written".into());
    }
    Ok(current)
}

fn written_by(rows: &Rows) -> String {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (_, _, node) in rows.values() {
        *counts.entry(node.as_str()).or_default() += 1;
    }
    let mut counts: Vec<_> = counts.into_iter().collect();
    counts.sort();
    counts
        .iter()
        .map(|(node, n)| format!("{n} last written by node {node}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn demo<D, S, C, K>(backend: Backend<D, S, C, K>, directory: Directory) -> Result<()>
where
    D: SqlDatabase,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let (db, store) = (backend.database(), backend.store());
    db.execute_committed(directory.create_table()).await?;
    let table = directory.table().to_owned();
    let mut a = spawn_node("a")?;
    let mut b = spawn_node("b")?;
    println!("started worker processes a (pid {}) and b (pid {})", a.id(), b.id());

    let mut expected = HashMap::new();
    write(db, store, &mut expected, 150, 2).await?;
    println!("phase 1: 150 users registered, 75 emails changed");
    let admin = Admin::new(&backend);
    let first = converged(db, &admin, &table, &expected).await?;
    println!("  the directory converged: {} users; {}", first.len(), written_by(&first));

    let killed = Instant::now();
    a.kill()?;
    a.wait()?;
    println!("killed process a with SIGKILL: no shutdown, its units are still assigned to it");
    write(db, store, &mut expected, 150, 1).await?;
    println!("phase 2: 150 more users, 300 email changes, while a is dead");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let status = admin.status().await?;
        if !status.is_empty() && status.iter().all(|s| s.unit.owner.as_deref() == Some("b")) {
            break;
        }
        if Instant::now() > deadline {
            return Err("node b never took over".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "  node b owns every unit {:.2} s after the kill (heartbeat timeout 1.5 s)",
        killed.elapsed().as_secs_f64()
    );
    let second = converged(db, &admin, &table, &expected).await?;
    println!(
        "  the directory converged {:.2} s after the kill: {} users, every email and version as written; {}",
        killed.elapsed().as_secs_f64(),
        second.len(),
        written_by(&second)
    );

    let stopped = Command::new("kill").arg("-INT").arg(b.id().to_string()).status()?;
    let exit = b.wait()?;
    println!(
        "stopped b with SIGINT: {}",
        if stopped.success() && exit.success() { "clean shutdown" } else { "failed" }
    );
    if !exit.success() {
        return Err("node b did not shut down cleanly".into());
    }
    Ok(())
}
