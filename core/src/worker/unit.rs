//! The loop that runs one assigned unit, batch after batch.
//!
//! A batch is one transaction: claim the unit (checkpoint locked, ownership and pause checked),
//! read the matching events in `(checkpoint, frontier]` in SQL, hand them to the consumer with
//! the same transaction, move the checkpoint (to the last event when the batch was full, else
//! to the frontier), check ownership again so that a deposed owner cannot commit, commit. The
//! frontier is the one the node's follower task last advanced to.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::worker::context::{Context, error_chain, random};
use crate::worker::coordinator::{Assignment, Claim};
use crate::worker::metrics;
use crate::{
    Consumer, Coordinator, Database, EventFilter, EventStore, PersistedEvent, WorkerError,
};

enum Outcome {
    Handled { full: bool },
    Idle,
    Paused,
    Fenced,
}

enum Failure {
    Handler { message: String, position: Option<u64> },
    Infrastructure(WorkerError),
}

impl<E: Into<WorkerError>> From<E> for Failure {
    fn from(err: E) -> Self {
        Failure::Infrastructure(err.into())
    }
}

pub(crate) async fn run<D, S, C>(
    ctx: Arc<Context<D, S, C>>,
    assignment: Assignment,
    mut stop: watch::Receiver<bool>,
) where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let unit = &assignment.unit;
    let Some(consumer) = ctx.consumers.get(&unit.consumer).cloned() else { return };
    let filter = consumer.filter().partition(unit.partition, unit.partitions);
    let mut frontier = ctx.frontier.subscribe();
    let mut stopping = ctx.stopping.subscribe();
    let (mut idle, mut failures, mut outages) = (ctx.config.poll_interval, 0u32, 0u32);
    let (base, max) =
        (ctx.config.batch_size.max(1), ctx.config.max_batch_size.max(ctx.config.batch_size).max(1));
    let mut size = base;
    tracing::debug!(%unit, epoch = assignment.epoch, "unit started");
    while !*stop.borrow_and_update() && !*stopping.borrow_and_update() {
        let wait = match guarded_batch(&ctx, &consumer, &assignment, &filter, size).await {
            Ok(Outcome::Handled { full }) => {
                size = if full { (size * 2).min(max) } else { base };
                outages = 0;
                idle = ctx.config.poll_interval;
                if failures > 0 {
                    failures = 0;
                    if let Err(err) = ctx.coordinator.clear_failures(unit).await {
                        tracing::warn!(%unit, error = %err, "could not clear the failure count");
                    }
                }
                if full { None } else { Some(idle) }
            }
            Ok(Outcome::Idle) => {
                outages = 0;
                let wait = idle;
                idle = (idle * 2).min(ctx.config.idle_backoff_max);
                Some(wait)
            }
            Ok(Outcome::Paused) => Some(ctx.config.poll_interval),
            Ok(Outcome::Fenced) => {
                tracing::debug!(%unit, epoch = assignment.epoch, "unit moved elsewhere");
                break;
            }
            Err(Failure::Handler { message, position }) => {
                failures += 1;
                let pause_after = ctx.config.retry.pause_after;
                match ctx.coordinator.record_failure(unit, &message, position, pause_after).await {
                    Ok(record) => {
                        metrics::failure(unit, record.paused);
                        if record.paused {
                            tracing::error!(%unit, position, attempts = record.attempts, error = %message, "consumer failed repeatedly; unit paused");
                        } else {
                            tracing::warn!(%unit, position, attempts = record.attempts, error = %message, "consumer failed; retrying");
                        }
                    }
                    Err(err) => {
                        tracing::warn!(%unit, error = %err, "could not record a consumer failure")
                    }
                }
                if !backoff(&ctx, &mut stop, ctx.config.retry.backoff(failures, random())).await {
                    break;
                }
                continue;
            }
            Err(Failure::Infrastructure(err)) => {
                outages += 1;
                tracing::warn!(%unit, error = %err, retryable = err.is_retryable(), "batch failed; retrying");
                if !backoff(&ctx, &mut stop, ctx.config.retry.backoff(outages, random())).await {
                    break;
                }
                continue;
            }
        };
        if let Some(wait) = wait {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = frontier.changed() => {
                    if changed.is_ok() {
                        idle = ctx.config.poll_interval;
                    }
                }
                _ = stop.changed() => {}
                _ = stopping.changed() => {}
            }
        }
    }
    tracing::debug!(%unit, "unit stopped");
}

