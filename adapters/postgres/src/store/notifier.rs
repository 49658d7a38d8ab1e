//! Wake-ups for appends, sent after their commit and outside the appending transaction.
//!
//! A transaction that ran `NOTIFY` takes a database-wide lock at commit (PostgreSQL delivers
//! notifications in commit order) and holds it through its WAL flush, so concurrent notifying
//! appends cannot share a flush: at 8 writers that halves the append rate. No append statement
//! notifies; each hands its last position to this notifier, whose own `pg_notify` writes nothing
//! to the WAL and holds the lock only for an instant.
//!
//! An `append_committed` knows that it committed. An append in a caller's transaction does not
//! (the caller commits through sqlx), so it hands over its transaction id as well, and the
//! notifier asks the server when that transaction has ended: `pg_xact_status` says whether it
//! committed, and `pg_visible_in_snapshot` that its rows are visible to new snapshots (a commit
//! is recorded shortly before it becomes visible, and a consumer woken in between would find
//! nothing). It asks for every open transaction in one statement, soon after the append and then
//! with a growing interval, so a long transaction costs a few cheap statements, never a
//! connection held while it waits. Rolled-back transactions notify nobody (an append rolled back
//! to a savepoint in a transaction that commits still wakes consumers, for nothing). Positions
//! that arrive while a check or a notification is under way are folded into the next one. The
//! checks and notifications take connections from the store's pool.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::{PgPool, Row};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// The first check of a transaction comes this long after its append, about the time its
/// commit takes on a durable cluster; the next ones come at doubling intervals.
const FIRST_CHECK: Duration = Duration::from_micros(500);
/// The interval between checks of transactions still open doubles up to this.
const LONGEST_INTERVAL: Duration = Duration::from_millis(100);
/// A transaction still open after this long (idle in transaction, prepared and forgotten, or
/// an id the store's database never gave out) is no longer tracked: its consumers find its
/// events at their next poll.
const LONGEST_TRACKED: Duration = Duration::from_secs(600);
/// At most this many transactions are tracked at once; beyond it (the server cannot answer
/// for a long time) new ones are not: a missed wake-up costs a poll interval.
const MOST_TRACKED: usize = 65_536;
/// After the store is dropped, transactions still open are checked for this long.
const DRAIN: Duration = Duration::from_secs(10);

/// Sends the store's notifications from a task of its own, started on first use; the task
/// ends when the store is dropped.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    appends: OnceLock<mpsc::UnboundedSender<Appended>>,
}

/// What an append hands over.
#[derive(Debug, Clone, Copy)]
enum Appended {
    /// Everything up to the position is committed.
    Committed(u64),
    /// The position was appended in a transaction with this id, which may still be open.
    InTransaction { xid: i64, position: u64 },
}

impl Notifier {
    /// Announces, on `channel` through `pool`, that everything up to `position` is committed.
    pub(crate) fn committed(&self, pool: &PgPool, channel: &str, position: u64) {
        self.hand_over(pool, channel, Appended::Committed(position));
    }

    /// Announces `position` once the transaction `xid` has committed; never if it rolls back.
    pub(crate) fn after_commit(&self, pool: &PgPool, channel: &str, xid: i64, position: u64) {
        self.hand_over(pool, channel, Appended::InTransaction { xid, position });
    }

    fn hand_over(&self, pool: &PgPool, channel: &str, appended: Appended) {
        let sender = self.appends.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(run(pool.clone(), channel.to_owned(), receiver));
            sender
        });
        // The receiver lives as long as the task, which ends only once every sender is gone.
        let _ = sender.send(appended);
    }
}

/// The notifier task's state.
struct Pending {
    /// The last position of each transaction not yet known to have ended, and when the
    /// notifier first heard of it.
    open: HashMap<i64, (u64, Instant)>,
    /// The highest position known committed.
    committed: u64,
    /// The highest position notified.
    sent: u64,
    /// When to check the open transactions next, and the interval after that.
    next_check: Option<Instant>,
    interval: Duration,
    /// Whether the last check failed: failures are logged once until a check succeeds.
    failing: bool,
}

