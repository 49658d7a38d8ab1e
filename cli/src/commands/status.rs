//! `status`: the frontier, the nodes and every unit, once or refreshed in place.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::time::Duration;

use pupsourcing::spi::Coordinator;
use pupsourcing::{
    Admin, Backend, BackendErrorKind, ConsumerStatus, Database, EventStore, FrontierStatus,
    NodeStatus, StoreError,
};
use pupsourcing_postgres::frontier::OldestWriter;
use serde_json::{Value, json};

use crate::args::{Format, StatusArgs};
use crate::connect::{Connection, on_backend};
use crate::error::Result;
use crate::output::{age, print, print_json, short, table};
use crate::stop::Stop;

/// Everything `status` shows.
pub(crate) struct Snapshot {
    pub(crate) frontier: FrontierStatus,
    /// False when the user may only read: the frontier as persisted, holes not examined.
    pub(crate) advanced: bool,
    pub(crate) oldest_writer: Option<OldestWriter>,
    /// Whether the oldest writer was looked for (PostgreSQL, with open holes).
    pub(crate) writer_sought: bool,
    pub(crate) nodes: Vec<NodeStatus>,
    pub(crate) units: Vec<ConsumerStatus>,
}

pub(crate) async fn read<D, S, C, K>(backend: &Backend<D, S, C, K>) -> Result<Snapshot>
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let admin = Admin::new(backend);
    let (frontier, advanced) = frontier(backend).await?;
    Ok(Snapshot {
        frontier,
        advanced,
        oldest_writer: None,
        writer_sought: false,
        nodes: admin.nodes().await?,
        units: admin.status().await?,
    })
}

/// Where the frontier stands: advanced first (as any process may), or, for a user who may only
/// read, as persisted without its holes. The flag says which.
pub(crate) async fn frontier<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
) -> Result<(FrontierStatus, bool)>
where
    D: Database,
    S: EventStore<D>,
{
    let (db, store) = (backend.database(), backend.store());
    match store.advance_frontier().await {
        Ok(status) => Ok((status, true)),
        Err(StoreError::Backend(err)) if err.kind() == BackendErrorKind::Privilege => {
            let mut tx = db.begin_read().await?;
            let safe = store.safe_frontier(&mut tx).await;
            let latest = store.latest_position(&mut tx).await;
            db.rollback(tx).await?;
            let status = FrontierStatus {
                safe_position: safe?,
                latest_position: latest?,
                ..FrontierStatus::default()
            };
            Ok((status, false))
        }
        Err(err) => Err(err.into()),
    }
}

async fn snapshot(connection: &Connection) -> Result<Snapshot> {
    let mut snapshot = on_backend!(connection, backend => read(backend).await)?;
    if let Connection::Postgres(backend) = connection
        && !snapshot.frontier.open_holes.is_empty()
    {
        snapshot.oldest_writer = backend.store().oldest_writer().await?;
        snapshot.writer_sought = true;
    }
    Ok(snapshot)
}

pub(crate) async fn run(connection: &Connection, args: &StatusArgs, format: Format) -> Result<()> {
    let timeout = Duration::from_secs_f64(args.heartbeat_timeout);
    let interactive = std::io::stdout().is_terminal();
    let mut shown = 0u64;
    let mut stop = Stop::new();
    loop {
        let snapshot = snapshot(connection).await?;
        match format {
            Format::Json if args.watch => print(&format!("{}\n", json_of(&snapshot, timeout))),
            Format::Json => print_json(&json_of(&snapshot, timeout)),
            Format::Text => {
                let text = text_of(&snapshot, timeout);
                if args.watch && interactive {
                    print(&format!("\x1b[H\x1b[2J{text}"));
                } else if args.watch {
                    print(&format!("{text}\n"));
                } else {
                    print(&text);
                }
            }
        }
        shown += 1;
        if !args.watch || args.count.is_some_and(|count| shown >= count) {
            return Ok(());
        }
        if stop.wait(Duration::from_secs_f64(args.interval)).await {
            return Ok(());
        }
    }
}

/// What a unit is doing, in one word.
pub(crate) fn state(unit: &ConsumerStatus) -> &'static str {
    let status = &unit.unit;
    if status.paused {
        "paused"
    } else if status.attempts > 0 {
        "retrying"
    } else if status.upto.is_some() {
        "draining"
    } else if status.owner.is_none() {
        "unassigned"
    } else {
        "running"
    }
}

