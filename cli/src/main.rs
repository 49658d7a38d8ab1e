//! `pupsourcing`: the operator's command line. See `pupsourcing --help`, and the README's
//! "Operating it".

mod args;
mod commands;
mod connect;
mod error;
mod output;
mod progress;
mod reset;

use std::process::ExitCode;

use clap::Parser as _;

use pupsourcing::spi::{Coordinator, KeyStore};
use pupsourcing::{Backend, EventStore};

use crate::args::{Cli, Command, EventsCommand, Format, KeysCommand, StreamCommand};
use crate::commands::{consumers, dead_letters, events, keys, migrate, status, stream};
use crate::connect::{Location, on_backend, open, tables};
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
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err}");
            err.exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let global = &cli.global;
    let location = global.database.as_deref().map(Location::parse).transpose()?;
    let tables = tables(&global.tables)?;
    if let Command::Migrate(args) = &cli.command {
        return migrate::run(args, location.as_ref(), tables).await;
    }
    let location = location.ok_or_else(|| {
        CliError::new(Kind::Usage, "no database given")
            .hint("pass --database URL (or a SQLite file path), or set DATABASE_URL")
    })?;
    let connection = open(&location, tables, false).await?;
    let format = global.format;
    match &cli.command {
        Command::Status(args) => status::run(&connection, args, format).await,
        command => on_backend!(&connection, backend => dispatch(backend, command, format).await),
    }
}

/// Runs every command but `status` and `migrate`, which need to know the backend.
async fn dispatch<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    command: &Command,
    format: Format,
) -> Result<()>
where
    D: ResetSql,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
    K: KeyStore<D> + Clone,
{
    match command {
        Command::Pause(target) => consumers::pause(backend, target, true, format).await,
        Command::Resume(target) => consumers::pause(backend, target, false, format).await,
        Command::Skip(args) => consumers::skip(backend, args, format).await,
        Command::Rewind(args) => {
            let (to, follow) = (args.to, &args.follow);
            consumers::rewind(backend, &args.consumer, to, follow, format, "rewind", None).await
        }
        Command::Rebuild(args) => {
            let (reset, follow) = (args.reset_sql.as_deref(), &args.follow);
            consumers::rewind(backend, &args.consumer, 0, follow, format, "rebuild", reset).await
        }
        Command::DeadLetters => dead_letters::run(backend, format).await,
        Command::Events(EventsCommand::Tail(args)) => events::tail(backend, args, format).await,
        Command::Stream(StreamCommand::Show(args)) => stream::show(backend, args, format).await,
        Command::Keys(KeysCommand::Shred(args)) => keys::shred(backend, args, format).await,
        Command::Keys(KeysCommand::Rotate(args)) => keys::rotate(backend, args, format).await,
        Command::Keys(KeysCommand::Rewrap(args)) => keys::rewrap(backend, args, format).await,
        Command::Status(_) | Command::Migrate(_) => {
            Err(CliError::new(Kind::Failed, "status and migrate are not dispatched by backend"))
        }
    }
}
