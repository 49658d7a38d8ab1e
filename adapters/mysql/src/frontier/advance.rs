//! One frontier advance: lock, read, fence if needed, walk, write back, report.

use std::time::Duration;

use pupsourcing::spi::frontier::{Horizon, KnownHole, Resolution, Walk, walk};
use pupsourcing::{BackendError, BackendErrorKind, FrontierStatus, StoreError};
use sqlx::mysql::MySqlConnection;
use sqlx::{AssertSqlSafe, Connection, Row};

use crate::MysqlTx;
use crate::convert::{from_bigint, name, row_limit, to_bigint};
use crate::error::Context;
use crate::store::Inner;

const OPERATION: &str = "advance_frontier";

/// How long InnoDB keeps serving a cached `INNODB_TRX` buffer after the last read, plus margin.
const REFRESH: Duration = Duration::from_millis(110);
/// Reads of the list before an advance gives up on this round (the frontier stays put).
const FRESH_ATTEMPTS: u32 = 30;

/// The safe position as persisted.
pub(crate) async fn safe_frontier(store: &Inner, tx: &mut MysqlTx) -> Result<u64, StoreError> {
    let position: Option<i64> = sqlx::query_scalar(AssertSqlSafe(store.sql.frontier.read.clone()))
        .fetch_optional(&mut **tx)
        .await
        .during("safe_frontier")?;
    Ok(from_bigint("safe_frontier", position.ok_or_else(missing_frontier_row)?)?)
}

/// Advances round by round while the frontier moves through full windows, then reports.
///
/// Runs on the store's own connection, outside the pool: the advance holds session locks
/// (`GET_LOCK`), and if its future is dropped mid-way the connection goes with it (closing it
/// releases them), instead of returning to the pool with the locks still held.
pub(crate) async fn advance(store: &Inner) -> Result<FrontierStatus, StoreError> {
    if store.config.gap_strategy() == crate::GapStrategy::CounterRow {
        return advance_in_order(store).await;
    }
    let mut slot = store.frontier_connection.lock().await;
    let mut conn = match slot.take() {
        Some(conn) => conn,
        None => connect(store).await?,
    };
    let result = advance_on(store, &mut conn).await;
    if !matches!(&result, Err(StoreError::Backend(err)) if err.is_retryable()) {
        *slot = Some(conn);
    }
    result
}

/// With the counter strategy positions commit in order and a rollback returns its positions
/// to the counter, so the committed positions are always a prefix: the frontier is the highest.
async fn advance_in_order(store: &Inner) -> Result<FrontierStatus, StoreError> {
    let sql = &store.sql.frontier;
    let mut tx = store.db.pool().begin().await.during(OPERATION)?;
    sqlx::query(AssertSqlSafe(sql.write_latest.clone()))
        .execute(&mut *tx)
        .await
        .during(OPERATION)?;
    let frontier: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql.read.clone()))
        .fetch_optional(&mut *tx)
        .await
        .during(OPERATION)?;
    tx.commit().await.during(OPERATION)?;
    let safe_position = from_bigint(OPERATION, frontier.ok_or_else(missing_frontier_row)?)?;
    Ok(FrontierStatus {
        safe_position,
        latest_position: safe_position,
        open_holes: Vec::new(),
        forced: Vec::new(),
    })
}

async fn connect(store: &Inner) -> Result<MySqlConnection, StoreError> {
    let options = store.db.pool().connect_options();
    let mut conn = MySqlConnection::connect_with(&options).await.during(OPERATION)?;
    for setting in crate::database::SESSION {
        sqlx::query(setting).execute(&mut conn).await.during(OPERATION)?;
    }
    Ok(conn)
}

