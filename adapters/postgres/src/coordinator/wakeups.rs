//! LISTEN/NOTIFY wake-ups, with reconnection.
//!
//! One dedicated connection listens on the store's NOTIFY channel and bumps a counter for every
//! notification. Whenever the connection is lost or re-established the counter is bumped too,
//! since notifications sent meanwhile are gone: waking everyone costs one frontier advance,
//! missing one would cost a poll interval. The task ends when the last receiver is dropped.
//!
//! The connection is the listener's own, opened with the application pool's connect options
//! but outside the pool: a listener holds its connection for good, and taking it from the pool
//! would starve a small pool (on a pool of one, the worker would never run a batch).

use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::watch;

pub(crate) fn spawn(pool: PgPool, channel: Option<String>) -> watch::Receiver<u64> {
    let (sender, receiver) = watch::channel(0u64);
    let Some(channel) = channel else {
        return receiver;
    };
    let own = PgPoolOptions::new()
        .max_connections(1)
        .min_connections(0)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with((*pool.connect_options()).clone());
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut listener = match PgListener::connect_with(&own).await {
                Ok(listener) => listener,
                Err(err) => {
                    tracing::warn!(error = %err, "cannot connect the NOTIFY listener; polling meanwhile");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = sender.closed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            if let Err(err) = listener.listen(&channel).await {
                tracing::warn!(error = %err, %channel, "cannot LISTEN; retrying");
                continue;
            }
            backoff = Duration::from_millis(100);
            sender.send_modify(|n| *n += 1);
            loop {
                tokio::select! {
                    note = listener.try_recv() => match note {
                        Ok(_) => sender.send_modify(|n| *n += 1),
                        Err(err) => {
                            tracing::warn!(error = %err, "NOTIFY listener failed; reconnecting");
                            break;
                        }
                    },
                    () = sender.closed() => return,
                }
            }
        }
    });
    receiver
}
