//! Applying the schema of `pupsourcing-migrations` to a MySQL database.

use pupsourcing::{BackendError, BackendErrorKind};
use pupsourcing_migrations::{Backend, Dialect, Tables, statements};
use sqlx::{AssertSqlSafe, MySqlConnection};

use crate::error::Context;
use crate::{GapStrategy, MysqlDatabase};

/// Applies every statement (DDL commits implicitly on MySQL, so each is idempotent on its own),
/// under a named lock so that processes starting together do not race.
pub(crate) async fn apply(
    db: &MysqlDatabase,
    tables: &Tables,
    strategy: GapStrategy,
) -> Result<(), BackendError> {
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
    if result.is_ok() {
        result = seed_counter(&mut conn, tables).await;
    }
    sqlx::query("SELECT RELEASE_LOCK(SHA1(CONCAT(DATABASE(), '/', ?)))")
        .bind(&lock)
        .execute(&mut *conn)
        .await
        .during("migrate")?;
    result?;
    match strategy {
        GapStrategy::TransactionFence => check_process_privilege(db).await,
        GapStrategy::CounterRow => Ok(()),
    }
}

/// The counter starts above every stored position (a store may switch strategies).
async fn seed_counter(conn: &mut MySqlConnection, tables: &Tables) -> Result<(), BackendError> {
    let counter = tables.qualified_in(Dialect::Mysql, &tables.position_counter());
    let events = tables.qualified_in(Dialect::Mysql, tables.events());
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {counter} (id, last_position) \
         SELECT 1, coalesce(max(global_position), 0) FROM {events} \
         ON DUPLICATE KEY UPDATE last_position = GREATEST(last_position, VALUES(last_position))"
    )))
    .execute(&mut *conn)
    .await
    .during("migrate")?;
    Ok(())
}

/// The transaction-id fence reads `INNODB_TRX`, which needs `PROCESS`: say so now, at start-up,
/// rather than at the first frontier advance.
async fn check_process_privilege(db: &MysqlDatabase) -> Result<(), BackendError> {
    let probe = sqlx::query("SELECT COUNT(*) FROM information_schema.INNODB_TRX")
        .execute(db.pool())
        .await
        .during("migrate");
    match probe {
        Ok(_) => Ok(()),
        Err(failure) => {
            let err = BackendError::from(failure);
            if err.kind() == BackendErrorKind::Privilege {
                return Err(BackendError::new(
                    BackendErrorKind::Privilege,
                    "migrate",
                    "the transaction-id fence (GapStrategy::TransactionFence, the default) reads \
                     INFORMATION_SCHEMA.INNODB_TRX, which needs the PROCESS privilege: grant it \
                     (GRANT PROCESS ON *.* TO the store's user) or choose \
                     GapStrategy::CounterRow, which needs no privilege but serializes appends",
                ));
            }
            Err(err)
        }
    }
}