async fn advance_on(
    store: &Inner,
    conn: &mut MySqlConnection,
) -> Result<FrontierStatus, StoreError> {
    let lock = store.sql.frontier.lock_name.clone();
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT GET_LOCK(SHA1(CONCAT(DATABASE(), '/', ?)), 0)")
            .bind(&lock)
            .fetch_one(&mut *conn)
            .await
            .during(OPERATION)?;
    if locked != Some(1) {
        // Another process is advancing right now; its result is as good as ours.
        return status(store, conn).await;
    }
    let result = rounds(store, conn).await;
    let released = sqlx::query("SELECT RELEASE_LOCK(SHA1(CONCAT(DATABASE(), '/', ?)))")
        .bind(&lock)
        .execute(&mut *conn)
        .await
        .during(OPERATION);
    let status = result?;
    released?;
    Ok(status)
}

async fn rounds(store: &Inner, conn: &mut MySqlConnection) -> Result<FrontierStatus, StoreError> {
    loop {
        let (status, again) = round(store, conn).await?;
        if !again {
            return Ok(status);
        }
    }
}

fn missing_frontier_row() -> StoreError {
    BackendError::new(
        BackendErrorKind::Schema,
        OPERATION,
        "the frontier table has no row: run migrate()",
    )
    .into()
}

/// The active transactions as one fresh reading of `INNODB_TRX`: this advance's own id and the
/// oldest other id.
struct Fence {
    own: u64,
    horizon: Horizon,
}

async fn round(
    store: &Inner,
    conn: &mut MySqlConnection,
) -> Result<(FrontierStatus, bool), StoreError> {
    let sql = &store.sql.frontier;
    let window = store.config.frontier().window();
    let mut tx = conn.begin().await.during(OPERATION)?;
    let frontier: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql.read.clone()))
        .fetch_optional(&mut *tx)
        .await
        .during(OPERATION)?;
    let frontier = from_bigint(OPERATION, frontier.ok_or_else(missing_frontier_row)?)?;
    let latest: i64 = sqlx::query_scalar(AssertSqlSafe(sql.latest.clone()))
        .fetch_one(&mut *tx)
        .await
        .during(OPERATION)?;
    let latest = from_bigint(OPERATION, latest)?;
    let first = positions(&mut tx, &sql.window, frontier, u64::MAX, window).await?;
    let known = known_holes(&mut tx, &sql.holes, frontier).await?;
    let contiguous =
        first.iter().zip(frontier + 1..).all(|(position, expected)| *position == expected);
    let open_known = known.iter().any(|hole| hole.resolution.is_none());
    let (visible, horizon, own) = if contiguous && !open_known {
        (first.clone(), Horizon { xmin: u64::MAX }, None)
    } else {
        sqlx::query(AssertSqlSafe(sql.touch.clone())).execute(&mut *tx).await.during(OPERATION)?;
        let Some(fence) = fence(&mut tx, &sql.transactions).await? else {
            tx.rollback().await.during(OPERATION)?;
            tracing::warn!(
                "INNODB_TRX was never fresh: is a monitoring agent reading it more than 10 times \
                 a second? The frontier waits; it never skips"
            );
            let status = FrontierStatus {
                safe_position: frontier,
                latest_position: latest,
                open_holes: Vec::new(),
                forced: Vec::new(),
            };
            return Ok((status, false));
        };
        let top = first.last().copied().unwrap_or(frontier);
        let second = positions(&mut tx, &sql.window, frontier, top, window).await?;
        (second, fence.horizon, Some(fence.own))
    };
    let walk =
        walk(frontier, &visible, &known, horizon, store.config.frontier().force_skip_after());
    if walk.changes_state(frontier) {
        write(store, &mut tx, &walk, own).await?;
    }
    tx.commit().await.during(OPERATION)?;
    report(store, frontier, latest, &walk).await;
    let moved = walk.frontier > frontier;
    let status = FrontierStatus {
        safe_position: walk.frontier.max(frontier),
        latest_position: latest,
        open_holes: walk.open,
        forced: walk.forced,
    };
    Ok((status, moved && first.len() >= window))
}

