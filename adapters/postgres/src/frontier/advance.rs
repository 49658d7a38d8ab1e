//! One frontier advance: lock, read one snapshot, walk, write back, report.

use std::time::{Duration, Instant};

use pupsourcing::{BackendError, BackendErrorKind, FrontierStatus, OpenHole, StoreError};
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::OldestWriter;
use crate::PgTx;
use crate::convert::{from_bigint, row_limit, to_bigint};
use crate::error::Context;
use crate::store::Inner;
use pupsourcing::spi::frontier::{Horizon, KnownHole, Resolution, Walk, walk};

const OPERATION: &str = "advance_frontier";

/// Advances round by round while the frontier moves through full windows, then reports.
pub(crate) async fn advance(store: &Inner) -> Result<FrontierStatus, StoreError> {
    loop {
        let (status, again) = round(store).await?;
        if !again {
            return Ok(status);
        }
    }
}

/// What one read showed.
struct View {
    frontier: u64,
    snapshot: Horizon,
    latest: u64,
    visible: Vec<u64>,
    known: Vec<KnownHole>,
}

async fn round(store: &Inner) -> Result<(FrontierStatus, bool), StoreError> {
    let mut tx = store.db.pool().begin().await.during(OPERATION)?;
    let locked: bool = sqlx::query_scalar(store.sql.frontier_lock.clone())
        .bind(store.config.tables().lock_key("frontier"))
        .fetch_one(&mut *tx)
        .await
        .during(OPERATION)?;
    if !locked {
        // Another process is advancing right now; its result is as good as ours.
        let status = status(store, &mut tx).await?;
        tx.rollback().await.during(OPERATION)?;
        return Ok((status, false));
    }

    let config = store.config.frontier();
    let window = config.window();
    let row = sqlx::query(store.sql.frontier_read.clone())
        .bind(row_limit(window))
        .fetch_optional(&mut *tx)
        .await
        .during(OPERATION)?
        .ok_or_else(missing_frontier_row)?;
    let view = decode_view(&row)?;
    let walk =
        walk(view.frontier, &view.visible, &view.known, view.snapshot, config.force_skip_after());
    if walk.changes_state(view.frontier) {
        write(store, &mut tx, &walk).await?;
    }
    tx.commit().await.during(OPERATION)?;

    report(store, &view, &walk).await;
    let moved = walk.frontier > view.frontier;
    let status = FrontierStatus {
        safe_position: walk.frontier.max(view.frontier),
        latest_position: view.latest,
        open_holes: walk.open,
        forced: walk.forced,
    };
    Ok((status, moved && view.visible.len() >= window))
}

fn missing_frontier_row() -> StoreError {
    BackendError::new(
        BackendErrorKind::Schema,
        OPERATION,
        "the frontier table has no row: run migrate()",
    )
    .into()
}

fn decode_view(row: &PgRow) -> Result<View, StoreError> {
    let positions = |index: usize| -> Result<Vec<u64>, StoreError> {
        let values: Vec<i64> = row.try_get(index).during(OPERATION)?;
        Ok(values.into_iter().map(|v| from_bigint(OPERATION, v)).collect::<Result<_, _>>()?)
    };
    let starts = positions(3)?;
    let ends = positions(4)?;
    let xids = positions(5)?;
    let ages: Vec<f64> = row.try_get(6).during(OPERATION)?;
    let resolutions: Vec<String> = row.try_get(7).during(OPERATION)?;
    let known = starts
        .into_iter()
        .zip(ends)
        .zip(xids)
        .zip(ages)
        .zip(resolutions)
        .map(|((((start, end), first_seen_xid), age), resolution)| KnownHole {
            start,
            end,
            first_seen_xid,
            age: Duration::try_from_secs_f64(age).unwrap_or_default(),
            resolution: Resolution::parse(&resolution),
        })
        .collect();
    Ok(View {
        frontier: from_bigint(OPERATION, row.try_get(0).during(OPERATION)?)?,
        snapshot: Horizon { xmin: from_bigint(OPERATION, row.try_get(1).during(OPERATION)?)? },
        latest: from_bigint(OPERATION, row.try_get(2).during(OPERATION)?)?,
        visible: positions(8)?,
        known,
    })
}

