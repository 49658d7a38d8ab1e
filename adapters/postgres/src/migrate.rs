//! Applying the schema of `pupsourcing-migrations` to a PostgreSQL database.

use pupsourcing::BackendError;
use pupsourcing_migrations::{Backend, Tables, statements};
use sqlx::AssertSqlSafe;

use crate::PgDatabase;
use crate::error::Context;

/// Applies every statement in one transaction, under a transaction-scoped advisory lock so that
/// processes starting together do not race on `CREATE ... IF NOT EXISTS`.
pub(crate) async fn apply(db: &PgDatabase, tables: &Tables) -> Result<(), BackendError> {
    let statements = statements(Backend::Postgres, tables)
        .map_err(|err| BackendError::new(pupsourcing::BackendErrorKind::Schema, "migrate", err))?;
    let mut tx = db.pool().begin().await.during("migrate")?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(tables.lock_key("migrate"))
        .execute(&mut *tx)
        .await
        .during("migrate")?;
    for statement in statements {
        sqlx::raw_sql(AssertSqlSafe(statement)).execute(&mut *tx).await.during("migrate")?;
    }
    tx.commit().await.during("migrate")?;
    tracing::debug!(events = %tables.qualified(tables.events()), "schema applied");
    Ok(())
}
