//! Applying the schema of `pupsourcing-migrations` to an SQLite database.

use pupsourcing::{BackendError, BackendErrorKind, Database};
use pupsourcing_migrations::{Backend, Tables, statements};

use crate::SqliteDatabase;
use crate::error::Context;

/// Applies every statement in one `BEGIN IMMEDIATE` transaction: processes starting together
/// queue on the write lock, and the `IF NOT EXISTS` clauses make the later ones no-ops.
pub(crate) async fn apply(db: &SqliteDatabase, tables: &Tables) -> Result<(), BackendError> {
    let statements = statements(Backend::Sqlite, tables)
        .map_err(|err| BackendError::new(BackendErrorKind::Schema, "migrate", err))?;
    let mut tx = db.begin().await?;
    tx.run("migrate", move |conn| {
        for statement in &statements {
            conn.execute_batch(statement).during("migrate")?;
        }
        Ok::<_, BackendError>(())
    })
    .await?;
    db.commit(tx).await
}
