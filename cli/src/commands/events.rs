//! `events tail`: the global log, followed like `tail -f`.

use std::time::Duration;

use pupsourcing::{Backend, Database, EventFilter, EventStore, LogQuery};

use crate::args::{Format, TailArgs};
use crate::commands::status;
use crate::error::Result;
use crate::output::{event_json, event_text, print};
use crate::stop::Stop;

/// How often a follower looks for new events.
const POLL: Duration = Duration::from_millis(200);

pub(crate) async fn tail<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    args: &TailArgs,
    format: Format,
) -> Result<()>
where
    D: Database,
    S: EventStore<D>,
{
    let (db, store) = (backend.database(), backend.store());
    let mut filter = EventFilter::all();
    if !args.aggregate_type.is_empty() {
        filter = filter.aggregate_types(&args.aggregate_type);
    }
    if !args.event_type.is_empty() {
        filter = filter.event_types(&args.event_type);
    }
    if !args.context.is_empty() {
        filter = filter.bounded_contexts(&args.context);
    }
    // Reading only up to the safe frontier never skips an event that commits late; advancing
    // it here keeps the tail moving when no worker runs.
    let mut frontier = status::frontier(backend).await?.0.safe_position;
    let mut stop = Stop::new();
    let mut after = args.from.unwrap_or_else(|| frontier.saturating_sub(args.last));
    loop {
        let mut tx = db.begin_read().await?;
        let query = LogQuery::up_to(frontier).after(after).filter(filter.clone());
        let events = store.read_events_until(&mut tx, &query).await;
        db.rollback(tx).await?;
        let events = events?;
        let mut text = String::new();
        for event in &events {
            match format {
                Format::Json => text.push_str(&format!("{}\n", event_json(event))),
                Format::Text => {
                    text.push_str(&event_text(event));
                    text.push('\n');
                }
            }
        }
        print(&text);
        let full = events.len() >= query.row_limit();
        after = match events.last() {
            Some(last) if full => last.global_position,
            _ => frontier,
        };
        let pause = if full { Duration::ZERO } else { POLL };
        if (!full && args.no_follow) || stop.wait(pause).await {
            return Ok(());
        }
        frontier = status::frontier(backend).await?.0.safe_position;
    }
}
