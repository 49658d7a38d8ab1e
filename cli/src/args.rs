//! The command line, as clap derives it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit codes:
  0  done
  1  failed (the message says why)
  2  bad command line: option, value or URL
  3  not found: consumer, stream, event, key or table
  4  refused: not confirmed, or not allowed in the current state
  5  the database cannot be reached";

const EXAMPLES: &str = "\
Examples:
  pupsourcing -d app.sqlite3 status
  pupsourcing -d postgres://ops@db/app status --watch
  pupsourcing -d postgres://ops@db/app dead-letters
  pupsourcing -d postgres://ops@db/app skip billing
  pupsourcing -d postgres://ops@db/app rebuild search
  pupsourcing -d app.sqlite3 events tail --aggregate-type account
  pupsourcing migrate --backend postgres --output migrations/";

/// Sees and steers a pupsourcing deployment: consumers, the frontier, the log and keys.
#[derive(Debug, Parser)]
#[command(name = "pupsourcing", version, after_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"))]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct Global {
    /// The database: postgres://…, mysql:// or mariadb://…, sqlite://PATH, or a SQLite file path
    #[arg(short = 'd', long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub(crate) database: Option<String>,
    /// Output for people (tables) or for scripts (JSON; one document per line where several
    /// follow each other: events tail, status --watch)
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    pub(crate) format: Format,
    #[command(flatten)]
    pub(crate) tables: TableArgs,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Tables and sentences.
    Text,
    /// JSON.
    Json,
}

/// The table names, as the application configured them.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Table names")]
pub(crate) struct TableArgs {
    /// PostgreSQL schema (MySQL database) of every table
    #[arg(long, global = true)]
    pub(crate) schema: Option<String>,
    /// Prefix of every table name
    #[arg(long, global = true)]
    pub(crate) prefix: Option<String>,
    /// Name of the events table [default: events]
    #[arg(long, global = true)]
    pub(crate) events_table: Option<String>,
    /// Name of the stream heads table [default: stream_heads]
    #[arg(long, global = true)]
    pub(crate) stream_heads_table: Option<String>,
    /// Name of the frontier table [default: event_frontier]
    #[arg(long, global = true)]
    pub(crate) frontier_table: Option<String>,
    /// Name of the holes table [default: event_holes]
    #[arg(long, global = true)]
    pub(crate) holes_table: Option<String>,
    /// Name of the encryption data-keys table [default: data_keys]
    #[arg(long, global = true)]
    pub(crate) data_keys_table: Option<String>,
    /// Name of the key tombstones table [default: key_tombstones]
    #[arg(long, global = true)]
    pub(crate) key_tombstones_table: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// The frontier, the nodes and every consumer unit
    #[command(after_help = "Examples:\n  pupsourcing -d app.sqlite3 status\n  \
                            pupsourcing -d postgres://db/app status --watch --interval 5\n  \
                            pupsourcing -d postgres://db/app status --format json")]
    Status(StatusArgs),
    #[command(flatten)]
    Steer(Steer),
    /// Writes the schema as SQL, or creates it in the database
    #[command(
        after_help = "Examples:\n  pupsourcing migrate --backend postgres --output migrations/\n  \
                            pupsourcing migrate --backend sqlite --prefix app_ --output schema.sql\n  \
                            pupsourcing -d postgres://db/app migrate --apply"
    )]
    Migrate(MigrateArgs),
}

