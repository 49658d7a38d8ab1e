//! `dead-letters`: paused units, the event each is stuck on, and what to do about it.

use pupsourcing::spi::Coordinator;
use pupsourcing::{Admin, Backend, Database, EventStore};
use serde_json::{Value, json};

use crate::args::Format;
use crate::commands::consumers::{describe, event_at};
use crate::error::Result;
use crate::output::{event_json, print, print_json};

pub(crate) async fn run<D, S, C, K>(backend: &Backend<D, S, C, K>, format: Format) -> Result<()>
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let paused: Vec<_> =
        Admin::new(backend).status().await?.into_iter().filter(|u| u.unit.paused).collect();
    let mut text = String::new();
    let mut letters = Vec::new();
    for unit in &paused {
        let u = &unit.unit;
        let (consumer, partition) = (&u.unit.consumer, u.unit.partition);
        let event = match u.failed_position {
            Some(position) => event_at(backend, position).await?,
            None => None,
        };
        let flag = format!(" --partition {partition}");
        let mut actions = vec![format!("pupsourcing resume {consumer}{flag}  (retry it)")];
        if u.failed_position.is_some() {
            actions.push(format!("pupsourcing skip {consumer}{flag}  (never handle that event)"));
        }
        actions.push(format!(
            "pupsourcing rewind {consumer} --to POSITION --detach, then resume  (once the handler \
             is fixed: replay from an earlier position)"
        ));
        let what = u.failed_position.map_or_else(
            || "paused by an operator or on a failure outside any event".to_owned(),
            |position| format!("stuck on {}", describe(position, event.as_ref())),
        );
        text.push_str(&format!(
            "{consumer} partition {partition}/{}: {what}\n  checkpoint {}, {} attempt(s){}\n  \
             error: {}\n  to do:\n",
            u.unit.partitions,
            u.checkpoint,
            u.attempts,
            u.failing_since.map_or_else(String::new, |t| {
                format!(", failing since {}", t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            }),
            u.last_error.as_deref().unwrap_or("none recorded"),
        ));
        for action in &actions {
            text.push_str(&format!("    {action}\n"));
        }
        letters.push(json!({
            "consumer": consumer,
            "partition": partition,
            "partitions": u.unit.partitions,
            "checkpoint": u.checkpoint,
            "attempts": u.attempts,
            "failing_since": u.failing_since.map(|t| t.to_rfc3339()),
            "error": u.last_error,
            "failed_position": u.failed_position,
            "event": event.as_ref().map(event_json).unwrap_or(Value::Null),
            "actions": actions,
        }));
    }
    match format {
        Format::Json => print_json(&Value::Array(letters)),
        Format::Text if paused.is_empty() => print("no paused consumers\n"),
        Format::Text => print(&text),
    }
    Ok(())
}
