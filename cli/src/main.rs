//! `pupsourcing`: the operator's command line. See `pupsourcing --help`, and the README's
//! "Operating it".

mod args;
mod commands;
mod connect;
mod error;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser as _;

use crate::args::{Cli, Command, EventsCommand, KeysCommand, StreamCommand};
use crate::commands::{consumers, dead_letters, events, keys, migrate, status, stream};
use crate::connect::{Location, on_backend, open, tables};
use crate::error::{CliError, Kind, Result};

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
        command => on_backend!(&connection, backend => match command {
            Command::Pause(target) => consumers::pause(backend, target, true, format).await,
            Command::Resume(target) => consumers::pause(backend, target, false, format).await,
            Command::Skip(args) => consumers::skip(backend, args, format).await,
            Command::Rewind(args) => {
                consumers::rewind(backend, &args.consumer, args.to, &args.follow, format, "rewind")
                    .await
            }
            Command::Rebuild(args) => {
                consumers::rewind(backend, &args.consumer, 0, &args.follow, format, "rebuild")
                    .await
            }
            Command::DeadLetters => dead_letters::run(backend, format).await,
            Command::Events(EventsCommand::Tail(args)) => events::tail(backend, args, format).await,
            Command::Stream(StreamCommand::Show(args)) => stream::show(backend, args, format).await,
            Command::Keys(KeysCommand::Shred(args)) => keys::shred(backend, args, format).await,
            Command::Keys(KeysCommand::Rotate(args)) => keys::rotate(backend, args, format).await,
            Command::Keys(KeysCommand::Rewrap(args)) => keys::rewrap(backend, args, format).await,
            Command::Status(_) | Command::Migrate(_) => Ok(()),
        }),
    }
}