/// Waits `delay` unless the unit or the worker is told to stop; `false` if it was.
async fn backoff<D: Database, S, C>(
    ctx: &Context<D, S, C>,
    stop: &mut watch::Receiver<bool>,
    delay: Duration,
) -> bool {
    tokio::select! {
        running = ctx.pause(delay) => running,
        _ = stop.changed() => false,
    }
}

/// Runs one batch in a task of its own, so that a panicking handler fails its batch (rolled back
/// as the transaction unwinds) instead of the unit loop. The task is aborted with the loop.
async fn guarded_batch<D, S, C>(
    ctx: &Arc<Context<D, S, C>>,
    consumer: &Arc<dyn Consumer<D>>,
    assignment: &Assignment,
    filter: &EventFilter,
    size: usize,
) -> Result<Outcome, Failure>
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let (ctx, consumer, assignment, filter) =
        (Arc::clone(ctx), Arc::clone(consumer), assignment.clone(), filter.clone());
    let mut slot = JoinSet::new();
    slot.spawn(async move { batch(&ctx, consumer.as_ref(), &assignment, &filter, size).await });
    match slot.join_next().await {
        Some(Ok(outcome)) => outcome,
        Some(Err(err)) if err.is_panic() => {
            let payload = err.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(Failure::Handler {
                message: format!("handler panicked: {message}"),
                position: None,
            })
        }
        _ => Ok(Outcome::Fenced),
    }
}

async fn batch<D, S, C>(
    ctx: &Context<D, S, C>,
    consumer: &dyn Consumer<D>,
    assignment: &Assignment,
    filter: &EventFilter,
    size: usize,
) -> Result<Outcome, Failure>
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let started = Instant::now();
    let (unit, epoch, node) = (&assignment.unit, assignment.epoch, ctx.node.node_id.as_str());
    let mut tx = ctx.db.begin().await?;
    let (checkpoint, upto, skip) =
        match ctx.coordinator.begin_batch(&mut tx, unit, node, epoch).await? {
            Claim::Ready { checkpoint, upto, skip } => (checkpoint, upto, skip),
            Claim::Paused => return finish(ctx, tx, Outcome::Paused).await,
            Claim::Fenced => return finish(ctx, tx, Outcome::Fenced).await,
        };
    // The follower's latest frontier: any frontier once persisted stays safe, and this batch's
    // snapshot is later than the one that proved it, so no round trip is needed to re-read it.
    let frontier = *ctx.frontier.borrow();
    let limit = upto.map_or(frontier, |upto| upto.min(frontier));
    if checkpoint >= limit {
        return finish(ctx, tx, Outcome::Idle).await;
    }
    let events = ctx.store.read_events_until(&mut tx, checkpoint, limit, filter, size).await?;
    let full = events.len() >= size;
    let next = if full { events.last().map_or(limit, |e| e.global_position) } else { limit };
    let handled: Vec<PersistedEvent> =
        events.into_iter().filter(|e| Some(e.global_position) != skip).collect();
    if !handled.is_empty() {
        let span = tracing::info_span!("pupsourcing.batch", %unit, events = handled.len(), from = checkpoint, to = next);
        if let Err(err) = consumer.handle_batch(&mut tx, &handled).instrument(span).await {
            let position = err.position().or_else(|| handled.first().map(|e| e.global_position));
            ctx.db.rollback(tx).await?;
            return Err(Failure::Handler { message: error_chain(&err), position });
        }
    }
    if !ctx.coordinator.commit_batch(&mut tx, unit, node, epoch, next).await? {
        return finish(ctx, tx, Outcome::Fenced).await;
    }
    ctx.db.commit(tx).await?;
    metrics::batch(
        unit,
        handled.len(),
        started.elapsed(),
        ctx.frontier.borrow().saturating_sub(next),
    );
    Ok(Outcome::Handled { full })
}

async fn finish<D: Database, S, C>(
    ctx: &Context<D, S, C>,
    tx: D::Tx,
    outcome: Outcome,
) -> Result<Outcome, Failure> {
    ctx.db.rollback(tx).await?;
    Ok(outcome)
}

#[cfg(test)]
mod tests;
