//! `pupsourcing-migrate`: writes the pupsourcing schema for one backend as an SQL file.

#![allow(clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pupsourcing_migrations::{Backend, Tables, script};

const USAGE: &str = "\
Usage: pupsourcing-migrate --backend <postgres|sqlite|mysql> [--output <DIR|FILE.sql|->] [options]

Writes the pupsourcing schema (idempotent DDL) for one backend.

Options:
  --backend <NAME>             postgres, sqlite or mysql (MariaDB/MySQL) (required)
  --output <PATH>              a directory (the file is named pupsourcing_<backend>.sql),
                               a file ending in .sql, or - for standard output (default: -)
  --schema <NAME>              PostgreSQL schema (MySQL database) for every table
  --prefix <PREFIX>            prefix for every table name
  --events-table <NAME>        name of the events table (default: events)
  --stream-heads-table <NAME>  name of the stream heads table (default: stream_heads)
  --frontier-table <NAME>      name of the frontier table (default: event_frontier; PostgreSQL)
  --holes-table <NAME>         name of the holes table (default: event_holes; PostgreSQL)
  --data-keys-table <NAME>     name of the encryption data-keys table (default: data_keys)
  --key-tombstones-table <NAME>
                               name of the key tombstones table (default: key_tombstones)
  -h, --help                   print this help
";

struct Args {
    backend: Backend,
    output: String,
    tables: Tables,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut backend = None;
    let mut output = "-".to_owned();
    let mut schema = None;
    let mut prefix = None;
    let mut events = None;
    let mut stream_heads = None;
    let mut frontier = None;
    let mut holes = None;
    let mut data_keys = None;
    let mut key_tombstones = None;
    while let Some(flag) = argv.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (flag.clone(), None),
        };
        let value = match inline {
            Some(value) => value,
            None => argv.next().ok_or_else(|| format!("{name} needs a value"))?,
        };
        match name.as_str() {
            "--backend" => backend = Some(value.parse::<Backend>().map_err(|e| e.to_string())?),
            "--output" => output = value,
            "--schema" => schema = Some(value),
            "--prefix" => prefix = Some(value),
            "--events-table" => events = Some(value),
            "--stream-heads-table" => stream_heads = Some(value),
            "--frontier-table" => frontier = Some(value),
            "--holes-table" => holes = Some(value),
            "--data-keys-table" => data_keys = Some(value),
            "--key-tombstones-table" => key_tombstones = Some(value),
            _ => return Err(format!("unknown option {name}")),
        }
    }
    let backend = backend.ok_or("--backend is required")?;
    let mut tables = Tables::new();
    if let Some(prefix) = prefix {
        tables = tables.with_prefix(&prefix).map_err(|e| e.to_string())?;
    }
    if let Some(name) = events {
        tables = tables.with_events(&name).map_err(|e| e.to_string())?;
    }
    if let Some(name) = stream_heads {
        tables = tables.with_stream_heads(&name).map_err(|e| e.to_string())?;
    }
    if let Some(name) = frontier {
        tables = tables.with_frontier(&name).map_err(|e| e.to_string())?;
    }
    if let Some(name) = holes {
        tables = tables.with_holes(&name).map_err(|e| e.to_string())?;
    }
    if let Some(name) = data_keys {
        tables = tables.with_data_keys(&name).map_err(|e| e.to_string())?;
    }
    if let Some(name) = key_tombstones {
        tables = tables.with_key_tombstones(&name).map_err(|e| e.to_string())?;
    }
    if let Some(schema) = schema {
        tables = tables.with_schema(&schema).map_err(|e| e.to_string())?;
    }
    Ok(Some(Args { backend, output, tables }))
}

fn target(output: &str, backend: Backend) -> PathBuf {
    let path = Path::new(output);
    if path.extension().is_some_and(|ext| ext == "sql") {
        path.to_path_buf()
    } else {
        path.join(format!("pupsourcing_{}.sql", backend.name()))
    }
}

fn run(args: Args) -> Result<(), String> {
    let sql = script(args.backend, &args.tables).map_err(|e| e.to_string())?;
    if args.output == "-" {
        print!("{sql}");
        return Ok(());
    }
    let path = target(&args.output, args.backend);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(&path, sql).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}

fn main() -> ExitCode {
    match parse(std::env::args().skip(1)) {
        Ok(None) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => match run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("pupsourcing-migrate: {message}");
                ExitCode::FAILURE
            }
        },
        Err(message) => {
            eprintln!("pupsourcing-migrate: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Option<Args>, String> {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_names_and_output() {
        let parsed =
            args(&["--backend=pg", "--prefix", "app_", "--schema", "es", "--output", "out"])
                .unwrap()
                .unwrap();
        assert_eq!(parsed.backend, Backend::Postgres);
        assert_eq!(parsed.tables.qualified(parsed.tables.events()), "\"es\".\"app_events\"");
        assert_eq!(
            target(&parsed.output, parsed.backend),
            PathBuf::from("out/pupsourcing_postgres.sql")
        );
        assert_eq!(target("x/schema.sql", Backend::Sqlite), PathBuf::from("x/schema.sql"));
        let keys = args(&["--backend", "sqlite", "--data-keys-table", "deks"]).unwrap().unwrap();
        assert_eq!(keys.tables.data_keys().as_str(), "deks");
        let stones = args(&["--backend", "sqlite", "--key-tombstones-table", "gone"]);
        assert_eq!(stones.unwrap().unwrap().tables.key_tombstones().as_str(), "gone");
    }

    #[test]
    fn refuses_bad_arguments() {
        assert!(args(&[]).is_err());
        assert!(args(&["--backend", "oracle"]).is_err());
        assert!(args(&["--backend", "sqlite", "--events-table", "a b"]).is_err());
        assert!(args(&["--backend"]).is_err());
        assert!(args(&["--frobnicate", "1"]).is_err());
        assert!(args(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn writes_the_file_into_a_directory() {
        let dir = std::env::temp_dir().join(format!("pupsourcing-migrate-{}", std::process::id()));
        let parsed =
            args(&["--backend", "sqlite", "--output", dir.to_str().unwrap()]).unwrap().unwrap();
        run(parsed).unwrap();
        let written = std::fs::read_to_string(dir.join("pupsourcing_sqlite.sql")).unwrap();
        assert!(written.contains("CREATE TABLE IF NOT EXISTS \"events\""));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
