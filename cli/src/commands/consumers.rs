//! Steering consumers: `pause`, `resume`, `skip`, `rewind`, `rebuild`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use pupsourcing::spi::Coordinator;
use pupsourcing::{Admin, Backend, ConsumerStatus, Database, EventStore, PersistedEvent};
use serde_json::json;

use crate::args::{Follow, Format, RebuildArgs, RewindArgs, SkipArgs, Target};
use crate::error::{CliError, Kind, Result};
use crate::output::{print, print_json, short, stream};
use crate::progress;
use crate::reset::ResetSql;
use crate::stop::Stop;

/// The event at `position`, if it is stored.
pub(crate) async fn event_at<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    position: u64,
) -> Result<Option<PersistedEvent>>
where
    D: Database,
    S: EventStore<D>,
{
    let db = backend.database();
    let mut tx = db.begin_read().await?;
    let events = backend.store().read_events(&mut tx, position.saturating_sub(1), 1).await;
    db.rollback(tx).await?;
    Ok(events?.into_iter().find(|event| event.global_position == position))
}

/// One line naming an event: position, type, stream and version.
pub(crate) fn describe(position: u64, event: Option<&PersistedEvent>) -> String {
    match event {
        Some(event) => format!(
            "event #{position} ({} on {} v{})",
            event.event.event_type,
            stream(event),
            event.aggregate_version
        ),
        None => format!("event #{position} (no longer readable)"),
    }
}

/// Fails with "not found" when no unit of `consumer` exists.
async fn units_of<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    consumer: &str,
) -> Result<Vec<ConsumerStatus>>
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let units: Vec<ConsumerStatus> = Admin::new(backend)
        .status()
        .await?
        .into_iter()
        .filter(|unit| unit.unit.unit.consumer == consumer)
        .collect();
    if units.is_empty() {
        return Err(pupsourcing::WorkerError::UnknownConsumer(consumer.to_owned()).into());
    }
    Ok(units)
}

pub(crate) async fn pause<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    target: &Target,
    paused: bool,
    format: Format,
) -> Result<()>
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let units = units_of(backend, &target.consumer).await?;
    if let Some(partition) = target.partition
        && !units.iter().any(|unit| unit.unit.unit.partition == partition)
    {
        let partitions = units.first().map_or(0, |unit| unit.unit.unit.partitions);
        return Err(CliError::new(
            Kind::NotFound,
            format!("consumer {:?} has no partition {partition}", target.consumer),
        )
        .hint(format!("its partitions are 0 to {}", partitions.saturating_sub(1))));
    }
    let admin = Admin::new(backend);
    let changed = if paused {
        admin.pause(&target.consumer, target.partition).await?
    } else {
        admin.resume(&target.consumer, target.partition).await?
    };
    let verb = if paused { "paused" } else { "resumed" };
    match format {
        Format::Json => print_json(&json!({ "consumer": target.consumer, verb: changed })),
        Format::Text => print(&format!(
            "{verb} {changed} unit(s) of {}; running workers notice at their next batch\n",
            target.consumer
        )),
    }
    Ok(())
}

/// Asks `question` on the terminal; anything but yes is no. Without a terminal nobody can
/// answer, so the caller must have passed `--yes`.
pub(crate) fn confirm(question: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            Kind::Refused,
            format!("not confirmed (no terminal to ask on): {question}"),
        )
        .hint("pass --yes to confirm from a script"));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::new(Kind::Refused, "not confirmed; nothing changed"))
    }
}

