//! From a URL and table options to a backend.

use std::path::PathBuf;
use std::time::Duration;

use pupsourcing_migrations::{Backend as Dialect, Tables};
use pupsourcing_mysql::sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use pupsourcing_mysql::{MysqlBackend, MysqlDatabase, MysqlStoreConfig};
use pupsourcing_postgres::sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use pupsourcing_postgres::{PostgresBackend, PostgresStoreConfig};
use pupsourcing_sqlite::{SqliteBackend, SqliteOptions, SqliteStoreConfig};

use crate::args::TableArgs;
use crate::error::{CliError, Kind, Result};

/// How long connecting may take before the database counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// An open database of one of the backends.
pub(crate) enum Connection {
    Sqlite(SqliteBackend),
    Postgres(PostgresBackend),
    Mysql(MysqlBackend),
}

/// Runs `$body` with `$backend` bound to the connection's backend, whichever it is.
macro_rules! on_backend {
    ($connection:expr, $backend:ident => $body:expr) => {
        match $connection {
            $crate::connect::Connection::Sqlite($backend) => $body,
            $crate::connect::Connection::Postgres($backend) => $body,
            $crate::connect::Connection::Mysql($backend) => $body,
        }
    };
}
pub(crate) use on_backend;

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    Sqlite(PathBuf),
    Postgres(String),
    Mysql(String),
}

impl Location {
    pub(crate) fn parse(url: &str) -> Result<Self> {
        let scheme = url.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => Ok(Self::Postgres(url.to_owned())),
            Some("mysql") => Ok(Self::Mysql(url.to_owned())),
            Some("mariadb") => Ok(Self::Mysql(url.replacen("mariadb", "mysql", 1))),
            Some("sqlite") => Ok(Self::Sqlite(sqlite_path(&url["sqlite://".len()..])?)),
            Some(other) => Err(CliError::new(
                Kind::Usage,
                format!("unsupported database URL scheme {other:?}"),
            )
            .hint("use postgres://…, mysql://…, mariadb://…, sqlite://PATH or a file path")),
            None => Ok(Self::Sqlite(sqlite_path(url.strip_prefix("sqlite:").unwrap_or(url))?)),
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Self::Sqlite(_) => Dialect::Sqlite,
            Self::Postgres(_) => Dialect::Postgres,
            Self::Mysql(_) => Dialect::Mysql,
        }
    }
}

fn sqlite_path(path: &str) -> Result<PathBuf> {
    if path.is_empty() {
        return Err(CliError::new(Kind::Usage, "the SQLite URL names no file"));
    }
    Ok(PathBuf::from(path))
}

/// Sets one table's name.
type SetName = fn(Tables, &str) -> Result<Tables, pupsourcing_migrations::NameError>;

/// The table names the options ask for.
pub(crate) fn tables(args: &TableArgs) -> Result<Tables> {
    let usage =
        |err: pupsourcing_migrations::NameError| CliError::new(Kind::Usage, err.to_string());
    let mut tables = Tables::new();
    if let Some(prefix) = &args.prefix {
        tables = tables.with_prefix(prefix).map_err(usage)?;
    }
    let names: [(&Option<String>, SetName); 6] = [
        (&args.events_table, Tables::with_events),
        (&args.stream_heads_table, Tables::with_stream_heads),
        (&args.frontier_table, Tables::with_frontier),
        (&args.holes_table, Tables::with_holes),
        (&args.data_keys_table, Tables::with_data_keys),
        (&args.key_tombstones_table, Tables::with_key_tombstones),
    ];
    for (name, set) in names {
        if let Some(name) = name {
            tables = set(tables, name).map_err(usage)?;
        }
    }
    if let Some(schema) = &args.schema {
        tables = tables.with_schema(schema).map_err(usage)?;
    }
    Ok(tables)
}