/// Positions in `(after, up_to]`, at most `limit` of them, ascending.
async fn positions(
    tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
    statement: &str,
    after: u64,
    up_to: u64,
    limit: usize,
) -> Result<Vec<u64>, StoreError> {
    let rows: Vec<i64> = sqlx::query_scalar(AssertSqlSafe(statement.to_owned()))
        .bind(to_bigint("position", after)?)
        .bind(i64::try_from(up_to).unwrap_or(i64::MAX))
        .bind(row_limit(limit))
        .fetch_all(&mut **tx)
        .await
        .during(OPERATION)?;
    Ok(rows.into_iter().map(|p| from_bigint(OPERATION, p)).collect::<Result<_, _>>()?)
}

async fn known_holes(
    tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
    statement: &str,
    frontier: u64,
) -> Result<Vec<KnownHole>, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(statement.to_owned()))
        .bind(to_bigint("position", frontier)?)
        .fetch_all(&mut **tx)
        .await
        .during(OPERATION)?;
    rows.iter()
        .map(|row| {
            let micros: i64 = row.try_get(3).during(OPERATION)?;
            let resolution: Option<Vec<u8>> = row.try_get(4).during(OPERATION)?;
            let resolution = resolution.map(|bytes| name(OPERATION, bytes)).transpose()?;
            Ok(KnownHole {
                start: from_bigint(OPERATION, row.try_get(0).during(OPERATION)?)?,
                end: from_bigint(OPERATION, row.try_get(1).during(OPERATION)?)?,
                first_seen_xid: from_bigint(OPERATION, row.try_get(2).during(OPERATION)?)?,
                age: Duration::from_micros(u64::try_from(micros).unwrap_or(0)),
                resolution: resolution.as_deref().and_then(Resolution::parse),
            })
        })
        .collect()
}

/// The server-wide lock that takes turns reading `INNODB_TRX`: the buffer is refreshed only
/// after 0.1 s without readers, so the advancers of several stores on one server would otherwise
/// keep it stale for each other.
const LIST_LOCK: &str = "pupsourcing_innodb_trx";

/// Waits for a fresh `INNODB_TRX` and reads the fence from it; `None` if it never was fresh.
async fn fence(
    tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
    statement: &str,
) -> Result<Option<Fence>, StoreError> {
    let turn: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, 30)")
        .bind(LIST_LOCK)
        .fetch_one(&mut **tx)
        .await
        .during(OPERATION)?;
    if turn != Some(1) {
        return Ok(None);
    }
    let fence = read_fresh(tx, statement).await;
    sqlx::query("SELECT RELEASE_LOCK(?)")
        .bind(LIST_LOCK)
        .execute(&mut **tx)
        .await
        .during(OPERATION)?;
    fence
}

async fn read_fresh(
    tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
    statement: &str,
) -> Result<Option<Fence>, StoreError> {
    for _ in 0..FRESH_ATTEMPTS {
        tokio::time::sleep(REFRESH).await;
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let text = statement.replace("{nonce}", &nonce);
        let rows = sqlx::query(AssertSqlSafe(text)).fetch_all(&mut **tx).await.during(OPERATION)?;
        let (mut own, mut oldest) = (None, None::<u64>);
        for row in &rows {
            let id: u64 = row.try_get(0).during(OPERATION)?;
            let thread: u64 = row.try_get(1).during(OPERATION)?;
            let query: Option<String> = row.try_get(2).during(OPERATION)?;
            let me: u64 = row.try_get(3).during(OPERATION)?;
            if thread == me {
                if query.is_some_and(|q| q.contains(&nonce)) {
                    own = Some(id);
                }
            } else if id > 0 {
                oldest = Some(oldest.map_or(id, |o| o.min(id)));
            }
        }
        if let Some(own) = own.filter(|id| *id > 0) {
            return Ok(Some(Fence { own, horizon: Horizon { xmin: oldest.unwrap_or(u64::MAX) } }));
        }
    }
    Ok(None)
}

