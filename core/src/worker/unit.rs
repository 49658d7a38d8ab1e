//! The loop that runs one assigned unit, batch after batch.
//!
//! A batch is one transaction: claim the unit (checkpoint locked, ownership and pause checked),
//! read the matching events in `(checkpoint, frontier]` in SQL, hand them to the consumer with
//! the same transaction, move the checkpoint (to the last event when the batch was full, else
//! to the frontier) and clear the unit's failure record, check ownership again so that a deposed
//! owner cannot commit, commit. The frontier is the one the node's follower task last advanced
//! to. An event an operator chose to skip is never read: the batch stops right before it and
//! moves the checkpoint past it.
//!
//! When a batch fails, the events before the failing one are committed at once in a batch capped
//! right before it, so the unit stops exactly there; if the handler could not say which event
//! failed, the rest of the failed batch is retried one event at a time until it is found (and
//! such an unplaced failure never pauses the unit by itself). Every failure is recorded in the
//! unit's status; the [`PauseRule`](crate::PauseRule) decides, in the database, when a
//! non-transient one pauses the unit.
//!
//! While a unit catches up, each full batch starts reading its successor before it hands its
//! events to the consumer ([`ahead`]), so that the commit and the next read overlap.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::spi::Coordinator;
use crate::worker::context::{Context, random};
use crate::worker::coordinator::{Assignment, Claim, FailureReport, UnitId};
use crate::worker::failure::Failure;
use crate::worker::metrics;
use crate::{Consumer, Database, EventFilter, EventStore, LogQuery, WorkerError};

mod ahead;

use ahead::ReadAhead;

