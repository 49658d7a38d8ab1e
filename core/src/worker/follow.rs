//! Following the frontier: advance it on every wake-up (and by polling), and tell idle units
//! when it moves.

use std::sync::Arc;
use std::time::Duration;

use crate::spi::Coordinator;
use crate::worker::context::Context;
use crate::worker::metrics;
use crate::{Database, EventStore};

/// How soon to look again while holes are open: dead ones close within a few milliseconds.
const HOLE_RECHECK: Duration = Duration::from_millis(5);

pub(crate) async fn run<D, S, C>(ctx: Arc<Context<D, S, C>>)
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let mut wakeups = ctx.coordinator.wakeups();
    let mut wakeups_alive = true;
    let mut stopping = ctx.stopping.subscribe();
    let mut recheck = HOLE_RECHECK;
    loop {
        let delay = match ctx.store.advance_frontier().await {
            Ok(status) => {
                metrics::frontier(&status);
                ctx.frontier.send_if_modified(|known| {
                    let moved = status.safe_position > *known;
                    if moved {
                        *known = status.safe_position;
                    }
                    moved
                });
                if status.open_holes.is_empty() {
                    recheck = HOLE_RECHECK;
                    ctx.config.poll_interval
                } else {
                    let delay = recheck.min(ctx.config.poll_interval);
                    recheck = (recheck * 2).min(ctx.config.poll_interval);
                    delay
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "frontier advance failed");
                ctx.config.poll_interval
            }
        };
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            changed = wakeups.changed(), if wakeups_alive => {
                if changed.is_err() {
                    wakeups_alive = false;
                }
            }
            _ = stopping.changed() => break,
        }
    }
}
