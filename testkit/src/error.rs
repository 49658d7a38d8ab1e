//! Why the harness could not provide a database, with what to do about it.

/// A harness failure. Its message says how to fix the environment.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HarnessError {
    /// Neither `DATABASE_URL` nor PostgreSQL server binaries are available.
    #[error(
        "no PostgreSQL available for the tests: set DATABASE_URL=postgres://user:password@host:port/db \
         (the user must be allowed to CREATE DATABASE), or install the PostgreSQL server binaries \
         so that `initdb` and `postgres` are on PATH or under /usr/lib/postgresql/<version>/bin \
         (Debian/Ubuntu: apt-get install postgresql)"
    )]
    NoPostgres,
    /// The tests run as root and there is no `postgres` user to run the server as.
    #[error(
        "the tests run as root, and PostgreSQL refuses to run as root; the harness runs it as the \
         `postgres` system user, which does not exist here: create it (useradd --system postgres) \
         or set DATABASE_URL"
    )]
    NoPostgresUser,
    /// Neither `MYSQL_URL` (or a `mysql://` `DATABASE_URL`) nor MariaDB server binaries are
    /// available.
    #[error(
        "no MariaDB available for the MySQL tests: set MYSQL_URL=mysql://user:password@host:port/db \
         (the user must be allowed to CREATE DATABASE and, for the default gap-safety strategy, \
         hold PROCESS), or install the MariaDB server binaries so that `mariadb-install-db`, \
         `mariadbd` and `my_print_defaults` are on PATH (Debian/Ubuntu: apt-get install \
         --no-install-recommends mariadb-server-core mariadb-client-core)"
    )]
    NoMariadb,
    /// The tests run as root and there is no `nobody` user for `mariadbd` to run as.
    #[error(
        "the tests run as root, and mariadbd runs as the unprivileged `nobody` user, which does \
         not exist here: create it or set MYSQL_URL"
    )]
    NoMariadbUser,
    /// `DATABASE_URL` is not a valid URL.
    #[error("the database URL is not valid: {0}")]
    BadUrl(String),
    /// A step of starting a throwaway server failed; `output` is what it printed.
    #[error("starting the throwaway database server failed at {step}:\n{output}")]
    Startup {
        /// The failing step.
        step: &'static str,
        /// Its output or log.
        output: String,
    },
    /// A file-system or process operation failed.
    #[error("could not {action}: {message}")]
    Io {
        /// What the harness was doing.
        action: &'static str,
        /// The OS error.
        message: String,
    },
    /// The server refused an administrative statement.
    #[error("the database server refused to {action}: {message}")]
    Sql {
        /// What the harness was doing.
        action: &'static str,
        /// The server's error.
        message: String,
    },
}

impl HarnessError {
    pub(crate) fn io(action: &'static str, err: std::io::Error) -> Self {
        Self::Io { action, message: err.to_string() }
    }

    pub(crate) fn sql(action: &'static str, err: sqlx::Error) -> Self {
        Self::Sql { action, message: err.to_string() }
    }
}