pub(crate) async fn skip<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    args: &SkipArgs,
    format: Format,
) -> Result<()>
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let target = &args.target;
    let stuck: Vec<(ConsumerStatus, u64)> = units_of(backend, &target.consumer)
        .await?
        .into_iter()
        .filter(|unit| target.partition.is_none_or(|p| unit.unit.unit.partition == p))
        .filter(|unit| unit.unit.paused)
        .filter_map(|unit| unit.unit.failed_position.map(|position| (unit, position)))
        .collect();
    if stuck.is_empty() {
        return Err(CliError::new(
            Kind::NotFound,
            format!("no paused unit of {:?} is stuck on an event", target.consumer),
        )
        .hint("only paused units with a failing event can skip; see `pupsourcing dead-letters`"));
    }
    for (unit, position) in &stuck {
        let event = event_at(backend, *position).await?;
        eprintln!(
            "{} partition {}/{} is stuck on {}: {}",
            target.consumer,
            unit.unit.unit.partition,
            unit.unit.unit.partitions,
            describe(*position, event.as_ref()),
            short(unit.unit.last_error.as_deref().unwrap_or("no error recorded"), 200)
        );
    }
    if !args.yes {
        confirm("Skip it (the consumer never handles it) and resume?")?;
    }
    let skipped = Admin::new(backend).skip_failed_event(&target.consumer, target.partition).await?;
    if skipped.is_empty() {
        return Err(CliError::new(Kind::NotFound, "nothing skipped: no unit is stuck any more")
            .hint("another operator may have skipped or resumed it; see `pupsourcing status`"));
    }
    let mut shown: Vec<u64> = stuck.iter().map(|(_, position)| *position).collect();
    let mut done = skipped.clone();
    shown.sort_unstable();
    done.sort_unstable();
    if shown != done {
        eprintln!(
            "note: the units moved on meanwhile; what was skipped differs from what was shown"
        );
    }
    match format {
        Format::Json => print_json(&json!({ "consumer": target.consumer, "skipped": skipped })),
        Format::Text => print(&format!(
            "skipped {} of {}; its units resume at the next batch\n",
            skipped.iter().map(|p| format!("#{p}")).collect::<Vec<_>>().join(", "),
            target.consumer
        )),
    }
    Ok(())
}

pub(crate) async fn rewind<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    args: &RewindArgs,
    format: Format,
) -> Result<()>
where
    D: ResetSql,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let request = Move { consumer: &args.consumer, position: args.to, reset_sql: None };
    move_checkpoints(backend, &request, &args.follow, args.yes, format, "rewind").await
}

pub(crate) async fn rebuild<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    args: &RebuildArgs,
    format: Format,
) -> Result<()>
where
    D: ResetSql,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let reset_sql = args.reset_sql.as_deref();
    let request = Move { consumer: &args.consumer, position: 0, reset_sql };
    move_checkpoints(backend, &request, &args.follow, false, format, "rebuild").await
}

/// Where to move a consumer's checkpoints, and the SQL that clears its read model on the way.
struct Move<'a> {
    consumer: &'a str,
    position: u64,
    reset_sql: Option<&'a str>,
}

/// Moves the checkpoints as `request` says and, unless detached, follows the consumer to the
/// end of the log as it was then. Refuses, before changing anything, a position past the end
/// of the log, a forward move that is not confirmed, and following a paused consumer (it would
/// never get there).
async fn move_checkpoints<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    request: &Move<'_>,
    follow: &Follow,
    yes: bool,
    format: Format,
    verb: &str,
) -> Result<()>
where
    D: ResetSql,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let (consumer, position) = (request.consumer, request.position);
    let units = units_of(backend, consumer).await?;
    let db = backend.database();
    let mut tx = db.begin_read().await?;
    let latest = backend.store().latest_position(&mut tx).await;
    db.rollback(tx).await?;
    let latest = latest?;
    if position > latest {
        return Err(CliError::new(
            Kind::Refused,
            format!("position {position} is past the end of the log ({latest})"),
        ));
    }
    let lowest = units.iter().map(|unit| unit.unit.checkpoint).min().unwrap_or_default();
    if position > lowest && !yes {
        confirm(&format!(
            "Move {consumer} forward to {position}? It never handles the events from {} on \
             that it has not handled yet.",
            lowest + 1
        ))?;
    }
    if !follow.detach && units.iter().any(|unit| unit.unit.paused) {
        return Err(CliError::new(
            Kind::Refused,
            format!("{consumer} is paused: it would never catch up; nothing changed"),
        )
        .hint(format!(
            "`pupsourcing resume {consumer}` first, or pass --detach to move the checkpoints now \
             and resume later"
        )));
    }
    match request.reset_sql {
        None => Admin::new(backend).rewind(consumer, position).await?,
        Some(sql) => reset_and_rewind(backend, consumer, position, sql).await?,
    }
    if follow.detach || latest <= position {
        match format {
            Format::Json => print_json(&json!({
                "consumer": consumer, "checkpoint": position, "target": latest,
            })),
            Format::Text => print(&format!(
                "moved the checkpoints of {consumer} to {position}; the workers replay from there\n"
            )),
        }
        return Ok(());
    }
    let started = Instant::now();
    let reached = follow_to(backend, consumer, position, latest, follow, verb).await?;
    match format {
        Format::Json => print_json(&json!({
            "consumer": consumer,
            "checkpoint": reached,
            "target": latest,
            "seconds": started.elapsed().as_secs_f64(),
        })),
        Format::Text => print(&format!(
            "{consumer} caught up: checkpoint {reached} ({} positions in {:.1}s)\n",
            latest - position,
            started.elapsed().as_secs_f64()
        )),
    }
    Ok(())
}

