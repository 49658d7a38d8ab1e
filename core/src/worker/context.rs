//! What every task of a running worker shares.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::worker::coordinator::NodeInfo;
use crate::{Consumer, Database, WorkerConfig};

pub(crate) struct Context<D: Database, S, C> {
    pub(crate) db: D,
    pub(crate) store: S,
    pub(crate) coordinator: C,
    pub(crate) consumers: BTreeMap<String, Arc<dyn Consumer<D>>>,
    pub(crate) config: WorkerConfig,
    pub(crate) node: NodeInfo,
    /// The latest safe frontier this node has seen; idle units wait for it to move.
    pub(crate) frontier: watch::Sender<u64>,
    /// Flips to `true` when the worker starts shutting down.
    pub(crate) stopping: watch::Sender<bool>,
    /// Signalled when this node, as leader, wrote a plan: re-read assignments at once.
    pub(crate) reassigned: Notify,
}

impl<D: Database, S, C> Context<D, S, C> {
    /// Sleeps for `duration` unless the worker starts stopping first; `false` if it did.
    pub(crate) async fn pause(&self, duration: Duration) -> bool {
        let mut stopping = self.stopping.subscribe();
        if *stopping.borrow_and_update() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            _ = stopping.changed() => false,
        }
    }
}

/// A fresh random number (for back-off jitter) without a random-number dependency: every
/// `RandomState` is seeded randomly by the standard library.
pub(crate) fn random() -> u64 {
    RandomState::new().hash_one(0u8)
}

/// The error and its sources on one line, as stored for operators.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
