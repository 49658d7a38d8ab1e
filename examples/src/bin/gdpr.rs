//! A GDPR walkthrough: customers registered with encrypted personal data, a projection that
//! finds them by email through a blind index, one customer erased by destroying their key, and
//! the projection rebuilt from the untouched event log showing that customer as erased.
//!
//! Runs on a fresh SQLite database by default (in the temporary directory, or at the path given
//! as the first argument); set `DATABASE_URL=postgres://...` to run it on PostgreSQL (in schema
//! `pupsourcing_gdpr`, recreated on every run) or `DATABASE_URL=mysql://...` to run it on
//! MySQL/MariaDB (in database `pupsourcing_gdpr`, likewise).

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Duration;

use pupsourcing::encryption::{AgeWrapper, BlindIndex, Encryptor, ExposeSecret, Keyring};
use pupsourcing::spi::{Coordinator, KeyStore};
use pupsourcing::{Admin, Backend, BoxError, EventStore, EventStoreExt, Worker, WorkerConfig};
use pupsourcing_examples::customer_directory::{self, CustomerDirectory, CustomerRow, REDACTED};
use pupsourcing_examples::customers::{self, CustomerEvent};
use pupsourcing_examples::setup::{self, Server};
use pupsourcing_examples::sql::SqlDatabase;
use pupsourcing_postgres::sqlx::{self, AssertSqlSafe, postgres::PgPoolOptions};
use pupsourcing_postgres::{PostgresStoreConfig, Tables};
use tokio::sync::oneshot;

const SCHEMA: &str = "pupsourcing_gdpr";
/// How long the walkthrough waits for its projection.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    match setup::server() {
        Some(Server::Postgres(url)) => {
            println!("pupsourcing GDPR walkthrough on PostgreSQL (schema {SCHEMA})\n");
            let pool = PgPoolOptions::new().max_connections(8).connect(&url).await?;
            sqlx::raw_sql(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")))
                .execute(&pool)
                .await?;
            let config =
                PostgresStoreConfig::default().with_tables(Tables::new().with_schema(SCHEMA)?);
            let backend = pupsourcing_postgres::from_pool(pool, config);
            backend.store().migrate().await?;
            walkthrough(backend, &format!("{SCHEMA}.")).await
        }
        Some(Server::Mysql(url)) => {
            println!("pupsourcing GDPR walkthrough on MySQL/MariaDB (database {SCHEMA})\n");
            walkthrough(setup::fresh_mysql(&url, SCHEMA).await?, "").await
        }
        None => {
            let path = std::env::args_os()
                .nth(1)
                .map_or_else(|| std::env::temp_dir().join("pupsourcing-gdpr.sqlite3"), Into::into);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            println!("pupsourcing GDPR walkthrough on SQLite ({})\n", path.display());
            let backend = pupsourcing_sqlite::open(path).await?;
            backend.store().migrate().await?;
            walkthrough(backend, "").await
        }
    }
}

/// The key-encryption key. A real service loads its age identity from a secret store or a
/// passphrase-protected file (`AgeWrapper::from_passphrase_file`) and wraps to an offline
/// escrow recipient as well; here both are generated for the run.
fn keyring() -> Result<Keyring, BoxError> {
    let (service, _) = AgeWrapper::generate_identity();
    let (_, escrow) = AgeWrapper::generate_identity();
    let kek = AgeWrapper::from_identities("service-2026", service.expose_secret(), &[&escrow])?;
    println!("   data keys are wrapped for age recipients {}", kek.recipients().join(", "));
    Ok(Keyring::new(kek))
}

fn print_rows(rows: &[CustomerRow]) {
    println!("   {:<8} {:<16} {:<26} country", "id", "name", "email");
    for row in rows {
        println!("   {:<8} {:<16} {:<26} {}", row.id, row.name, row.email, row.country);
    }
}

