//! The setup every example shares: SQLite by default, PostgreSQL or MySQL/MariaDB when
//! `DATABASE_URL` is set (by its scheme: `postgres://` or `mysql://`).

use std::path::PathBuf;

use std::sync::Arc;
use std::time::Duration;

use pupsourcing::{
    Backend, BoxError, Consumer, Database, Event, EventStore, ExpectedVersion, StreamId, Worker,
    WorkerConfig, WorkerError,
};
use pupsourcing_mysql::sqlx::mysql::MySqlConnectOptions;
use pupsourcing_mysql::{MysqlBackend, MysqlDatabase, MysqlStoreConfig};
use pupsourcing_postgres::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use pupsourcing_postgres::sqlx::{self, AssertSqlSafe};
use pupsourcing_postgres::{PostgresBackend, PostgresStoreConfig, Tables};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The server an example runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    /// PostgreSQL at this URL.
    Postgres(String),
    /// MySQL or MariaDB at this URL.
    Mysql(String),
}

/// The server `DATABASE_URL` names, if it is set: MySQL/MariaDB for `mysql://` and
/// `mariadb://` URLs, PostgreSQL for any other.
pub fn server() -> Option<Server> {
    let url = std::env::var("DATABASE_URL").ok().filter(|url| !url.is_empty())?;
    Some(if url.starts_with("mysql:") || url.starts_with("mariadb:") {
        Server::Mysql(url.replacen("mariadb:", "mysql:", 1))
    } else {
        Server::Postgres(url)
    })
}

/// A fresh SQLite file for example `name`: the first argument, or one in the temporary
/// directory, removed first.
pub fn fresh_sqlite_path(name: &str) -> PathBuf {
    let path = std::env::args_os().nth(1).map_or_else(
        || std::env::temp_dir().join(format!("pupsourcing-{name}.sqlite3")),
        Into::into,
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// A backend in schema `schema` of the database at `url`, recreated empty, with the read
/// models' own tables landing in it too (`search_path`).
pub async fn fresh_postgres(url: &str, schema: &str) -> Result<PostgresBackend, BoxError> {
    let options: PgConnectOptions = url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options.options([("search_path", schema)]))
        .await?;
    sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE")))
        .execute(&pool)
        .await?;
    let config = PostgresStoreConfig::default().with_tables(Tables::new().with_schema(schema)?);
    let backend = pupsourcing_postgres::from_pool(pool, config);
    backend.store().migrate().await?;
    Ok(backend)
}

/// A backend in database `database` on the MySQL or MariaDB server at `url` (MySQL's
/// schemas are databases), recreated empty; its connections use that database, so the read
/// models' own tables land in it too. The URL's user needs the right to create databases.
pub async fn fresh_mysql(url: &str, database: &str) -> Result<MysqlBackend, BoxError> {
    drop_mysql(url, database).await?;
    mysql_admin(
        url,
        &format!("CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"),
    )
    .await?;
    let backend = mysql_in(url, database).await?;
    backend.store().migrate().await?;
    Ok(backend)
}

/// Drops database `database` on the MySQL or MariaDB server at `url`, if it exists.
pub async fn drop_mysql(url: &str, database: &str) -> Result<(), BoxError> {
    mysql_admin(url, &format!("DROP DATABASE IF EXISTS {database}")).await
}

async fn mysql_admin(url: &str, statement: &str) -> Result<(), BoxError> {
    let options: MySqlConnectOptions = url.parse()?;
    let admin = MysqlDatabase::pool_options().max_connections(1).connect_with(options).await?;
    sqlx::raw_sql(AssertSqlSafe(statement.to_owned())).execute(&admin).await?;
    admin.close().await;
    Ok(())
}

/// A backend in the existing database `database` on the server at `url`.
pub async fn mysql_in(url: &str, database: &str) -> Result<MysqlBackend, BoxError> {
    let options: MySqlConnectOptions = url.parse()?;
    let pool = MysqlDatabase::pool_options()
        .max_connections(16)
        .connect_with(options.database(database))
        .await?;
    Ok(pupsourcing_mysql::from_pool(pool, MysqlStoreConfig::default()))
}

/// Runs `$run(&backend)` for example `$name` on PostgreSQL (in schema `pupsourcing_$name`) or
/// MySQL/MariaDB (in database `pupsourcing_$name`) when `DATABASE_URL` is set, else on a fresh
/// SQLite file, printing which.
#[macro_export]
macro_rules! on_any_backend {
    ($name:literal, $run:ident) => {{
        let schema = concat!("pupsourcing_", $name).replace('-', "_");
        match $crate::setup::server() {
            Some($crate::setup::Server::Postgres(url)) => {
                println!(concat!($name, " on PostgreSQL"));
                let backend = $crate::setup::fresh_postgres(&url, &schema).await?;
                $run(&backend).await
            }
            Some($crate::setup::Server::Mysql(url)) => {
                println!(concat!($name, " on MySQL/MariaDB"));
                let backend = $crate::setup::fresh_mysql(&url, &schema).await?;
                $run(&backend).await
            }
            None => {
                let path = $crate::setup::fresh_sqlite_path($name);
                println!("{} on SQLite ({})", $name, path.display());
                let backend = pupsourcing_sqlite::open(path).await?;
                backend.store().migrate().await?;
                $run(&backend).await
            }
        }
    }};
}

/// Settings that make the examples quick: short polls and heartbeats.
pub fn quick(node: &str) -> WorkerConfig {
    WorkerConfig {
        node_id: node.to_owned(),
        poll_interval: Duration::from_millis(50),
        idle_backoff_max: Duration::from_millis(200),
        heartbeat_interval: Duration::from_millis(100),
        heartbeat_timeout: Duration::from_millis(800),
        lease_duration: Duration::from_millis(800),
        ..WorkerConfig::default()
    }
}

/// A worker running in a task of this process.
pub struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), WorkerError>>,
}

