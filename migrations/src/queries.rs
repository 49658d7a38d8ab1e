//! The SQL every backend shares, written once with sea-query and rendered for each dialect, one
//! file per capability (the same names as the adapters' files).
//!
//! A shared statement is rendered once, when an adapter builds its statements, into a
//! [`Statement`]: the text with the dialect's placeholders, and which argument each placeholder
//! takes. Statements take their arguments by index ([`arg`]), so one argument may appear twice
//! (MySQL has no numbered placeholders) and the adapter binds [`Statement::values`] in
//! placeholder order. What means something backend-specific (appends, the frontier, fencing,
//! conditional upserts, `RETURNING`, row locks) stays hand-written in the adapters.

mod assignments;
mod batches;
mod events;
mod leadership;
mod membership;
mod operations;
mod snapshots;

use std::fmt;

use sea_query::{
    Alias, Expr, ExprTrait, MysqlQueryBuilder, PostgresQueryBuilder, QueryStatementWriter,
    SqliteQueryBuilder, Value, Values,
};

pub use assignments::AssignmentStatements;
pub use batches::BatchStatements;
pub use events::{EVENT_COLUMNS, EventStatements, EventsUntil, event_column_list, events_until};
pub use leadership::LeadershipStatements;
pub use membership::MembershipStatements;
pub use operations::OperationStatements;
pub use snapshots::SnapshotStatements;

/// The SQL dialect a shared statement is rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// PostgreSQL: `$n` placeholders, `timestamptz` clock columns.
    Postgres,
    /// SQLite: `?` placeholders, clock columns in integer microseconds since the Unix epoch.
    Sqlite,
    /// MySQL and MariaDB: `?` placeholders, `DATETIME(6)` clock columns in UTC.
    Mysql,
}

impl Dialect {
    /// Every dialect, for tests that render every statement.
    pub const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::Sqlite, Dialect::Mysql];

    fn build(self, statement: &impl QueryStatementWriter) -> (String, Values) {
        match self {
            Self::Postgres => statement.build_any(&PostgresQueryBuilder),
            Self::Sqlite => statement.build_any(&SqliteQueryBuilder),
            Self::Mysql => statement.build_any(&MysqlQueryBuilder),
        }
    }

    /// The database clock's current time, in the type of the dialect's clock columns.
    pub(crate) fn now(self) -> Expr {
        Expr::cust(self.clock())
    }

    fn clock(self) -> &'static str {
        match self {
            Self::Postgres => "now()",
            Self::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
            Self::Mysql => "UTC_TIMESTAMP(6)",
        }
    }

    /// Whole microseconds from clock column `column` to the database clock's current time.
    pub(crate) fn micros_since(self, column: &str) -> Expr {
        Expr::cust(match self {
            Self::Postgres => {
                format!("CAST(extract(epoch FROM now() - {column}) * 1000000 AS bigint)")
            }
            Self::Sqlite => format!("{} - {column}", self.clock()),
            Self::Mysql => format!("TIMESTAMPDIFF(MICROSECOND, {column}, UTC_TIMESTAMP(6))"),
        })
    }

    /// `column`'s value when clock column `until` is still in the future, else NULL.
    pub(crate) fn while_before(self, column: &str, until: &str) -> Expr {
        Expr::cust(format!("CASE WHEN {until} > {} THEN {column} END", self.clock()))
    }

    /// The database clock's time `duration` ago, the duration being argument `index` as
    /// [`duration_value`](Dialect::duration_value) makes it.
    pub(crate) fn ago(self, index: u8) -> Expr {
        let template = match self {
            Self::Postgres => "now() - make_interval(secs => ?)",
            Self::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER) - ?",
            Self::Mysql => "UTC_TIMESTAMP(6) - INTERVAL ? MICROSECOND",
        };
        self.custom(template, [index])
    }

    /// A point in time given as argument `index` in whole microseconds since the Unix epoch, as
    /// a value of the dialect's clock columns (exact to the microsecond).
    pub(crate) fn micros(self, index: u8) -> Expr {
        let template = match self {
            Self::Postgres => "TIMESTAMPTZ 'epoch' + ? * INTERVAL '1 microsecond'",
            Self::Sqlite => "?",
            Self::Mysql => "TIMESTAMPADD(MICROSECOND, ?, '1970-01-01 00:00:00')",
        };
        self.custom(template, [index])
    }

    /// A custom expression over arguments `indexes`, written with `?` for each (sea-query wants
    /// `$1`, `$2`, ... in PostgreSQL's custom expressions, and drops values it finds no
    /// placeholder for).
    pub(crate) fn custom<const N: usize>(self, template: &str, indexes: [u8; N]) -> Expr {
        let text = match self {
            Self::Postgres => {
                let mut numbered = String::with_capacity(template.len() + 2 * N);
                for (i, part) in template.split('?').enumerate() {
                    if i > 0 {
                        numbered.push_str(&format!("${i}"));
                    }
                    numbered.push_str(part);
                }
                numbered
            }
            Self::Sqlite | Self::Mysql => template.to_owned(),
        };
        Expr::cust_with_values(text, indexes.map(marker))
    }

    /// A duration as the argument of a "now minus a duration" comparison (nodes alive within a
    /// timeout): seconds as a double on PostgreSQL, whole microseconds elsewhere (saturating at
    /// about 292 000 years).
    pub fn duration_value(self, duration: std::time::Duration) -> Value {
        match self {
            Self::Postgres => Value::Double(Some(duration.as_secs_f64())),
            Self::Sqlite | Self::Mysql => {
                Value::BigInt(Some(i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)))
            }
        }
    }

    /// The total length in bytes of a binary column over the selected rows, as a 64-bit
    /// integer (0 for none; MySQL's `SUM` is a `DECIMAL` until cast).
    pub(crate) fn total_bytes(self, column: &str) -> String {
        match self {
            Self::Postgres => format!("coalesce(sum(octet_length({column})), 0)"),
            Self::Sqlite => format!("coalesce(sum(length({column})), 0)"),
            Self::Mysql => format!("CAST(coalesce(sum(length({column})), 0) AS SIGNED)"),
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
            Self::Mysql => "mysql",
        })
    }
}

