//! Fresh MariaDB (or MySQL) databases for tests, the way [`postgres`](crate::postgres) provides
//! PostgreSQL ones.
//!
//! Every test gets its own database on one server per test process: `MYSQL_URL`'s server (or
//! `DATABASE_URL`'s, when it is a `mysql://` URL), otherwise a throwaway MariaDB started on first
//! use from Debian's `mariadb-server-core` (with `mariadb-client-core`). A database is dropped when its [`TestDatabase`] is
//! dropped after a passing test, and kept for inspection after a failing one.

mod server;

use std::sync::OnceLock;

use sqlx::mysql::{MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, Connection};
use url::Url;

use crate::HarnessError;
use server::{Durability, Server};

static SERVER: OnceLock<Result<String, HarnessError>> = OnceLock::new();
static DURABLE_SERVER: OnceLock<Result<String, HarnessError>> = OnceLock::new();
static BINLOG_SERVER: OnceLock<Result<String, HarnessError>> = OnceLock::new();

fn configured() -> Option<String> {
    let mysql = std::env::var("MYSQL_URL").ok().filter(|url| !url.trim().is_empty());
    mysql.or_else(|| std::env::var("DATABASE_URL").ok().filter(|url| url.starts_with("mysql://")))
}

/// The admin URL of the server the tests use, starting the throwaway server if needed.
pub fn server_url() -> Result<String, HarnessError> {
    SERVER
        .get_or_init(|| {
            configured().map_or_else(|| Server::start(Durability::Relaxed).map(|s| s.admin_url), Ok)
        })
        .clone()
}

/// The admin URL of a throwaway server with durable commits, for benchmarks. Uses `MYSQL_URL`
/// (or a `mysql://` `DATABASE_URL`) when set.
pub fn durable_server_url() -> Result<String, HarnessError> {
    DURABLE_SERVER
        .get_or_init(|| {
            configured().map_or_else(|| Server::start(Durability::Durable).map(|s| s.admin_url), Ok)
        })
        .clone()
}

/// The admin URL of a throwaway server with durable commits and a binary log synced at every
/// commit (`log_bin`, `sync_binlog=1`), for benchmarks. Uses `MYSQL_URL` (or a `mysql://`
/// `DATABASE_URL`) when set.
pub fn binlog_server_url() -> Result<String, HarnessError> {
    BINLOG_SERVER
        .get_or_init(|| {
            let start = || Server::start(Durability::DurableWithBinlog).map(|s| s.admin_url);
            configured().map_or_else(start, Ok)
        })
        .clone()
}

/// A database created for one test.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    /// Creates an empty database named after `test_name` (plus a random suffix).
    pub async fn create(test_name: &str) -> Result<Self, HarnessError> {
        Self::create_on(server_url()?, test_name).await
    }

    /// Creates an empty database on the server at `admin_url`.
    pub async fn create_on(admin_url: String, test_name: &str) -> Result<Self, HarnessError> {
        let name = crate::postgres::database_name(test_name);
        let mut url = Url::parse(&admin_url).map_err(|e| HarnessError::BadUrl(e.to_string()))?;
        url.set_path(&name);
        let mut admin = MySqlConnection::connect(&admin_url)
            .await
            .map_err(|e| HarnessError::sql("connect to the test server", e))?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        )))
        .execute(&mut admin)
        .await
        .map_err(|e| HarnessError::sql("create a test database", e))?;
        let _ = admin.close().await;
        Ok(Self { name, url: url.to_string(), admin_url })
    }

    /// Like [`TestDatabase::create`], panicking with the harness's advice on failure.
    #[allow(clippy::panic)]
    pub async fn new(test_name: &str) -> Self {
        match Self::create(test_name).await {
            Ok(db) => db,
            Err(err) => panic!("{err}"),
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection URL for the database, e.g. for child processes.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A pool of up to `max_connections` connections to the database.
    pub async fn pool(&self, max_connections: u32) -> Result<MySqlPool, HarnessError> {
        MySqlPoolOptions::new()
            .max_connections(max_connections)
            .connect(&self.url)
            .await
            .map_err(|e| HarnessError::sql("connect to the test database", e))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test failed: keeping database {} for inspection ({})", self.name, self.url);
            return;
        }
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin =
                    MySqlConnection::connect(&admin_url).await.map_err(std::io::Error::other)?;
                sqlx::raw_sql(AssertSqlSafe(statement))
                    .execute(&mut admin)
                    .await
                    .map_err(std::io::Error::other)?;
                Ok::<_, std::io::Error>(())
            })
        })
        .join();
        if let Ok(Err(err)) = dropped {
            eprintln!("could not drop test database {}: {err}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn created_databases_are_usable_case_sensitive_and_dropped_afterwards() {
        let db = TestDatabase::new("harness_self_test").await;
        let pool = db.pool(2).await.unwrap();
        let version: String =
            sqlx::query_scalar("SELECT VERSION()").fetch_one(&pool).await.unwrap();
        assert!(version.contains("MariaDB") || version.starts_with('8'), "{version}");
        let collation: String = sqlx::query_scalar(
            "SELECT CAST(default_collation_name AS CHAR) FROM information_schema.schemata \
             WHERE schema_name = DATABASE()",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(collation, "utf8mb4_bin", "test databases compare text byte for byte");
        pool.close().await;
        let name = db.name().to_owned();
        let admin = server_url().unwrap();
        drop(db);
        let mut conn = MySqlConnection::connect(&admin).await.unwrap();
        let exists: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?",
        )
        .bind(&name)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(exists, 0, "database {name} should have been dropped");
    }
}
