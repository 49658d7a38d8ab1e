//! Wake-ups for appends made without a caller transaction, sent after their commit.
//!
//! A transaction that ran `NOTIFY` takes a database-wide lock at commit (PostgreSQL delivers
//! notifications in commit order) and holds it through its WAL flush, so concurrent notifying
//! appends cannot share a flush. An `append_committed` knows when it committed, so it leaves
//! the NOTIFY out of its statement and hands its last position to this notifier, whose own
//! `pg_notify` statement writes nothing to the WAL and holds the lock only for an instant.
//! Positions that arrive while a notification is on its way are folded into the next one.

use std::sync::OnceLock;

use sqlx::PgPool;
use tokio::sync::watch;

/// Sends the store's notifications from a task of its own, started on first use; the task
/// ends when the store is dropped.
#[derive(Debug, Default)]
pub(crate) struct Notifier {
    latest: OnceLock<watch::Sender<u64>>,
}

impl Notifier {
    /// Announces that everything up to `position` is committed, on `channel` through `pool`.
    pub(crate) fn notify(&self, pool: &PgPool, channel: &str, position: u64) {
        let latest = self.latest.get_or_init(|| {
            let (sender, receiver) = watch::channel(0);
            tokio::spawn(send(pool.clone(), channel.to_owned(), receiver));
            sender
        });
        latest.send_if_modified(|latest| {
            let newer = position > *latest;
            *latest = (*latest).max(position);
            newer
        });
    }
}

async fn send(pool: PgPool, channel: String, mut latest: watch::Receiver<u64>) {
    while latest.changed().await.is_ok() {
        let position = *latest.borrow_and_update();
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&channel)
            .bind(position.to_string())
            .execute(&pool)
            .await;
        if let Err(err) = sent {
            // Consumers in other processes fall back to polling until the next notification.
            tracing::warn!(%channel, position, error = %err, "could not send an append notification");
        }
    }
}