/// The placeholder of argument `index`: a value that is never bound, only read back to learn
/// which argument each rendered placeholder takes.
fn marker(index: u8) -> Value {
    Value::TinyUnsigned(Some(index))
}

/// Argument `index` of a statement.
pub(crate) fn arg(index: u8) -> Expr {
    Expr::val(marker(index))
}

/// `consumer`, `partitions` and `partition` equal to arguments `consumer`, `partitions` and
/// `partition`.
pub(crate) fn unit(consumer: u8, partitions: u8, partition: u8) -> Expr {
    use crate::WorkerColumn as C;
    Expr::col(C::Consumer)
        .eq(arg(consumer))
        .and(Expr::col(C::Partitions).eq(arg(partitions)))
        .and(Expr::col(C::Partition).eq(arg(partition)))
}

/// Rows of aliases `x` and `y` are of the same unit.
pub(crate) fn same_unit(x: &str, y: &str) -> Expr {
    use crate::WorkerColumn as C;
    let pair = |column: C| Expr::col((Alias::new(x), column)).equals((Alias::new(y), column));
    pair(C::Consumer).and(pair(C::Partitions)).and(pair(C::Partition))
}

/// A shared statement rendered for one dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    sql: String,
    order: Vec<u8>,
}

impl Statement {
    pub(crate) fn render(dialect: Dialect, statement: &impl QueryStatementWriter) -> Self {
        let (sql, values) = dialect.build(statement);
        let order = values
            .0
            .iter()
            .filter_map(|value| match value {
                Value::TinyUnsigned(Some(index)) => Some(*index),
                _ => None,
            })
            .collect();
        Self { sql, order }
    }

    /// Appends `LIMIT` with argument `index` (sea-query renders a limit only as a value of its
    /// own).
    pub(crate) fn with_limit(mut self, dialect: Dialect, index: u8) -> Self {
        self.order.push(index);
        match dialect {
            Dialect::Postgres => self.sql.push_str(&format!(" LIMIT ${}", self.order.len())),
            Dialect::Sqlite | Dialect::Mysql => self.sql.push_str(" LIMIT ?"),
        }
        self
    }

    /// Appends fixed text (a literal clause sea-query would turn into a bound value).
    pub(crate) fn with_literal(mut self, clause: &str) -> Self {
        self.sql.push_str(clause);
        self
    }

    /// The statement text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// How many arguments it takes (the highest index plus one).
    pub fn arity(&self) -> usize {
        self.order.iter().max().map_or(0, |max| usize::from(*max) + 1)
    }

    /// The values to bind for `args`, in placeholder order. Adapters pass exactly
    /// [`arity`](Statement::arity) arguments (the golden tests pin every statement's); a missing
    /// one binds as NULL.
    pub fn values(&self, args: &[Value]) -> Values {
        debug_assert_eq!(args.len(), self.arity(), "wrong argument count for {}", self.sql);
        Values(
            self.order
                .iter()
                .map(|&index| args.get(usize::from(index)).cloned().unwrap_or(Value::Int(None)))
                .collect(),
        )
    }
}

#[cfg(test)]
mod golden;
