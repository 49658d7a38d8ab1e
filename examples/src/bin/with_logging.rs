//! Observability: the worker's `tracing` spans and logs on stderr (`RUST_LOG` to tune them), and
//! its `metrics` served in the Prometheus text format on a local port, read back once here as a
//! Prometheus scrape would. SQLite by default (or the path given as the first argument);
//! PostgreSQL or MySQL/MariaDB with
//! `DATABASE_URL`.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use pupsourcing::worker::metrics::{CONSUMER_LAG, EVENTS_HANDLED};
use pupsourcing::{Admin, Backend, BoxError, EventStore, spi::Coordinator};
use pupsourcing_examples::on_any_backend;
use pupsourcing_examples::setup::{Running, write_sample};
use pupsourcing_examples::sql::SqlDatabase;
use pupsourcing_examples::tally::{CountBy, Tally};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info,pupsourcing=debug".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    on_any_backend!("with-logging", run)
}

/// Serves `GET /metrics` with the Prometheus text on a local port; returns the port.
async fn serve_metrics(handle: PrometheusHandle) -> Result<u16, BoxError> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let body = handle.render();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    Ok(port)
}

/// One scrape of the metrics endpoint.
async fn scrape(port: u16) -> Result<String, BoxError> {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).await?;
    socket.write_all(b"GET /metrics HTTP/1.1\r\nhost: localhost\r\n\r\n").await?;
    let mut response = String::new();
    socket.read_to_string(&mut response).await?;
    Ok(response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default())
}

async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<(), BoxError>
where
    D: SqlDatabase,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let port = serve_metrics(PrometheusBuilder::new().install_recorder()?).await?;
    println!("metrics on http://127.0.0.1:{port}/metrics, logs on stderr");
    let tally = Tally::new("observed", CountBy::EventType);
    tally.create_table(backend.database()).await?;
    let worker = Running::start(backend, "observed-node", vec![Arc::new(tally)])?;
    write_sample(backend.database(), backend.store(), 25).await?;
    Admin::new(backend).wait_caught_up("observed", Duration::from_secs(30)).await?;

    let text = scrape(port).await?;
    println!("a scrape of the endpoint (pupsourcing's series):");
    for line in text.lines().filter(|line| line.starts_with("pupsourcing_")) {
        println!("   {line}");
    }
    worker.stop().await?;
    let handled: f64 = text
        .lines()
        .filter(|line| line.starts_with(EVENTS_HANDLED))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    println!("{EVENTS_HANDLED} adds up to {handled}");
    if handled < 25.0 || !text.contains(CONSUMER_LAG) {
        return Err(format!("the metrics do not show the 25 events handled:\n{text}").into());
    }
    Ok(())
}
