//! Applying the schema of `pupsourcing-migrations` to a MySQL database.

use pupsourcing::{BackendError, BackendErrorKind};
use pupsourcing_migrations::{Backend, Tables, statements};
use sqlx::AssertSqlSafe;

use crate::MysqlDatabase;
use crate::error::Context;

/// Applies every statement (DDL commits implicitly on MySQL, so each is idempotent on its own),
/// under a named lock so that processes starting together do not race.
pub(crate) async fn apply(db: &MysqlDatabase, tables: &Tables) -> Result<(), BackendError> {
    let statements = statements(Backend::Mysql, tables)
        .map_err(|err| BackendError::new(BackendErrorKind::Schema, "migrate", err))?;
    let mut conn = db.pool().acquire().await.during("migrate")?;
    let lock = format!("pupsourcing_migrate_{:016x}", tables.lock_key("migrate"));
    sqlx::query("SELECT GET_LOCK(SHA1(CONCAT(DATABASE(), '/', ?)), 60)")
        .bind(&lock)
        .execute(&mut *conn)
        .await
        .during("migrate")?;
    let mut result = Ok(());
    for statement in statements {
        if let Err(err) = sqlx::raw_sql(AssertSqlSafe(statement)).execute(&mut *conn).await {
            result = Err(crate::error::failure("migrate", err).into());
            break;
        }
    }
    sqlx::query("SELECT RELEASE_LOCK(SHA1(CONCAT(DATABASE(), '/', ?)))")
        .bind(&lock)
        .execute(&mut *conn)
        .await
        .during("migrate")?;
    result
}