/// Runs `sql` and moves the checkpoints of `consumer` to `position` in one transaction: both
/// happen, or neither.
async fn reset_and_rewind<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    consumer: &str,
    position: u64,
    sql: &str,
) -> Result<()>
where
    D: ResetSql,
    C: Coordinator<D>,
{
    let db = backend.database();
    let mut tx = db.begin().await?;
    if let Err(err) = backend.coordinator().reset_checkpoints(&mut tx, consumer, position).await {
        db.rollback(tx).await?;
        return Err(err.into());
    }
    if let Err(err) = D::run_sql(&mut tx, sql).await {
        db.rollback(tx).await?;
        return Err(CliError::new(Kind::Failed, format!("the reset SQL failed: {err}"))
            .hint("nothing changed: the checkpoints and the read model are as they were"));
    }
    db.commit(tx).await?;
    Ok(())
}

/// Waits until every unit of `consumer` is at `target`, drawing a progress bar on a terminal
/// and a line a second elsewhere. Returns the lowest checkpoint when done.
async fn follow_to<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    consumer: &str,
    from: u64,
    target: u64,
    follow: &Follow,
    verb: &str,
) -> Result<u64>
where
    D: Database,
    S: EventStore<D> + Clone,
    C: Coordinator<D> + Clone,
{
    let admin = Admin::new(backend);
    let terminal = progress::on_terminal();
    let bar = progress::bar(
        Some(target - from),
        "{msg} [{bar:30}] {pos}/{len} positions, {rate}, ETA {eta}",
    )?;
    bar.set_message(format!("{verb} {consumer}"));
    let deadline = follow.timeout.map(|secs| Instant::now() + Duration::from_secs_f64(secs));
    let mut last_line = Instant::now();
    let mut stop = Stop::new();
    loop {
        let units: Vec<ConsumerStatus> = admin
            .status()
            .await?
            .into_iter()
            .filter(|unit| unit.unit.unit.consumer == consumer)
            .filter(|unit| unit.unit.upto.is_none_or(|upto| upto >= target))
            .collect();
        let lowest = units.iter().map(|unit| unit.unit.checkpoint).min().unwrap_or(from);
        bar.set_position(lowest.saturating_sub(from).min(target - from));
        if !units.is_empty() && lowest >= target {
            bar.finish_and_clear();
            return Ok(lowest);
        }
        if let Some(stuck) =
            units.iter().find(|unit| unit.unit.paused && unit.unit.checkpoint < target)
        {
            bar.abandon();
            let why = stuck.unit.last_error.as_deref().unwrap_or("paused by an operator");
            return Err(CliError::new(
                Kind::Failed,
                format!(
                    "{consumer} paused at checkpoint {}: {}",
                    stuck.unit.checkpoint,
                    short(why, 200)
                ),
            )
            .hint("see `pupsourcing dead-letters`; the new checkpoint stays in place"));
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            bar.abandon();
            return Err(CliError::new(
                Kind::Failed,
                format!("gave up following {consumer} at checkpoint {lowest} of {target}"),
            )
            .hint("the workers carry on; `pupsourcing status` shows how far they are"));
        }
        if !terminal && last_line.elapsed() >= Duration::from_secs(1) {
            eprintln!(
                "{verb} {consumer}: {}/{} positions",
                lowest - from.min(lowest),
                target - from
            );
            last_line = Instant::now();
        }
        if stop.wait(Duration::from_millis(100)).await {
            bar.abandon();
            return Err(CliError::new(
                Kind::Failed,
                format!(
                    "stopped following at checkpoint {lowest} of {target}; the workers carry on"
                ),
            ));
        }
    }
}