async fn write(
    store: &Inner,
    tx: &mut sqlx::Transaction<'_, sqlx::MySql>,
    walk: &Walk,
    own: Option<u64>,
) -> Result<(), StoreError> {
    let sql = &store.sql.frontier;
    for hole in &walk.new_holes {
        let Some(fence) = own else {
            return Err(BackendError::new(
                BackendErrorKind::Other,
                OPERATION,
                "a new hole without a fence",
            )
            .into());
        };
        sqlx::query(AssertSqlSafe(sql.record_hole.clone()))
            .bind(to_bigint("position", hole.start)?)
            .bind(to_bigint("position", hole.end)?)
            .bind(to_bigint("transaction id", fence)?)
            .execute(&mut **tx)
            .await
            .during(OPERATION)?;
    }
    for (start, resolution) in &walk.resolved {
        sqlx::query(AssertSqlSafe(sql.resolve_hole.clone()))
            .bind(resolution.as_str())
            .bind(to_bigint("position", *start)?)
            .execute(&mut **tx)
            .await
            .during(OPERATION)?;
    }
    let retention =
        i64::try_from(store.config.frontier().hole_retention().as_micros()).unwrap_or(i64::MAX);
    sqlx::query(AssertSqlSafe(sql.forget_holes.clone()))
        .bind(retention)
        .execute(&mut **tx)
        .await
        .during(OPERATION)?;
    sqlx::query(AssertSqlSafe(sql.write.clone()))
        .bind(to_bigint("frontier", walk.frontier)?)
        .execute(&mut **tx)
        .await
        .during(OPERATION)?;
    Ok(())
}

/// The frontier as persisted, for a caller that found another advance in progress.
async fn status(store: &Inner, conn: &mut MySqlConnection) -> Result<FrontierStatus, StoreError> {
    let sql = &store.sql.frontier;
    let mut tx = conn.begin().await.during(OPERATION)?;
    let frontier: Option<i64> = sqlx::query_scalar(AssertSqlSafe(sql.read.clone()))
        .fetch_optional(&mut *tx)
        .await
        .during(OPERATION)?;
    let frontier = from_bigint(OPERATION, frontier.ok_or_else(missing_frontier_row)?)?;
    let latest: i64 = sqlx::query_scalar(AssertSqlSafe(sql.latest.clone()))
        .fetch_one(&mut *tx)
        .await
        .during(OPERATION)?;
    let known = known_holes(&mut tx, &sql.holes, frontier).await?;
    tx.rollback().await.during(OPERATION)?;
    Ok(FrontierStatus {
        safe_position: frontier,
        latest_position: from_bigint(OPERATION, latest)?,
        open_holes: known
            .iter()
            .filter(|hole| hole.resolution.is_none())
            .map(|hole| pupsourcing::OpenHole { start: hole.start, end: hole.end, age: hole.age })
            .collect(),
        forced: Vec::new(),
    })
}

/// Logs forced skips, and warns (at most once per warning period) when an open hole has held
/// the frontier back too long, naming the oldest transaction that may be behind it.
async fn report(store: &Inner, frontier: u64, latest: u64, walk: &Walk) {
    if walk.frontier > frontier {
        tracing::debug!(from = frontier, to = walk.frontier, latest, "frontier advanced");
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
    if !store.hole_warnings.may_warn(std::time::Instant::now(), threshold) {
        return;
    }
    let oldest = sqlx::query(AssertSqlSafe(store.sql.frontier.oldest_transaction.clone()))
        .fetch_optional(store.db.pool())
        .await;
    match oldest {
        Ok(Some(row)) => {
            let thread: u64 = row.try_get(0).unwrap_or_default();
            let micros: i64 = row.try_get(1).unwrap_or_default();
            let query: Option<String> = row.try_get(2).unwrap_or_default();
            tracing::warn!(
                hole = blocking.start,
                hole_age_secs = blocking.age.as_secs_f64(),
                blocking_connection = thread,
                blocking_transaction_age_secs =
                    Duration::from_micros(u64::try_from(micros).unwrap_or(0)).as_secs_f64(),
                blocking_query = query.as_deref().unwrap_or(""),
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