async fn walkthrough<D, S, C, K>(backend: Backend<D, S, C, K>, prefix: &str) -> Result<(), BoxError>
where
    D: SqlDatabase,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
    K: KeyStore<D> + Clone,
{
    let (db, store) = (backend.database(), backend.store());
    println!("1. Setting up encryption");
    let encryptor = Encryptor::new(&backend, keyring()?);
    let index = Arc::new(BlindIndex::new(1, BlindIndex::generate_master_key()));
    let directory = CustomerDirectory::new(prefix, encryptor.clone(), index);
    for statement in directory.schema() {
        db.execute_committed(statement).await?;
    }

    println!("\n2. Registering customers (each gets a data key in the same transaction)");
    for (id, name, email, country) in [
        ("c-001", "Alice Martin", "Alice.Martin@example.com", "FR"),
        ("c-002", "Bob Keller", "bob@example.org", "DE"),
        ("c-003", "Carol Nowak", "carol@example.net", "PL"),
    ] {
        customers::register(db, store, &encryptor, id, name, email, country).await?;
        println!("   {id} {name} registered");
    }
    customers::change_email(db, store, &encryptor, "c-002", "bob.keller@example.org").await?;
    println!("   c-002 changed email");

    let worker = Worker::builder(&backend)
        .config(WorkerConfig {
            poll_interval: Duration::from_millis(50),
            idle_backoff_max: Duration::from_millis(200),
            ..WorkerConfig::default()
        })
        .consumer(directory.clone())
        .build()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        worker
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let admin = Admin::new(&backend);

    println!("\n3. The worker projects them into {prefix}customer_directory");
    admin.wait_caught_up(customer_directory::NAME, PATIENCE).await?;
    print_rows(&directory.rows(db).await?);
    let found = directory.find_by_email(db, "  BOB.KELLER@example.org ").await?;
    println!(
        "   look-up by email \"BOB.KELLER@example.org\" through the blind index: {}",
        found.map_or("not found".to_owned(), |row| format!("found {} ({})", row.id, row.name))
    );

    println!("\n4. What the event log holds for c-002");
    let mut tx = db.begin_read().await?;
    let bob = store.read_full_stream(&mut tx, &customers::stream("c-002")).await?;
    db.rollback(tx).await?;
    for event in &bob {
        let text = String::from_utf8_lossy(&event.event.payload);
        let shown: String = text.chars().take(96).collect();
        println!("   v{} {:<18} {shown}...", event.aggregate_version, event.event.event_type);
    }

    println!("\n5. Erasing c-002 (a CustomerErased event and the key destruction, in one commit)");
    let destroyed = customers::erase(db, store, &encryptor, "c-002").await?;
    println!("   destroyed {destroyed} key version(s) of c-002; its events are untouched");
    admin.wait_caught_up(customer_directory::NAME, PATIENCE).await?;
    print_rows(&directory.rows(db).await?);
    let found = directory.find_by_email(db, "bob.keller@example.org").await?;
    println!(
        "   look-up by c-002's old email: {}",
        if found.is_some() { "still found (wrong!)" } else { "not found" }
    );
    let first = bob.events().first().ok_or("c-002 has events")?;
    if let CustomerEvent::CustomerRegistered { email, .. } = first.decode_json::<CustomerEvent>()? {
        let revealed = encryptor.reveal(&customers::subject("c-002")?, "email", &email).await?;
        println!(
            "   decrypting the email in c-002's first event now gives: {}",
            if revealed.is_shredded() { "Shredded" } else { "plaintext (wrong!)" }
        );
    }

    println!("\n6. Rebuilding the projection from the whole event log");
    let rebuilt_up_to = admin.rebuild(&directory).await?;
    admin.wait_for(customer_directory::NAME, rebuilt_up_to, PATIENCE).await?;
    let rows = directory.rows(db).await?;
    print_rows(&rows);
    let erased = rows.iter().filter(|row| row.name == REDACTED);
    println!("   rebuilt: {} customers, {} shown as erased", rows.len(), erased.count());

    let _ = stop.send(());
    running.await??;
    println!("\nworker stopped");
    Ok(())
}
