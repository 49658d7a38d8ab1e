//! What every store under test does: append to a stream at a known version, load a stream.

use std::future::Future;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The error every side returns; the harness only prints it.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One event store under test, on a database of its own.
pub(crate) trait Peer: Clone + Send + Sync + 'static {
    /// Appends `batch` as one durable transaction that fails if the stream has moved on.
    fn append(&self, batch: Batch) -> impl Future<Output = Result<(), BoxError>> + Send;

    /// Loads every event of `stream` in order, decoded; returns how many there were.
    fn load(&self, stream: Uuid) -> impl Future<Output = Result<usize, BoxError>> + Send;

    /// How many appends it retried after conflicts it caused itself (none unless it says).
    fn retries(&self) -> u64 {
        0
    }
}

/// What one append writes: `count` events (versions `version + 1 ..= version + count`) to
/// `stream`, which holds `version` events (0: a new stream), with the payloads numbered from
/// `first`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batch {
    pub(crate) stream: Uuid,
    pub(crate) version: u64,
    pub(crate) count: usize,
    pub(crate) first: usize,
}

impl Batch {
    /// The batch's payloads, in order.
    pub(crate) fn orders(&self) -> impl Iterator<Item = Order> {
        (self.first..self.first + self.count).map(order)
    }
}

/// The payload of every event: a small order document of about 200 bytes of JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Order {
    pub(crate) customer: String,
    pub(crate) items: Vec<Item>,
    pub(crate) total: Money,
    pub(crate) channel: String,
    pub(crate) note: String,
}

/// A line of an [`Order`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Item {
    pub(crate) sku: String,
    pub(crate) qty: u32,
}

/// An amount in a currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Money {
    pub(crate) amount: String,
    pub(crate) currency: String,
}

/// The `i`-th payload.
pub(crate) fn order(i: usize) -> Order {
    Order {
        customer: format!("c-{i:08}"),
        items: vec![
            Item { sku: "A-100".to_owned(), qty: 2 },
            Item { sku: "B-220".to_owned(), qty: 1 },
        ],
        total: Money { amount: "149.90".to_owned(), currency: "EUR".to_owned() },
        channel: "web".to_owned(),
        note: "bench".to_owned(),
    }
}
