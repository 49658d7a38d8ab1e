//! `migrate`: the schema as an SQL file, or created in the database.

use std::path::{Path, PathBuf};

use pupsourcing_migrations::{Backend as Dialect, Tables, script};

use serde_json::json;

use crate::args::{Format, MigrateArgs};
use crate::connect::{Connection, Location, open};
use crate::error::{CliError, Kind, Result};
use crate::output::{print, print_json};

/// Where the SQL goes: a `.sql` file as named, or `pupsourcing_<backend>.sql` in a directory.
fn target(output: &Path, backend: Dialect) -> PathBuf {
    if output.extension().is_some_and(|ext| ext == "sql") {
        output.to_path_buf()
    } else {
        output.join(format!("pupsourcing_{}.sql", backend.name()))
    }
}

pub(crate) async fn run(
    args: &MigrateArgs,
    location: Option<&Location>,
    tables: Tables,
    format: Format,
) -> Result<()> {
    if args.apply {
        let location = location.ok_or_else(|| {
            CliError::new(Kind::Usage, "--apply needs a database")
                .hint("pass --database URL or set DATABASE_URL")
        })?;
        let connection = open(location, tables, true).await?;
        match &connection {
            Connection::Sqlite(backend) => backend.store().migrate().await?,
            Connection::Postgres(backend) => backend.store().migrate().await?,
            Connection::Mysql(backend) => backend.store().migrate().await?,
        }
        match format {
            Format::Json => print_json(&json!({ "applied": location.dialect().name() })),
            Format::Text => print(&format!("the {} schema is in place\n", location.dialect())),
        }
        return Ok(());
    }
    let backend = match (&args.backend, location) {
        (Some(name), _) => {
            name.parse::<Dialect>().map_err(|err| CliError::new(Kind::Usage, err.to_string()))?
        }
        (None, Some(location)) => location.dialect(),
        (None, None) => {
            return Err(CliError::new(Kind::Usage, "which backend's schema?")
                .hint("pass --backend postgres|sqlite|mysql, or --database URL"));
        }
    };
    let sql =
        script(backend, &tables).map_err(|err| CliError::new(Kind::Usage, err.to_string()))?;
    if args.output == Path::new("-") {
        match format {
            Format::Json => print_json(&json!({ "backend": backend.name(), "sql": sql })),
            Format::Text => print(&sql),
        }
        return Ok(());
    }
    let path = target(&args.output, backend);
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| {
            CliError::new(Kind::Failed, format!("cannot create {}: {err}", dir.display()))
        })?;
    }
    std::fs::write(&path, sql).map_err(|err| {
        CliError::new(Kind::Failed, format!("cannot write {}: {err}", path.display()))
    })?;
    match format {
        Format::Json => print_json(&json!({ "backend": backend.name(), "wrote": path })),
        Format::Text => print(&format!("wrote {}\n", path.display())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_a_file_or_a_directory() {
        assert_eq!(
            target(Path::new("out"), Dialect::Postgres),
            PathBuf::from("out/pupsourcing_postgres.sql")
        );
        assert_eq!(
            target(Path::new("x/schema.sql"), Dialect::Sqlite),
            PathBuf::from("x/schema.sql")
        );
    }
}
