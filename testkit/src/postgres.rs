//! Fresh PostgreSQL databases for tests.
//!
//! Every test gets its own database on one server per test process: `DATABASE_URL`'s server when
//! the variable is set, otherwise a throwaway cluster started on first use (see
//! [`cluster`](self)). Tests therefore run in parallel and leave nothing behind: a database is
//! dropped when its [`TestDatabase`] is dropped after a passing test, and kept for inspection
//! after a failing one.

mod cluster;

use std::sync::OnceLock;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use url::Url;

use crate::HarnessError;
use cluster::Cluster;

static SERVER: OnceLock<Result<String, HarnessError>> = OnceLock::new();
static DURABLE_SERVER: OnceLock<Result<String, HarnessError>> = OnceLock::new();

/// The admin URL of the server the tests use, starting the throwaway cluster if needed.
pub fn server_url() -> Result<String, HarnessError> {
    SERVER
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(url),
            _ => Cluster::start(false).map(|c| c.admin_url),
        })
        .clone()
}

/// The admin URL of a throwaway cluster with durable commits (`fsync` on), for benchmarks whose
/// figures must mean something. Uses `DATABASE_URL` when set.
pub fn durable_server_url() -> Result<String, HarnessError> {
    DURABLE_SERVER
        .get_or_init(|| match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => Ok(url),
            _ => Cluster::start(true).map(|c| c.admin_url),
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
        let name = database_name(test_name);
        let mut url = Url::parse(&admin_url).map_err(|e| HarnessError::BadUrl(e.to_string()))?;
        url.set_path(&name);
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .map_err(|e| HarnessError::sql("connect to the test server", e))?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .map_err(|e| HarnessError::sql("create a test database", e))?;
        // Closing is best effort: the database exists either way.
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
    pub async fn pool(&self, max_connections: u32) -> Result<PgPool, HarnessError> {
        PgPoolOptions::new()
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
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived thread
        // with its own runtime does the work.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let mut admin =
                    PgConnection::connect(&admin_url).await.map_err(std::io::Error::other)?;
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

/// `pt_<test name>_<random>`, lowercase, at most 63 bytes (within PostgreSQL's and MySQL's
/// limits).
pub(crate) fn database_name(test_name: &str) -> String {
    let base: String = test_name
        .rsplit("::")
        .next()
        .unwrap_or(test_name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(44)
        .collect();
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("pt_{base}_{}", suffix.get(..12).unwrap_or(&suffix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_safe_unique_and_short() {
        let a = database_name("store::append_round-trip \"x\"");
        let b = database_name("store::append_round-trip \"x\"");
        assert!(a.starts_with("pt_append_round_trip__x__"));
        assert_ne!(a, b);
        let long = database_name(&"t".repeat(200));
        assert!(long.len() <= 63);
        assert!(long.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }

    #[tokio::test]
    async fn created_databases_are_usable_and_dropped_afterwards() {
        let db = TestDatabase::new("harness_self_test").await;
        let pool = db.pool(2).await.unwrap();
        let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await.unwrap();
        assert_eq!(one, 1);
        pool.close().await;
        let name = db.name().to_owned();
        let admin = server_url().unwrap();
        drop(db);
        let mut conn = PgConnection::connect(&admin).await.unwrap();
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&name)
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert!(!exists, "database {name} should have been dropped");
    }
}