enum Outcome {
    /// The batch committed; the checkpoint is now `checkpoint`.
    Handled {
        full: bool,
        checkpoint: u64,
        /// The next batch's read, when this one was full and asked for it.
        ahead: Option<ReadAhead>,
    },
    Idle,
    Paused,
    Fenced,
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
    let (mut idle, mut failures) = (ctx.config.poll_interval, 0u32);
    let (base, max) =
        (ctx.config.batch_size.max(1), ctx.config.max_batch_size.max(ctx.config.batch_size).max(1));
    let mut size = base;
    // After a handler failure that did not name its event, batches of one event up to the end
    // of the failed batch find it, so the unit stops right before it.
    let mut isolating: Option<Isolation> = None;
    let mut prefetched: Option<ReadAhead> = None;
    tracing::debug!(%unit, epoch = assignment.epoch, "unit started");
    while !*stop.borrow_and_update() && !*stopping.borrow_and_update() {
        let grown = size.saturating_mul(2).min(max);
        let plan = Plan {
            size: if isolating.is_some() { 1 } else { size },
            cap: None,
            prefetched: prefetched.take(),
            read_ahead: (ctx.config.read_ahead && isolating.is_none()).then_some(grown),
        };
        let outcome = guarded_batch(&ctx, &consumer, &assignment, &filter, plan).await;
        let wait = match outcome {
            Ok(Outcome::Handled { full, checkpoint, ahead }) => {
                // The commit cleared the unit's failure record in the same transaction.
                failures = 0;
                prefetched = ahead;
                size = if full { grown } else { base };
                idle = ctx.config.poll_interval;
                if isolating.is_some_and(|isolation| isolation.is_over(checkpoint)) {
                    isolating = None;
                }
                if full || isolating.is_some() { None } else { Some(idle) }
            }
            Ok(Outcome::Idle) => {
                // Nothing to read: whatever failed before (a lost connection, say) is gone.
                if failures > 0 {
                    match ctx.coordinator.clear_failures(unit).await {
                        Ok(()) => failures = 0,
                        Err(err) => {
                            tracing::warn!(%unit, error = %err, "could not clear the failure record");
                        }
                    }
                }
                let wait = idle;
                idle = idle.saturating_mul(2).min(ctx.config.idle_backoff_max);
                Some(wait)
            }
            Ok(Outcome::Paused) => Some(ctx.config.poll_interval),
            Ok(Outcome::Fenced) => {
                tracing::debug!(%unit, epoch = assignment.epoch, "unit moved elsewhere");
                break;
            }
            Err(failure) => {
                failures = failures.saturating_add(1);
                keep_what_precedes(&ctx, &consumer, &assignment, &filter, size, &failure).await;
                if let Some(until) = failure.isolate_until {
                    isolating = Some(Isolation { from: failure.checkpoint, until });
                }
                record(&ctx, unit, &failure).await;
                if !backoff(&ctx, &mut stop, ctx.config.retry.backoff(failures, random())).await {
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

/// Batches of one event after an unplaced handler failure, from the failed batch's checkpoint
/// to its last event.
#[derive(Debug, Clone, Copy)]
struct Isolation {
    from: u64,
    until: u64,
}

impl Isolation {
    /// Whether a batch that moved the checkpoint to `checkpoint` ended the search: it passed the
    /// failed batch, or the checkpoint was moved back behind it (a rewind or rebuild).
    fn is_over(self, checkpoint: u64) -> bool {
        checkpoint >= self.until || checkpoint <= self.from
    }
}

/// Commits the events that precede the failing one, in a batch that stops right before it, so
/// that a poison event does not hold back the good events read with it. Exactly-once holds: it
/// is an ordinary batch, fenced and checkpointed like any other.
async fn keep_what_precedes<D, S, C>(
    ctx: &Arc<Context<D, S, C>>,
    consumer: &Arc<dyn Consumer<D>>,
    assignment: &Assignment,
    filter: &EventFilter,
    size: usize,
    failure: &Failure,
) where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let Some(before) = failure.position.and_then(|p| p.checked_sub(1)) else { return };
    if before <= failure.checkpoint {
        return;
    }
    let plan = Plan { size, cap: Some(before), prefetched: None, read_ahead: None };
    match guarded_batch(ctx, consumer, assignment, filter, plan).await {
        Ok(Outcome::Handled { checkpoint, .. }) => {
            tracing::debug!(unit = %assignment.unit, checkpoint, "committed the events before the failing one");
        }
        Ok(_) => {}
        Err(err) => {
            tracing::warn!(unit = %assignment.unit, error = %err.message, "could not commit the events before the failing one");
        }
    }
}

/// Records a failure in the unit's status (pausing it when the rule says so) and logs it.
async fn record<D, S, C>(ctx: &Context<D, S, C>, unit: &UnitId, failure: &Failure)
where
    D: Database,
    C: Coordinator<D>,
{
    // An unplaced failure names the first event of its batch only provisionally: it must not
    // pause the unit there, or skipping it would drop an event that may be fine.
    let pausable = !failure.transient && failure.isolate_until.is_none();
    let report = FailureReport {
        error: failure.message.clone(),
        position: failure.position,
        pause: pausable.then_some(ctx.config.retry.pause),
    };
    let position = failure.position;
    let error = failure.message.as_str();
    match ctx.coordinator.record_failure(unit, &report).await {
        Ok(record) => {
            metrics::failure(unit, record.paused);
            let attempts = record.attempts;
            if record.paused {
                tracing::error!(%unit, position, attempts, error, "batch failed repeatedly; unit paused");
            } else if failure.transient {
                tracing::warn!(%unit, position, attempts, error, "batch failed (transient); retrying");
            } else {
                tracing::error!(%unit, position, attempts, error, "batch failed; retrying");
            }
        }
        Err(err) => {
            tracing::warn!(%unit, position, error, record_error = %err, "batch failed, and the failure could not be recorded; retrying");
        }
    }
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

/// What one batch reads.
struct Plan {
    /// At most this many events.
    size: usize,
    /// Nothing beyond this position (the events before a failing one).
    cap: Option<u64>,
    /// The read an earlier batch started for this one; used once the claim confirms it.
    prefetched: Option<ReadAhead>,
    /// If the batch is full: start reading the next one, this many events.
    read_ahead: Option<usize>,
}

/// Runs one batch in a task of its own, so that a panicking handler fails its batch (rolled back
/// as the transaction unwinds) instead of the unit loop. The task is aborted with the loop.
async fn guarded_batch<D, S, C>(
    ctx: &Arc<Context<D, S, C>>,
    consumer: &Arc<dyn Consumer<D>>,
    assignment: &Assignment,
    filter: &EventFilter,
    plan: Plan,
) -> Result<Outcome, Failure>
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let (ctx, consumer, assignment, filter) =
        (Arc::clone(ctx), Arc::clone(consumer), assignment.clone(), filter.clone());
    let in_flight = InFlight::default();
    let handling = in_flight.clone();
    let mut slot = JoinSet::new();
    slot.spawn(async move {
        batch(&ctx, consumer.as_ref(), &assignment, &filter, plan, &handling).await
    });
    match slot.join_next().await {
        Some(Ok(outcome)) => outcome,
        Some(Err(err)) if err.is_panic() => {
            let payload = err.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            let (checkpoint, range) = in_flight.get();
            Err(Failure::panicked(&message, checkpoint, range))
        }
        _ => Ok(Outcome::Fenced),
    }
}

/// One batch: events in `(checkpoint, frontier]`, not beyond the drain limit or the plan's cap,
/// at most the plan's size of them.
async fn batch<D, S, C>(
    ctx: &Arc<Context<D, S, C>>,
    consumer: &dyn Consumer<D>,
    assignment: &Assignment,
    filter: &EventFilter,
    plan: Plan,
    in_flight: &InFlight,
) -> Result<Outcome, Failure>
where
    D: Database,
    S: EventStore<D>,
    C: Coordinator<D>,
{
    let started = Instant::now();
    let (unit, epoch, node) = (&assignment.unit, assignment.epoch, ctx.node.node_id.as_str());
    let Plan { size, cap, prefetched, read_ahead } = plan;
    // Awaited before this batch takes a connection, so that it never waits for a read that
    // waits for a connection.
    let prefetched = match prefetched {
        Some(ahead) => ahead.finish().await,
        None => None,
    };
    let mut tx = ctx.db.begin().await.map_err(around::<D, _>(0))?;
    let claim = ctx.coordinator.begin_batch(&mut tx, unit, node, epoch).await;
    let (checkpoint, upto, skip) = match claim.map_err(around::<D, _>(0))? {
        Claim::Ready { checkpoint, upto, skip } => (checkpoint, upto, skip),
        Claim::Paused => return finish(ctx, tx, Outcome::Paused).await,
        Claim::Fenced => return finish(ctx, tx, Outcome::Fenced).await,
    };
    // The follower's latest frontier: any frontier once persisted stays safe, and this batch's
    // snapshot is later than the one that proved it, so no round trip is needed to re-read it.
    let frontier = *ctx.frontier.borrow();
    let bound = [Some(frontier), upto, cap].into_iter().flatten().min().unwrap_or(frontier);
    // A skipped event is never read, so that one that cannot even be decoded can be skipped:
    // read up to just before it, then move the checkpoint past it.
    let (read_to, pass_to) = match skip {
        Some(skip) if skip > checkpoint && skip <= bound => (skip - 1, skip),
        _ => (bound, bound),
    };
    if checkpoint >= pass_to {
        return finish(ctx, tx, Outcome::Idle).await;
    }
    let served = prefetched.and_then(|p| p.serves(checkpoint, read_to, size));
    let events = if let Some(events) = served {
        events
    } else if read_to > checkpoint {
        let query = LogQuery::up_to(read_to).after(checkpoint).filter(filter.clone()).limit(size);
        let read = ctx.store.read_events_until(&mut tx, &query).await;
        match read {
            Ok(events) => events,
            Err(err) => {
                let failure = around::<D, _>(checkpoint)(err);
                ctx.db.rollback(tx).await.map_err(around::<D, _>(checkpoint))?;
                return Err(failure);
            }
        }
    } else {
        Vec::new()
    };
    let full = events.len() >= size;
    let next = if full { events.last().map_or(pass_to, |e| e.global_position) } else { pass_to };
    let ahead = match read_ahead {
        Some(next_size) if full && next < read_to => {
            Some(ReadAhead::start(ctx, filter, next, read_to, next_size))
        }
        _ => None,
    };
    if let Some((first, last)) = events.first().zip(events.last()) {
        in_flight.set(checkpoint, (first.global_position, last.global_position));
        let span = tracing::info_span!("pupsourcing.batch", %unit, events = events.len(), from = checkpoint, to = next);
        if let Err(err) = consumer.handle_batch(&mut tx, &events).instrument(span).await {
            ctx.db.rollback(tx).await.map_err(around::<D, _>(checkpoint))?;
            return Err(Failure::in_handler::<D>(&err, checkpoint, &events));
        }
    }
    let committed = ctx.coordinator.commit_batch(&mut tx, unit, node, epoch, next).await;
    if !committed.map_err(around::<D, _>(checkpoint))? {
        return finish(ctx, tx, Outcome::Fenced).await;
    }
    ctx.db.commit(tx).await.map_err(around::<D, _>(checkpoint))?;
    metrics::batch(
        unit,
        events.len(),
        started.elapsed(),
        ctx.frontier.borrow().saturating_sub(next),
    );
    Ok(Outcome::Handled { full, checkpoint: next, ahead })
}

/// The batch a handler is working on, so that a panic can be placed like any other failure.
#[derive(Clone, Default)]
struct InFlight(Arc<Mutex<Handling>>);

/// The checkpoint a batch started from and the first and last positions it handles.
#[derive(Clone, Copy, Default)]
struct Handling {
    checkpoint: u64,
    range: Option<(u64, u64)>,
}

impl InFlight {
    fn set(&self, checkpoint: u64, range: (u64, u64)) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
            Handling { checkpoint, range: Some(range) };
    }

    fn get(&self) -> (u64, Option<(u64, u64)>) {
        let handling = *self.0.lock().unwrap_or_else(PoisonError::into_inner);
        (handling.checkpoint, handling.range)
    }
}

/// Turns an error around the handler into a [`Failure`] of a batch that started at `checkpoint`.
fn around<D: Database, E: Into<WorkerError>>(checkpoint: u64) -> impl FnOnce(E) -> Failure {
    move |err| Failure::around::<D>(&err.into(), checkpoint)
}

async fn finish<D: Database, S, C>(
    ctx: &Context<D, S, C>,
    tx: D::Tx,
    outcome: Outcome,
) -> Result<Outcome, Failure> {
    ctx.db.rollback(tx).await.map_err(around::<D, _>(0))?;
    Ok(outcome)
}

#[cfg(test)]
mod tests;