impl Running {
    /// Starts a worker `node` with `consumers` on `backend`.
    pub fn start<D, S, C, K>(
        backend: &Backend<D, S, C, K>,
        node: &str,
        consumers: Vec<Arc<dyn Consumer<D>>>,
    ) -> Result<Self, WorkerError>
    where
        D: Database,
        S: EventStore<D> + Clone,
        C: pupsourcing::spi::Coordinator<D> + Clone,
    {
        let mut builder = Worker::builder(backend).config(quick(node));
        for consumer in consumers {
            builder = builder.shared_consumer(consumer);
        }
        let worker = builder.build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(worker.run(async move {
            let _ = stopped.await;
        }));
        Ok(Self { stop, task })
    }

    /// Shuts the worker down cleanly and waits for it.
    pub async fn stop(self) -> Result<(), BoxError> {
        let _ = self.stop.send(());
        Ok(self.task.await??)
    }
}

/// Appends `count` events round robin to orders in the `sales` and `billing` contexts and to
/// invoices: `OrderPlaced`, `OrderPaid` and `InvoiceIssued`, one transaction each. Returns the
/// events as appended.
pub async fn write_sample<D, S>(db: &D, store: &S, count: usize) -> Result<Vec<Event>, BoxError>
where
    D: Database,
    S: EventStore<D>,
{
    let run = uuid::Uuid::new_v4().simple().to_string();
    let streams = [
        (StreamId::new("order", format!("o-{run}")).in_context("sales"), "OrderPlaced"),
        (StreamId::new("order", format!("o-{run}")).in_context("billing"), "OrderPaid"),
        (StreamId::new("invoice", format!("i-{run}")).in_context("billing"), "InvoiceIssued"),
    ];
    let mut written = Vec::with_capacity(count);
    for i in 0..count {
        let (stream, event_type) = &streams[i % streams.len()];
        let event = Event::new(stream, *event_type, format!("{{\"n\":{i}}}").into_bytes());
        store.append_committed(db, ExpectedVersion::Any, vec![event.clone()]).await?;
        written.push(event);
    }
    Ok(written)
}