/// The commands that work alike on every backend.
#[derive(Debug, Subcommand)]
pub(crate) enum Steer {
    /// Pauses a consumer (all its partitions, or one)
    #[command(after_help = "Example:\n  pupsourcing -d app.sqlite3 pause billing --partition 2")]
    Pause(Target),
    /// Resumes a paused consumer and clears its failure counts
    #[command(after_help = "Example:\n  pupsourcing -d app.sqlite3 resume billing")]
    Resume(Target),
    /// Skips the event a paused consumer is stuck on, after showing it
    #[command(after_help = "Examples:\n  pupsourcing -d app.sqlite3 skip billing\n  \
                            pupsourcing -d app.sqlite3 skip billing --partition 1 --yes")]
    Skip(SkipArgs),
    /// Moves a consumer's checkpoints to a position and follows it to the end of the log
    #[command(after_help = "Examples:\n  pupsourcing -d app.sqlite3 rewind search --to 0\n  \
                            pupsourcing -d app.sqlite3 rewind search --to 1200 --detach")]
    Rewind(RewindArgs),
    /// Replays a consumer from the start of the log and follows it to today's end
    #[command(after_help = "The command line cannot run the consumer's own `reset` hook (it is \
                            application code): without --reset-sql it replays every event into \
                            the read model as it stands.\n\nExamples:\n  \
                            pupsourcing -d app.sqlite3 rebuild search\n  \
                            pupsourcing -d app.sqlite3 rebuild by-type --reset-sql \
                            \"DELETE FROM tally_by_type\"")]
    Rebuild(RebuildArgs),
    /// Paused consumers with the event each is stuck on, and what to do about it
    #[command(
        name = "dead-letters",
        after_help = "Example:\n  pupsourcing -d app.sqlite3 dead-letters"
    )]
    DeadLetters,
    /// The global log
    #[command(subcommand, after_help = "Example:\n  pupsourcing -d app.sqlite3 events tail")]
    Events(EventsCommand),
    /// One stream
    #[command(
        subcommand,
        after_help = "Example:\n  pupsourcing -d app.sqlite3 stream show account 42"
    )]
    Stream(StreamCommand),
    /// Encryption keys: crypto-shredding, rotation, re-wrapping
    #[command(
        subcommand,
        after_help = "Examples:\n  pupsourcing -d app.sqlite3 keys shred users alice\n  \
                      pupsourcing -d app.sqlite3 keys rewrap --kek old=old.age --to new=new.age"
    )]
    Keys(KeysCommand),
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Refresh in place until interrupted
    #[arg(long)]
    pub(crate) watch: bool,
    /// Seconds between refreshes with --watch
    #[arg(long, default_value_t = 2.0, value_parser = positive_seconds, requires = "watch")]
    pub(crate) interval: f64,
    /// Stop after this many refreshes with --watch
    #[arg(long, requires = "watch")]
    pub(crate) count: Option<u64>,
    /// A node whose last heartbeat is older than this many seconds shows as not alive: the
    /// workers' `heartbeat_timeout` (5 s unless configured)
    #[arg(long, default_value_t = 5.0, value_parser = positive_seconds)]
    pub(crate) heartbeat_timeout: f64,
}

