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
//! connection held while it waits. Rolled-back transactions notify nobody. Positions that arrive
//! while a check or a notification is under way are folded into the next one.

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
/// Beyond this many open transactions (the server cannot answer, or a flood of transactions
/// that never end), the notifier stops tracking them and wakes everyone instead: a spurious
/// wake-up costs a consumer one frontier advance, a missed one a poll interval.
const MOST_TRACKED: usize = 65_536;

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
    /// The last position of each transaction not yet known to have ended.
    open: HashMap<i64, u64>,
    /// The highest position known committed.
    committed: u64,
    /// The highest position notified.
    sent: u64,
    /// When to check the open transactions next, and the interval after that.
    next_check: Option<Instant>,
    interval: Duration,
}

async fn run(pool: PgPool, channel: String, mut appends: mpsc::UnboundedReceiver<Appended>) {
    let mut pending = Pending {
        open: HashMap::new(),
        committed: 0,
        sent: 0,
        next_check: None,
        interval: FIRST_CHECK,
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
        let Some(appended) = received else { return };
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
                    tracing::warn!(
                        tracked = self.open.len(),
                        "too many open appending transactions to track; waking every consumer"
                    );
                    let highest = self.open.drain().map(|(_, p)| p).max().unwrap_or(0);
                    self.committed = self.committed.max(highest).max(position);
                    self.next_check = None;
                    return;
                }
                let last = self.open.entry(xid).or_insert(position);
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
                for row in rows {
                    let (Ok(xid), Ok(committed)) = (row.try_get::<i64, _>(0), row.try_get(1))
                    else {
                        continue;
                    };
                    if let Some(position) = self.open.remove(&xid)
                        && committed
                    {
                        self.committed = self.committed.max(position);
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not learn whether appending transactions committed");
            }
        }
        self.interval = (self.interval * 2).min(LONGEST_INTERVAL);
        self.next_check = (!self.open.is_empty()).then(|| Instant::now() + self.interval);
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
