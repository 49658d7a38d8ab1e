use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};

use super::*;
use crate::mock::{MockDatabase, MockSnapshotStore, MockTx};

#[test]
fn every_n_is_due_when_a_multiple_is_reached_or_passed() {
    let every = SnapshotPolicy::every(3);
    assert!(!every.due(0, 0, 2));
    assert!(every.due(0, 2, 3));
    assert!(!every.due(3, 3, 5));
    assert!(every.due(3, 5, 9), "a batch of events passing a multiple");
    assert!(every.due(0, 0, 3), "from an empty stream");
    for never in [SnapshotPolicy::every(0), SnapshotPolicy::never()] {
        assert!((0..20).all(|version| !never.due(0, version, version + 1)));
    }
}

#[test]
fn replay_over_n_is_due_more_than_n_past_the_snapshot() {
    let policy = SnapshotPolicy::when_replay_exceeds(5);
    assert!(!policy.due(0, 4, 5));
    assert!(policy.due(0, 5, 6));
    assert!(!policy.due(10, 14, 15));
    assert!(policy.due(10, 15, 16));
    assert!(SnapshotPolicy::when_replay_exceeds(0).due(7, 7, 8));
    assert!(!SnapshotPolicy::when_replay_exceeds(0).due(8, 8, 8));
}

#[derive(Default)]
struct Count(AtomicU64);

impl CounterFn for Count {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }

    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::SeqCst);
    }
}

/// Counts the increments of one counter, whatever its labels.
struct Counting {
    name: &'static str,
    count: Arc<Count>,
}

impl Recorder for Counting {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if key.name() == self.name {
            Counter::from_arc(Arc::clone(&self.count))
        } else {
            Counter::noop()
        }
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn snapshotting(store: MockSnapshotStore) -> Snapshotting<MockDatabase, u64> {
    Snapshotting::new(
        Arc::new(store),
        SnapshotPolicy::every(10).state_version(2),
        serde_json::to_vec,
        |bytes| serde_json::from_slice(bytes),
    )
}

fn restore_counting(name: &'static str, snapshot: Snapshot, loads: usize) -> (u64, usize) {
    let mut store = MockSnapshotStore::new();
    store.expect_latest().returning(move |_, _, _| Ok(Some(snapshot.clone())));
    let snapshots = snapshotting(store);
    let stream = StreamId::new("account", "a-1");
    let count = Arc::new(Count::default());
    let recorder = Counting { name, count: Arc::clone(&count) };
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let used = metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            let mut used = 0;
            for _ in 0..loads {
                let restored = snapshots.restore(&mut MockTx, &stream, u64::MAX).await;
                used += usize::from(restored.expect("restore").is_some());
            }
            used
        })
    });
    let warned = snapshots.warned.lock().map(|warned| warned.len()).unwrap_or(0);
    assert!(warned <= 1, "warned once per aggregate type and state version");
    (count.0.load(Ordering::SeqCst), used)
}

#[test]
fn stale_snapshots_are_counted_on_every_load_and_never_decoded() {
    let stream = StreamId::new("account", "a-1");
    let stale = Snapshot::new(stream.clone(), 10, 1, b"41".to_vec());
    assert_eq!(restore_counting(SNAPSHOTS_STALE, stale, 3), (3, 0));
    let current = Snapshot::new(stream.clone(), 10, 2, b"41".to_vec());
    assert_eq!(restore_counting(SNAPSHOTS_STALE, current, 3), (0, 3));
    let undecodable = Snapshot::new(stream, 10, 2, b"\"text\"".to_vec());
    assert_eq!(restore_counting(SNAPSHOTS_UNDECODABLE, undecodable, 2), (2, 0));
}

#[test]
fn unencodable_states_are_skipped_and_others_carry_the_state_version() {
    let snapshots: Snapshotting<MockDatabase, u64> = Snapshotting::new(
        Arc::new(MockSnapshotStore::new()),
        SnapshotPolicy::every(1),
        |_| Err(serde_json::Error::io(std::io::Error::other("no"))),
        |bytes| serde_json::from_slice(bytes),
    );
    assert!(snapshots.encode(&StreamId::new("account", "a-1"), 1, &0).is_none());
    let encoded = snapshotting(MockSnapshotStore::new()).encode(&StreamId::new("a", "1"), 4, &7);
    let encoded = encoded.expect("a snapshot");
    assert_eq!(
        (encoded.stream_version, encoded.state_version, encoded.state),
        (4, 2, b"7".to_vec())
    );
}
