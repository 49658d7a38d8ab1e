//! Just enough SQL plumbing for the examples' read models to run unchanged on PostgreSQL,
//! SQLite and MySQL/MariaDB: placeholders, text and integer parameters, the two expressions the
//! dialects spell differently, and rows read back as text.
//!
//! A real application picks one backend and writes its queries directly (sqlx on PostgreSQL and
//! MySQL, rusqlite on SQLite); this trait only keeps the examples from saying everything thrice.

use pupsourcing::async_trait;
use pupsourcing::{BoxError, Database};
use pupsourcing_mysql::{MysqlDatabase, MysqlTx};
use pupsourcing_postgres::sqlx::{self, AssertSqlSafe, Row};
use pupsourcing_postgres::{PgDatabase, PgTx};
use pupsourcing_sqlite::rusqlite;
use pupsourcing_sqlite::{SqliteDatabase, SqliteTx};

/// A statement parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<Option<String>> for Value {
    fn from(text: Option<String>) -> Self {
        text.map_or(Self::Null, Self::Text)
    }
}

/// A database the examples can run their own statements on, inside pupsourcing transactions.
///
/// Statements use each placeholder once, in order (MySQL's `?` is positional).
#[async_trait]
pub trait SqlDatabase: Database {
    /// The `n`-th parameter placeholder (from 1): `$n`, `?n` or `?`.
    fn placeholder(n: usize) -> String;

    /// `expr` as text, for [`SqlDatabase::query`].
    fn as_text(expr: &str) -> String {
        format!("CAST({expr} AS TEXT)")
    }

    /// The clause after an `INSERT INTO table` that adds one to `column` of the row already
    /// holding the inserted `key`.
    fn on_conflict_add_one(table: &str, key: &str, column: &str) -> String {
        format!("ON CONFLICT ({key}) DO UPDATE SET {column} = {table}.{column} + 1")
    }

    /// Runs a statement in `tx`; returns the number of rows changed.
    async fn execute(tx: &mut Self::Tx, sql: String, params: Vec<Value>) -> Result<u64, BoxError>;

    /// Runs a query in `tx`; every column must be text (or `NULL`), e.g. `Self::as_text("n")`.
    async fn query(
        tx: &mut Self::Tx,
        sql: String,
        params: Vec<Value>,
    ) -> Result<Vec<Vec<Option<String>>>, BoxError>;

    /// Runs a statement in a transaction of its own.
    async fn execute_committed(&self, sql: String) -> Result<u64, BoxError> {
        let mut tx = self.begin().await?;
        let changed = Self::execute(&mut tx, sql, Vec::new()).await?;
        self.commit(tx).await?;
        Ok(changed)
    }

    /// Runs a query in a read transaction of its own.
    async fn query_committed(
        &self,
        sql: String,
        params: Vec<Value>,
    ) -> Result<Vec<Vec<Option<String>>>, BoxError> {
        let mut tx = self.begin_read().await?;
        let rows = Self::query(&mut tx, sql, params).await?;
        self.rollback(tx).await?;
        Ok(rows)
    }
}

fn bind_all<'q, DB>(sql: String, params: Vec<Value>) -> sqlx::query::Query<'q, DB, DB::Arguments>
where
    DB: sqlx::Database,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for param in params {
        query = match param {
            Value::Null => query.bind(None::<String>),
            Value::Int(int) => query.bind(int),
            Value::Text(text) => query.bind(text),
        };
    }
    query
}

#[async_trait]
impl SqlDatabase for PgDatabase {
    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    async fn execute(tx: &mut PgTx, sql: String, params: Vec<Value>) -> Result<u64, BoxError> {
        Ok(bind_all(sql, params).execute(&mut **tx).await?.rows_affected())
    }

    async fn query(
        tx: &mut PgTx,
        sql: String,
        params: Vec<Value>,
    ) -> Result<Vec<Vec<Option<String>>>, BoxError> {
        text_rows(bind_all(sql, params).fetch_all(&mut **tx).await?)
    }
}

#[async_trait]
impl SqlDatabase for MysqlDatabase {
    fn placeholder(_: usize) -> String {
        "?".to_owned()
    }

    fn as_text(expr: &str) -> String {
        format!("CAST({expr} AS CHAR)")
    }

    fn on_conflict_add_one(_: &str, _: &str, column: &str) -> String {
        format!("ON DUPLICATE KEY UPDATE {column} = {column} + 1")
    }

    async fn execute(tx: &mut MysqlTx, sql: String, params: Vec<Value>) -> Result<u64, BoxError> {
        Ok(bind_all(sql, params).execute(&mut **tx).await?.rows_affected())
    }

    async fn query(
        tx: &mut MysqlTx,
        sql: String,
        params: Vec<Value>,
    ) -> Result<Vec<Vec<Option<String>>>, BoxError> {
        text_rows(bind_all(sql, params).fetch_all(&mut **tx).await?)
    }
}

fn text_rows<R>(rows: Vec<R>) -> Result<Vec<Vec<Option<String>>>, BoxError>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push((0..row.len()).map(|i| row.try_get(i)).collect::<Result<_, _>>()?);
    }
    Ok(out)
}

fn sqlite_values(params: Vec<Value>) -> Vec<rusqlite::types::Value> {
    params
        .into_iter()
        .map(|param| match param {
            Value::Null => rusqlite::types::Value::Null,
            Value::Int(int) => rusqlite::types::Value::Integer(int),
            Value::Text(text) => rusqlite::types::Value::Text(text),
        })
        .collect()
}

#[async_trait]
impl SqlDatabase for SqliteDatabase {
    fn placeholder(n: usize) -> String {
        format!("?{n}")
    }

    async fn execute(tx: &mut SqliteTx, sql: String, params: Vec<Value>) -> Result<u64, BoxError> {
        let changed = tx.execute(&sql, rusqlite::params_from_iter(sqlite_values(params))).await?;
        Ok(u64::try_from(changed)?)
    }

    async fn query(
        tx: &mut SqliteTx,
        sql: String,
        params: Vec<Value>,
    ) -> Result<Vec<Vec<Option<String>>>, BoxError> {
        let values = rusqlite::params_from_iter(sqlite_values(params));
        let rows = tx
            .query(&sql, values, |row| {
                (0..row.as_ref().column_count()).map(|i| row.get::<_, Option<String>>(i)).collect()
            })
            .await?;
        Ok(rows)
    }
}