async fn write(store: &Inner, tx: &mut PgTx, walk: &Walk) -> Result<(), StoreError> {
    let retention = store.config.frontier().hole_retention().as_secs_f64();
    // New runs are judged later against an id taken now, after this advance's snapshot: it is
    // above the id of every transaction that had drawn a position when the snapshot was taken.
    // The snapshot's own `xmax` is not: it is one past the latest *completed* id, and a running
    // writer may hold a higher one. Taken only when there is a new run to record.
    let first_seen_xid: Option<i64> = if walk.new_holes.is_empty() {
        None
    } else {
        let xid: i64 = sqlx::query_scalar(store.sql.frontier_own_xid.clone())
            .fetch_one(&mut **tx)
            .await
            .during(OPERATION)?;
        Some(xid)
    };
    let label = |r: Resolution| r.as_str().to_owned();
    let new_starts = walk
        .new_holes
        .iter()
        .map(|h| to_bigint("position", h.start))
        .collect::<Result<Vec<_>, _>>()?;
    let new_ends = walk
        .new_holes
        .iter()
        .map(|h| to_bigint("position", h.end))
        .collect::<Result<Vec<_>, _>>()?;
    let resolved_starts = walk
        .resolved
        .iter()
        .map(|(s, _)| to_bigint("position", *s))
        .collect::<Result<Vec<_>, _>>()?;
    let resolved_labels: Vec<String> = walk.resolved.iter().map(|(_, r)| label(*r)).collect();
    sqlx::query(store.sql.frontier_write.clone())
        .bind(to_bigint("frontier", walk.frontier)?)
        .bind(new_starts)
        .bind(new_ends)
        .bind(first_seen_xid)
        .bind(resolved_starts)
        .bind(resolved_labels)
        .bind(retention)
        .execute(&mut **tx)
        .await
        .during(OPERATION)?;
    Ok(())
}

/// The frontier as persisted, for a caller that found another advance in progress.
async fn status(store: &Inner, tx: &mut PgTx) -> Result<FrontierStatus, StoreError> {
    let row = sqlx::query(store.sql.frontier_status.clone())
        .fetch_optional(&mut **tx)
        .await
        .during(OPERATION)?
        .ok_or_else(missing_frontier_row)?;
    let starts: Vec<i64> = row.try_get(2).during(OPERATION)?;
    let ends: Vec<i64> = row.try_get(3).during(OPERATION)?;
    let ages: Vec<f64> = row.try_get(4).during(OPERATION)?;
    let open_holes = starts
        .into_iter()
        .zip(ends)
        .zip(ages)
        .map(|((start, end), age)| {
            Ok(OpenHole {
                start: from_bigint(OPERATION, start)?,
                end: from_bigint(OPERATION, end)?,
                age: Duration::try_from_secs_f64(age).unwrap_or_default(),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(FrontierStatus {
        safe_position: from_bigint(OPERATION, row.try_get(0).during(OPERATION)?)?,
        latest_position: from_bigint(OPERATION, row.try_get(1).during(OPERATION)?)?,
        open_holes,
        forced: Vec::new(),
    })
}

/// Logs forced skips, and warns (at most once per warning period) when an open hole has held
/// the frontier back too long, naming the oldest transaction that may be behind it.
async fn report(store: &Inner, view: &View, walk: &Walk) {
    if walk.frontier > view.frontier {
        tracing::debug!(
            from = view.frontier,
            to = walk.frontier,
            latest = view.latest,
            "frontier advanced"
        );
    }
    for hole in &walk.forced {
        tracing::warn!(
            start = hole.start,
            end = hole.end,
            age_secs = hole.age.as_secs_f64(),
            "frontier force-skipped a hole without proof that it is dead (force_skip_after is set)"
        );
    }
    let threshold = store.config.frontier().hole_warning_after();
    let Some(blocking) = walk.blocking.as_ref().filter(|h| h.age >= threshold) else {
        return;
    };
    if !store.hole_warnings.may_warn(Instant::now(), threshold) {
        return;
    }
    match oldest_writer(store).await {
        Ok(Some(writer)) => {
            tracing::warn!(
                hole = blocking.start,
                hole_age_secs = blocking.age.as_secs_f64(),
                blocking_pid = writer.pid,
                blocking_transaction_age_secs = writer.age.as_secs_f64(),
                blocking_query = %writer.query,
                "an open hole is holding the event frontier back; consumers wait for the oldest transaction to finish"
            );
        }
        _ => tracing::warn!(
            hole = blocking.start,
            hole_age_secs = blocking.age.as_secs_f64(),
            "an open hole is holding the event frontier back; consumers wait for the transaction that drew it"
        ),
    }
}

/// The oldest transaction holding a transaction id, other than this session's.
pub(crate) async fn oldest_writer(store: &Inner) -> Result<Option<OldestWriter>, BackendError> {
    const OPERATION: &str = "oldest_writer";
    let Some(row) = sqlx::query(store.sql.oldest_transaction.clone())
        .fetch_optional(store.db.pool())
        .await
        .during(OPERATION)?
    else {
        return Ok(None);
    };
    let age: Option<f64> = row.try_get(1).during(OPERATION)?;
    Ok(Some(OldestWriter {
        pid: row.try_get(0).during(OPERATION)?,
        age: Duration::try_from_secs_f64(age.unwrap_or_default()).unwrap_or_default(),
        query: row.try_get::<Option<String>, _>(2).during(OPERATION)?.unwrap_or_default(),
    }))
}
