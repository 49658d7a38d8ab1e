//! `stream show`: one stream's events with their versions and positions.

use pupsourcing::{Backend, Database, EventStore, StreamId, Versions};
use serde_json::Value;

use crate::args::{Format, StreamArgs};
use crate::error::{CliError, Kind, Result};
use crate::output::{event_json, event_text, print, print_json};

pub(crate) async fn show<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    args: &StreamArgs,
    format: Format,
) -> Result<()>
where
    D: Database,
    S: EventStore<D>,
{
    let mut id = StreamId::new(&args.aggregate_type, &args.aggregate_id);
    if let Some(context) = &args.context {
        id = id.in_context(context);
    }
    let db = backend.database();
    let mut tx = db.begin_read().await?;
    let events = backend.store().read_stream(&mut tx, &id, Versions::all()).await;
    db.rollback(tx).await?;
    let events = events?;
    if events.is_empty() {
        return Err(CliError::new(Kind::NotFound, format!("no stream {id}"))
            .hint("streams are named by aggregate type and id (and --context if they have one)"));
    }
    match format {
        Format::Json => print_json(&Value::Array(events.iter().map(event_json).collect())),
        Format::Text => {
            let text: String = events.iter().map(event_text).collect::<Vec<_>>().join("\n");
            print(&text);
        }
    }
    Ok(())
}
