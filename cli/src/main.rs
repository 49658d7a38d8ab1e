//! `pupsourcing`: the operator's command line. See `pupsourcing --help`, and the README's
//! "Operating it".

mod args;
mod commands;
mod connect;
mod error;
mod output;
mod progress;
mod reset;
mod stop;

use std::process::ExitCode;

use clap::Parser as _;

use pupsourcing::spi::{Coordinator, KeyStore};
use pupsourcing::{Backend, EventStore};

use crate::args::{Cli, Command, EventsCommand, Format, KeysCommand, Steer, StreamCommand};
use crate::commands::{consumers, dead_letters, events, keys, migrate, status, stream};
use pupsourcing_migrations::Tables;

use crate::connect::{Connection, Location, on_backend, open, tables};
use crate::error::{CliError, Kind, Result};
use crate::reset::ResetSql;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(err) => {
                eprintln!("error: cannot start the runtime: {err}");
                return ExitCode::FAILURE;
            }
        };
    let outcome = runtime.block_on(run(cli)).and_then(|()| match output::write_error() {
        Some(err) => Err(CliError::new(Kind::Failed, format!("cannot write the output: {err}"))),
        None => Ok(()),
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err}");
            err.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let global = &cli.global;
    let format = global.format;
    let location = || global.database.as_deref().map(Location::parse).transpose();
    let tables = tables(&global.tables)?;
    match &cli.command {
        Command::Migrate(args) => {
            // The schema of a named backend needs no database, whatever DATABASE_URL says.
            let location = if args.apply || args.backend.is_none() { location()? } else { None };
            migrate::run(args, location.as_ref(), tables, format).await
        }
        Command::Status(args) => {
            let connection = connect(location()?, tables).await?;
            status::run(&connection, args, format).await
        }
        Command::Steer(command) => {
            let connection = connect(location()?, tables).await?;
            on_backend!(&connection, backend => steer(backend, command, format).await)
        }
    }
}

async fn connect(location: Option<Location>, tables: Tables) -> Result<Connection> {
    let location = location.ok_or_else(|| {
        CliError::new(Kind::Usage, "no database given")
            .hint("pass --database URL (or a SQLite file path), or set DATABASE_URL")
    })?;
    open(&location, tables, false).await
}

/// Runs a command that works alike on every backend.
async fn steer<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    command: &Steer,
    format: Format,
) -> Result<()>
where
    D: ResetSql,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
    K: KeyStore<D> + Clone,
{
    match command {
        Steer::Pause(target) => consumers::pause(backend, target, true, format).await,
        Steer::Resume(target) => consumers::pause(backend, target, false, format).await,
        Steer::Skip(args) => consumers::skip(backend, args, format).await,
        Steer::Rewind(args) => consumers::rewind(backend, args, format).await,
        Steer::Rebuild(args) => consumers::rebuild(backend, args, format).await,
        Steer::DeadLetters => dead_letters::run(backend, format).await,
        Steer::Events(EventsCommand::Tail(args)) => events::tail(backend, args, format).await,
        Steer::Stream(StreamCommand::Show(args)) => stream::show(backend, args, format).await,
        Steer::Keys(KeysCommand::Shred(args)) => keys::shred(backend, args, format).await,
        Steer::Keys(KeysCommand::Rotate(args)) => keys::rotate(backend, args, format).await,
        Steer::Keys(KeysCommand::Rewrap(args)) => keys::rewrap(backend, args, format).await,
    }
}