#[derive(Debug, Args)]
pub(crate) struct Target {
    /// The consumer's name
    pub(crate) consumer: String,
    /// Only this partition
    #[arg(long)]
    pub(crate) partition: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct SkipArgs {
    #[command(flatten)]
    pub(crate) target: Target,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct Follow {
    /// Return at once instead of following the consumer to the end of the log (this also lets a
    /// paused consumer be rewound, to resume later)
    #[arg(long)]
    pub(crate) detach: bool,
    /// Give up following after this many seconds (the checkpoints stay where they were set)
    #[arg(long, value_parser = positive_seconds)]
    pub(crate) timeout: Option<f64>,
}

#[derive(Debug, Args)]
pub(crate) struct RewindArgs {
    /// The consumer's name
    pub(crate) consumer: String,
    /// The new checkpoint: events after it are handled again (0 replays everything); a position
    /// above a checkpoint skips events and asks first
    #[arg(long)]
    pub(crate) to: u64,
    /// Do not ask before skipping events
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
    #[command(flatten)]
    pub(crate) follow: Follow,
}

#[derive(Debug, Args)]
pub(crate) struct RebuildArgs {
    /// The consumer's name
    pub(crate) consumer: String,
    /// SQL that clears the read model, run in the transaction that moves the checkpoints back
    /// (the read model is never half cleared), e.g. "DELETE FROM tally_by_type"; DML only, as
    /// DDL commits on its own on MySQL
    #[arg(long, value_name = "SQL")]
    pub(crate) reset_sql: Option<String>,
    #[command(flatten)]
    pub(crate) follow: Follow,
}

#[derive(Debug, Subcommand)]
pub(crate) enum EventsCommand {
    /// Prints the last events of the log and follows it, like `tail -f`
    #[command(after_help = "Examples:\n  pupsourcing -d app.sqlite3 events tail\n  \
                            pupsourcing -d app.sqlite3 events tail --aggregate-type account \
                            --event-type Deposited\n  \
                            pupsourcing -d app.sqlite3 events tail --from 0 --no-follow --format json")]
    Tail(TailArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TailArgs {
    /// Start this many positions before the end of the log (positions, not matching events)
    #[arg(long, short = 'n', default_value_t = 10, conflicts_with = "from")]
    pub(crate) last: u64,
    /// Start after this position instead (0: from the beginning)
    #[arg(long)]
    pub(crate) from: Option<u64>,
    /// Only events of this aggregate type (repeatable)
    #[arg(long)]
    pub(crate) aggregate_type: Vec<String>,
    /// Only events of this type (repeatable)
    #[arg(long)]
    pub(crate) event_type: Vec<String>,
    /// Only events of this bounded context (repeatable)
    #[arg(long)]
    pub(crate) context: Vec<String>,
    /// Stop at the end of the log instead of following it
    #[arg(long)]
    pub(crate) no_follow: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum StreamCommand {
    /// A stream's events with their versions and positions
    #[command(after_help = "Examples:\n  pupsourcing -d app.sqlite3 stream show account 42\n  \
                            pupsourcing -d app.sqlite3 stream show invoice 7 --context billing")]
    Show(StreamArgs),
}

#[derive(Debug, Args)]
pub(crate) struct StreamArgs {
    /// The aggregate type
    pub(crate) aggregate_type: String,
    /// The aggregate id
    pub(crate) aggregate_id: String,
    /// The bounded context, if the stream has one
    #[arg(long)]
    pub(crate) context: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Destroys every key of a subject: its encrypted fields read as erased for ever
    #[command(
        after_help = "Example:\n  pupsourcing -d app.sqlite3 keys shred users alice@example.com"
    )]
    Shred(ShredArgs),
    /// Starts a new key version of a subject for new writes
    #[command(after_help = "Example:\n  pupsourcing -d app.sqlite3 keys rotate users alice \
                            --kek kek-2024=/secrets/kek-2024.age")]
    Rotate(RotateArgs),
    /// Re-wraps every data key under a new key-encryption key, page by page, resumably
    #[command(after_help = "KEK files hold an age identity (AGE-SECRET-KEY-1…) or 64 hex digits \
                            of a symmetric key.\n\nExamples:\n  \
                            pupsourcing -d app.sqlite3 keys rewrap --kek old=/secrets/old.age \
                            --to new=/secrets/new.age\n  \
                            pupsourcing -d app.sqlite3 keys rewrap --kek old=/secrets/old.age \
                            --to new=/secrets/new.age --resume-after users/alice/v1")]
    Rewrap(RewrapArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ShredArgs {
    /// The key scope (e.g. users)
    pub(crate) scope: String,
    /// The subject (a person, a tenant, …)
    pub(crate) subject: String,
    /// Do not ask for confirmation
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The key scope
    pub(crate) scope: String,
    /// The subject
    pub(crate) subject: String,
    /// The KEK that wraps the new key, as ID=FILE
    #[arg(long, required = true)]
    pub(crate) kek: String,
}

#[derive(Debug, Args)]
pub(crate) struct RewrapArgs {
    /// A KEK that wrapped existing keys, as ID=FILE (repeatable)
    #[arg(long, required = true)]
    pub(crate) kek: Vec<String>,
    /// The new KEK, as ID=FILE
    #[arg(long)]
    pub(crate) to: String,
    /// Keys per transaction
    #[arg(long, default_value_t = 100)]
    pub(crate) page_size: usize,
    /// Stop after this many pages (print the cursor to resume)
    #[arg(long)]
    pub(crate) pages: Option<u64>,
    /// Continue after this cursor, as printed by an earlier run
    #[arg(long)]
    pub(crate) resume_after: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// postgres, sqlite or mysql (MariaDB/MySQL); taken from --database when it is given
    #[arg(long)]
    pub(crate) backend: Option<String>,
    /// A directory (the file is named `pupsourcing_<backend>.sql`), a file ending in .sql, or -
    /// for standard output
    #[arg(long, default_value = "-", conflicts_with = "apply")]
    pub(crate) output: PathBuf,
    /// Create the tables in the --database instead of writing SQL (idempotent)
    #[arg(long)]
    pub(crate) apply: bool,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds < 1e9 => Ok(seconds),
        _ => Err(format!("{text:?} is not a positive number of seconds")),
    }
}