fn text_of(snapshot: &Snapshot, timeout: Duration) -> String {
    let frontier = &snapshot.frontier;
    let mut text = format!(
        "Frontier: safe {}, latest {}, lag {}\n",
        frontier.safe_position,
        frontier.latest_position,
        frontier.lag()
    );
    for hole in &frontier.open_holes {
        let _ = writeln!(
            text,
            "  open hole {}..={}, missing for {}",
            hole.start,
            hole.end,
            age(hole.age)
        );
    }
    if !snapshot.advanced {
        text.push_str("  (read-only access: the frontier as last advanced, holes not examined)\n");
    }
    if snapshot.writer_sought && snapshot.oldest_writer.is_none() {
        text.push_str(
            "  oldest open writer: none visible (other roles' transactions need pg_read_all_stats)\n",
        );
    }
    if let Some(writer) = &snapshot.oldest_writer {
        let _ = writeln!(
            text,
            "  oldest open writer: pid {}, transaction open for {}: {}",
            writer.pid,
            age(writer.age),
            short(&writer.query, 80)
        );
    }
    text.push_str("\nNodes:\n");
    if snapshot.nodes.is_empty() {
        text.push_str("  none registered (no worker runs)\n");
    } else {
        let rows: Vec<Vec<String>> = snapshot
            .nodes
            .iter()
            .map(|node| {
                let consumers: Vec<&str> =
                    node.node.info.consumers.iter().map(|c| c.name.as_str()).collect();
                vec![
                    node.node.info.node_id.clone(),
                    if node.heartbeat_age < timeout { "yes" } else { "no" }.to_owned(),
                    format!("{} ago", age(node.heartbeat_age)),
                    if node.leader { "leader" } else { "" }.to_owned(),
                    node.node.info.version.clone(),
                    consumers.join(","),
                ]
            })
            .collect();
        text.push_str(&indent(&table(
            &["NODE", "ALIVE", "HEARTBEAT", "ROLE", "VERSION", "CONSUMERS"],
            &rows,
        )));
    }
    text.push_str("\nConsumers:\n");
    if snapshot.units.is_empty() {
        text.push_str("  none yet (the leader records consumers once a worker runs them)\n");
    } else {
        let rows: Vec<Vec<String>> = snapshot
            .units
            .iter()
            .map(|unit| {
                let u = &unit.unit;
                vec![
                    u.unit.consumer.clone(),
                    format!("{}/{}", u.unit.partition, u.unit.partitions),
                    u.owner.clone().unwrap_or_else(|| "-".to_owned()),
                    u.epoch.to_string(),
                    u.checkpoint.to_string(),
                    unit.lag.to_string(),
                    state(unit).to_owned(),
                    u.attempts.to_string(),
                    u.failed_position.map_or_else(|| "-".to_owned(), |p| p.to_string()),
                    u.last_error.as_deref().map_or_else(|| "-".to_owned(), |e| short(e, 60)),
                ]
            })
            .collect();
        text.push_str(&indent(&table(
            &[
                "CONSUMER",
                "PARTITION",
                "OWNER",
                "EPOCH",
                "CHECKPOINT",
                "LAG",
                "STATE",
                "ATTEMPTS",
                "FAILED AT",
                "LAST ERROR",
            ],
            &rows,
        )));
    }
    text
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

pub(crate) fn unit_json(unit: &ConsumerStatus) -> Value {
    let u = &unit.unit;
    json!({
        "consumer": u.unit.consumer,
        "partition": u.unit.partition,
        "partitions": u.unit.partitions,
        "owner": u.owner,
        "epoch": u.epoch,
        "checkpoint": u.checkpoint,
        "lag": unit.lag,
        "drain_limit": u.upto,
        "state": state(unit),
        "paused": u.paused,
        "attempts": u.attempts,
        "failing_since": u.failing_since.map(|t| t.to_rfc3339()),
        "last_error": u.last_error,
        "failed_position": u.failed_position,
        "skip_position": u.skip_position,
    })
}

fn json_of(snapshot: &Snapshot, timeout: Duration) -> Value {
    let frontier = &snapshot.frontier;
    json!({
        "frontier": {
            "safe_position": frontier.safe_position,
            "latest_position": frontier.latest_position,
            "lag": frontier.lag(),
            "open_holes": frontier.open_holes.iter().map(|hole| json!({
                "start": hole.start,
                "end": hole.end,
                "age_secs": hole.age.as_secs_f64(),
            })).collect::<Vec<_>>(),
            "advanced": snapshot.advanced,
            "oldest_writer": snapshot.oldest_writer.as_ref().map(|writer| json!({
                "pid": writer.pid,
                "age_secs": writer.age.as_secs_f64(),
                "query": writer.query,
            })),
        },
        "nodes": snapshot.nodes.iter().map(|node| json!({
            "node_id": node.node.info.node_id,
            "alive": node.heartbeat_age < timeout,
            "heartbeat_age_secs": node.heartbeat_age.as_secs_f64(),
            "leader": node.leader,
            "version": node.node.info.version,
            "started_at": node.node.started_at.to_rfc3339(),
            "consumers": node.node.info.consumers.iter().map(|c| json!({
                "name": c.name,
                "partitions": c.partitions,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "units": snapshot.units.iter().map(unit_json).collect::<Vec<_>>(),
    })
}