/// Connects once, so that an unreachable server is reported with the driver's reason rather
/// than as a pool timeout.
async fn probe<C: pupsourcing_postgres::sqlx::Connection>(options: &C::Options) -> Result<()> {
    let unreachable = |reason: String| {
        CliError::new(Kind::Unreachable, format!("cannot connect: {reason}"))
            .hint("is the database running, and the URL right?")
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, C::connect_with(options)).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(err)) => Err(match err.as_database_error().and_then(|db| db.code()) {
            // The server answered: it is reachable, but refuses or lacks what the URL names.
            Some(code) if code.starts_with("28") => {
                CliError::new(Kind::Refused, format!("the server refused the login: {err}"))
                    .hint("check the user and password in the URL")
            }
            Some(code) if code == "3D000" => {
                CliError::new(Kind::NotFound, format!("no such database: {err}"))
                    .hint("check the database name in the URL")
            }
            Some(_) => CliError::new(Kind::Failed, format!("cannot connect: {err}")),
            None => unreachable(err.to_string()),
        }),
        Err(_) => Err(unreachable(format!("no answer within {CONNECT_TIMEOUT:?}"))),
    }
}

/// Opens the database at `location`. A SQLite file must exist unless `create` is set, so that a
/// mistyped path is an error rather than a new empty database.
pub(crate) async fn open(location: &Location, tables: Tables, create: bool) -> Result<Connection> {
    let bad_url = |err: pupsourcing_postgres::sqlx::Error| {
        CliError::new(Kind::Usage, format!("bad database URL: {err}"))
    };
    match location {
        Location::Sqlite(path) => {
            if !create && !path.exists() {
                return Err(CliError::new(
                    Kind::NotFound,
                    format!("no SQLite database at {}", path.display()),
                )
                .hint("check the path, or create it with `pupsourcing migrate --apply`"));
            }
            let config = SqliteStoreConfig::default()
                .with_tables(tables)
                .map_err(|err| CliError::new(Kind::Usage, err.to_string()))?;
            let backend = pupsourcing_sqlite::open_with(SqliteOptions::new(path), config).await?;
            Ok(Connection::Sqlite(backend))
        }
        Location::Postgres(url) => {
            let options: PgConnectOptions = url.parse().map_err(bad_url)?;
            let options = options.application_name("pupsourcing-cli");
            probe::<PgConnection>(&options).await?;
            let pool = PgPoolOptions::new()
                .max_connections(4)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_lazy_with(options);
            let config = PostgresStoreConfig::default().with_tables(tables).without_notify();
            Ok(Connection::Postgres(pupsourcing_postgres::from_pool(pool, config)))
        }
        Location::Mysql(url) => {
            let options: MySqlConnectOptions = url.parse().map_err(bad_url)?;
            probe::<MySqlConnection>(&options).await?;
            let pool = MysqlDatabase::pool_options()
                .max_connections(4)
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect_lazy_with(options);
            let config = MysqlStoreConfig::default().with_tables(tables);
            Ok(Connection::Mysql(pupsourcing_mysql::from_pool(pool, config)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend() {
        assert_eq!(Location::parse("app.db").unwrap(), Location::Sqlite("app.db".into()));
        assert_eq!(
            Location::parse("sqlite:///tmp/a.db").unwrap(),
            Location::Sqlite("/tmp/a.db".into())
        );
        assert_eq!(Location::parse("sqlite:a.db").unwrap(), Location::Sqlite("a.db".into()));
        assert!(matches!(Location::parse("postgresql://h/db").unwrap(), Location::Postgres(_)));
        assert_eq!(
            Location::parse("mariadb://u@h/db").unwrap(),
            Location::Mysql("mysql://u@h/db".to_owned())
        );
        assert!(Location::parse("redis://h").is_err());
        assert!(Location::parse("sqlite://").is_err());
    }

    #[test]
    fn table_options_become_names() {
        let args = TableArgs {
            prefix: Some("app_".to_owned()),
            events_table: Some("log".to_owned()),
            ..TableArgs::default()
        };
        let tables = tables(&args).unwrap();
        assert_eq!(tables.events().as_str(), "log");
        assert_eq!(tables.stream_heads().as_str(), "app_stream_heads");
        let bad = TableArgs { events_table: Some("a b".to_owned()), ..TableArgs::default() };
        assert!(super::tables(&bad).is_err());
    }
}
