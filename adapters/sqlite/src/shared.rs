//! The statements every SQL backend shares, rendered once by `pupsourcing-migrations` for
//! SQLite and bound here in placeholder order.

use pupsourcing_migrations::Statement;
use rusqlite::{CachedStatement, Connection, OptionalExtension, Row};
use sea_query::Value;
use sea_query_rusqlite::{RusqliteValue, RusqliteValues};

use crate::error::{Context, Failure};

/// A shared statement: its text (cached per connection by rusqlite) and argument order.
#[derive(Debug, Clone)]
pub(crate) struct Shared(Statement);

impl From<Statement> for Shared {
    fn from(statement: Statement) -> Self {
        Self(statement)
    }
}

impl Shared {
    /// The values to bind for `args` (by index), in placeholder order.
    pub(crate) fn values(&self, args: &[Value]) -> RusqliteValues {
        RusqliteValues(self.0.values(args).0.into_iter().map(RusqliteValue).collect())
    }

    /// The prepared statement, from the connection's cache.
    pub(crate) fn prepare<'c>(
        &self,
        conn: &'c Connection,
    ) -> rusqlite::Result<CachedStatement<'c>> {
        conn.prepare_cached(self.0.sql())
    }

    /// The single row the statement returns for `args`, if any, mapped by `f`.
    pub(crate) fn optional_row<T, F>(
        &self,
        conn: &Connection,
        args: &[Value],
        f: F,
    ) -> rusqlite::Result<Option<T>>
    where
        F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare(conn)?.query_row(&*self.values(args).as_params(), f).optional()
    }

    /// Runs the statement with `args` (by index); returns the rows changed.
    pub(crate) fn execute(&self, conn: &Connection, args: &[Value]) -> rusqlite::Result<usize> {
        self.prepare(conn)?.execute(&*self.values(args).as_params())
    }

    /// Every row the statement returns for `args`, mapped by `f`; database errors are
    /// reported as failures of `operation`.
    pub(crate) fn rows<T, E, F>(
        &self,
        conn: &Connection,
        operation: &'static str,
        args: &[Value],
        mut f: F,
    ) -> Result<Vec<T>, E>
    where
        E: From<Failure>,
        F: FnMut(&Row<'_>) -> Result<T, E>,
    {
        let mut select = self.prepare(conn).during(operation)?;
        let values = self.values(args);
        let mut rows = select.query(&*values.as_params()).during(operation)?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().during(operation)? {
            found.push(f(row)?);
        }
        Ok(found)
    }
}
