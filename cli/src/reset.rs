//! The operator's own SQL, run inside a pupsourcing transaction: how `rebuild --reset-sql`
//! clears a read model in the transaction that moves its checkpoints back.

use pupsourcing::{BackendError, BackendErrorKind, Database};
use pupsourcing_mysql::MysqlDatabase;
use pupsourcing_postgres::PgDatabase;
use pupsourcing_postgres::sqlx::{self, AssertSqlSafe};
use pupsourcing_sqlite::SqliteDatabase;

/// A database that can run statements given as text inside one of its transactions.
pub(crate) trait ResetSql: Database {
    /// Runs `sql` (one or more statements) in `tx`.
    async fn run_sql(tx: &mut Self::Tx, sql: &str) -> Result<(), BackendError>;
}

fn failed(err: sqlx::Error) -> BackendError {
    BackendError::new(BackendErrorKind::Other, "reset_sql", err)
}

impl ResetSql for SqliteDatabase {
    async fn run_sql(tx: &mut Self::Tx, sql: &str) -> Result<(), BackendError> {
        let sql = sql.to_owned();
        tx.call(move |conn| conn.execute_batch(&sql)).await
    }
}

impl ResetSql for PgDatabase {
    async fn run_sql(tx: &mut Self::Tx, sql: &str) -> Result<(), BackendError> {
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut **tx).await.map_err(failed)?;
        Ok(())
    }
}

impl ResetSql for MysqlDatabase {
    async fn run_sql(tx: &mut Self::Tx, sql: &str) -> Result<(), BackendError> {
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned())).execute(&mut **tx).await.map_err(failed)?;
        Ok(())
    }
}