async fn run(pool: PgPool, channel: String, mut appends: mpsc::UnboundedReceiver<Appended>) {
    let mut pending = Pending {
        open: HashMap::new(),
        committed: 0,
        sent: 0,
        next_check: None,
        interval: FIRST_CHECK,
        failing: false,
    };
    loop {
        let received = match pending.next_check {
            None => appends.recv().await,
            Some(at) => tokio::select! {
                appended = appends.recv() => appended,
                () = sleep_until(at) => {
                    pending.check(&pool).await;
                    pending.send(&pool, &channel).await;
                    continue;
                }
            },
        };
        let Some(appended) = received else {
            pending.drain(&pool, &channel).await;
            return;
        };
        pending.record(appended);
        while let Ok(appended) = appends.try_recv() {
            pending.record(appended);
        }
        pending.send(&pool, &channel).await;
    }
}

impl Pending {
    fn record(&mut self, appended: Appended) {
        match appended {
            Appended::Committed(position) => self.committed = self.committed.max(position),
            Appended::InTransaction { xid, position } => {
                if self.open.len() >= MOST_TRACKED && !self.open.contains_key(&xid) {
                    tracing::debug!(xid, "too many open appending transactions to track");
                    return;
                }
                let (last, _) = self.open.entry(xid).or_insert((position, Instant::now()));
                *last = (*last).max(position);
                let soon = Instant::now() + FIRST_CHECK;
                self.interval = FIRST_CHECK;
                self.next_check = Some(self.next_check.map_or(soon, |at| at.min(soon)));
            }
        }
    }

    /// Asks which open transactions have ended, and whether they committed.
    async fn check(&mut self, pool: &PgPool) {
        let xids: Vec<i64> = self.open.keys().copied().collect();
        let ended = sqlx::query(
            "SELECT x, coalesce(pg_xact_status(x::text::xid8) = 'committed', false) \
             FROM unnest($1::int8[]) AS x \
             WHERE pg_visible_in_snapshot(x::text::xid8, pg_current_snapshot())",
        )
        .bind(&xids)
        .fetch_all(pool)
        .await;
        match ended {
            Ok(rows) => {
                self.failing = false;
                for row in rows {
                    let (Ok(xid), Ok(committed)) = (row.try_get::<i64, _>(0), row.try_get(1))
                    else {
                        continue;
                    };
                    if let Some((position, _)) = self.open.remove(&xid)
                        && committed
                    {
                        self.committed = self.committed.max(position);
                    }
                }
            }
            Err(err) if !self.failing => {
                self.failing = true;
                tracing::warn!(error = %err, "could not learn whether appending transactions committed; retrying");
            }
            Err(_) => {}
        }
        let before = self.open.len();
        self.open.retain(|_, (_, since)| since.elapsed() < LONGEST_TRACKED);
        if self.open.len() < before {
            tracing::debug!(
                dropped = before - self.open.len(),
                "appending transactions open too long to track"
            );
        }
        self.interval = (self.interval * 2).min(LONGEST_INTERVAL);
        self.next_check = (!self.open.is_empty()).then(|| Instant::now() + self.interval);
    }

    /// Goes on checking the transactions still open, for a while, once no append can come.
    async fn drain(&mut self, pool: &PgPool, channel: &str) {
        let until = Instant::now() + DRAIN;
        while let Some(at) = self.next_check.filter(|at| *at < until) {
            sleep_until(at).await;
            self.check(pool).await;
            self.send(pool, channel).await;
        }
    }

    async fn send(&mut self, pool: &PgPool, channel: &str) {
        if self.committed <= self.sent {
            return;
        }
        let position = self.committed;
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(channel)
            .bind(position.to_string())
            .execute(pool)
            .await;
        if let Err(err) = sent {
            // Consumers in other processes fall back to polling until the next notification.
            tracing::warn!(%channel, position, error = %err, "could not send an append notification");
        }
        self.sent = position;
    }
}
