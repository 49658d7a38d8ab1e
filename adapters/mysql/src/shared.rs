//! The statements every SQL backend shares, rendered once by `pupsourcing-migrations` for MySQL
//! and bound here in placeholder order.

use std::sync::Arc;

use pupsourcing_migrations::Statement;
use sea_query::Value;
use sea_query_sqlx::SqlxValues;
use sqlx::mysql::{MySql, MySqlRow};
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{AssertSqlSafe, FromRow, SqlSafeStr, SqlStr};

/// A shared statement ready for sqlx: its text (prepared once per connection) and argument
/// order.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    sql: SqlStr,
    statement: Statement,
}

impl From<Statement> for Shared {
    fn from(statement: Statement) -> Self {
        let sql = AssertSqlSafe(Arc::<str>::from(statement.sql())).into_sql_str();
        Self { sql, statement }
    }
}

impl Shared {
    fn arguments(&self, args: &[Value]) -> SqlxValues {
        SqlxValues(self.statement.values(args))
    }

    /// The statement with `args` (by index) bound.
    pub(crate) fn query(&self, args: &[Value]) -> Query<'static, MySql, SqlxValues> {
        sqlx::query_with(self.sql.clone(), self.arguments(args))
    }

    /// The statement as a one-column query.
    pub(crate) fn scalar<O>(&self, args: &[Value]) -> QueryScalar<'static, MySql, O, SqlxValues>
    where
        (O,): for<'r> FromRow<'r, MySqlRow>,
    {
        sqlx::query_scalar_with(self.sql.clone(), self.arguments(args))
    }

    /// The statement as a query of rows decoded into `O`.
    pub(crate) fn query_as<O>(&self, args: &[Value]) -> QueryAs<'static, MySql, O, SqlxValues>
    where
        O: for<'r> FromRow<'r, MySqlRow>,
    {
        sqlx::query_as_with(self.sql.clone(), self.arguments(args))
    }
}
