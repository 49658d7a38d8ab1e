//! The [`SnapshotStore`] contract itself.

use pupsourcing::snapshot::{Snapshot, SnapshotAdmin, SnapshotError, SnapshotStats, SnapshotStore};
use pupsourcing::{Backend, Database, MAX_POSITION, StreamId};
use uuid::Uuid;

use crate::SnapshotsBackend;

fn stream(aggregate_type: &str) -> StreamId {
    StreamId::new(aggregate_type, Uuid::new_v4().to_string())
}

/// Saves, finds the newest at or below a version, replaces, reads every field back exactly,
/// refuses versions out of range, oversized states and stream names no append accepts, forgets
/// a rolled back save, counts and deletes by stream and by aggregate type (in every bounded
/// context), leaving other types alone; and the same through `SnapshotAdmin`, in transactions of
/// its own.
pub async fn snapshots_save_load_latest_and_delete<B: SnapshotsBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let snapshots = backend.snapshot_store(&store);
    let kind = format!("device{}", Uuid::new_v4().simple());
    let (device, other_context) = (stream(&kind), stream(&kind).in_context("billing"));
    let unrelated = stream("unrelated");
    let mut tx = db.begin().await.expect("begin");
    let mut saved = Vec::new();
    for version in [10, 20, 30] {
        let state = format!("state@{version}").into_bytes();
        let snapshot = Snapshot::new(device.clone(), version, 1, state);
        snapshots.save(&mut tx, &snapshot).await.unwrap();
        saved.push(snapshot);
    }
    let replaced = Snapshot::new(device.clone(), 20, 2, b"replaced".to_vec());
    snapshots.save(&mut tx, &replaced).await.expect("replace");
    snapshots.save(&mut tx, &Snapshot::new(other_context.clone(), 5, 1, vec![0; 7])).await.unwrap();
    snapshots.save(&mut tx, &Snapshot::new(unrelated.clone(), 1, 1, vec![1])).await.unwrap();
    for bad in [0, MAX_POSITION + 1, u64::MAX] {
        let refused = snapshots.save(&mut tx, &Snapshot::new(device.clone(), bad, 1, vec![])).await;
        assert!(
            matches!(refused, Err(SnapshotError::OutOfRange { stream_version }) if stream_version == bad),
            "{refused:?}"
        );
    }
    let oversized = vec![0; pupsourcing::snapshot::MAX_SNAPSHOT_BYTES + 1];
    let refused = snapshots.save(&mut tx, &Snapshot::new(device.clone(), 40, 1, oversized)).await;
    assert!(matches!(refused, Err(SnapshotError::TooLarge { .. })), "{refused:?}");
    let refused =
        snapshots.save(&mut tx, &Snapshot::new(device.clone(), 40, u32::MAX, vec![])).await;
    assert!(matches!(refused, Err(SnapshotError::InvalidInput(_))), "{refused:?}");
    for (field, bad) in [
        ("aggregate_type", StreamId::new("", "x")),
        ("aggregate_id", StreamId::new(kind.as_str(), "nul\0")),
        ("bounded_context", StreamId::new(kind.as_str(), "x").in_context("")),
    ] {
        let refused = snapshots.save(&mut tx, &Snapshot::new(bad, 1, 1, vec![])).await;
        assert!(
            matches!(&refused, Err(SnapshotError::InvalidInput(input)) if input.to_string().contains(field)),
            "{refused:?}"
        );
    }
    db.commit(tx).await.expect("commit");

    let mut tx = db.begin().await.expect("begin");
    let at = |found: Option<Snapshot>| found.map(|s| (s.stream_version, s.state_version, s.state));
    assert_eq!(at(snapshots.latest(&mut tx, &device, 9).await.unwrap()), None);
    assert_eq!(
        at(snapshots.latest(&mut tx, &device, 10).await.unwrap()),
        Some((10, 1, b"state@10".to_vec()))
    );
    assert_eq!(
        at(snapshots.latest(&mut tx, &device, 29).await.unwrap()),
        Some((20, 2, b"replaced".to_vec()))
    );
    for newest in [30, MAX_POSITION, u64::MAX] {
        assert_eq!(
            at(snapshots.latest(&mut tx, &device, newest).await.unwrap()),
            Some((30, 1, b"state@30".to_vec()))
        );
    }
    let stored = snapshots.latest(&mut tx, &device, 30).await.unwrap().expect("snapshot");
    assert_eq!(stored.stream, device);
    assert_eq!(stored, saved[2], "every field, the time to the microsecond, reads back");
    assert_eq!(
        snapshots.stats(&mut tx, &kind).await.unwrap(),
        SnapshotStats { count: 4, state_bytes: 8 + 8 + 8 + 7 }
    );
    db.commit(tx).await.expect("commit");

    let mut tx = db.begin().await.expect("begin");
    let rolled_back = Snapshot::new(device.clone(), 40, 1, b"rolled back".to_vec());
    snapshots.save(&mut tx, &rolled_back).await.expect("save");
    db.rollback(tx).await.expect("rollback");

    let mut tx = db.begin().await.expect("begin");
    let newest = snapshots.latest(&mut tx, &device, u64::MAX).await.unwrap().expect("snapshot");
    assert_eq!(newest.stream_version, 30, "a rolled back save left a snapshot");
    assert_eq!(snapshots.delete_stream(&mut tx, &device).await.unwrap(), 3);
    assert!(snapshots.latest(&mut tx, &device, u64::MAX).await.unwrap().is_none());
    assert_eq!(snapshots.delete_stream(&mut tx, &device).await.unwrap(), 0);
    assert_eq!(snapshots.delete_aggregate_type(&mut tx, &kind).await.unwrap(), 1);
    assert!(snapshots.latest(&mut tx, &other_context, u64::MAX).await.unwrap().is_none());
    assert_eq!(snapshots.stats(&mut tx, &kind).await.unwrap(), SnapshotStats::default());
    assert!(snapshots.latest(&mut tx, &unrelated, 1).await.unwrap().is_some(), "other types kept");
    db.commit(tx).await.expect("commit");

    let admin = SnapshotAdmin::new(&Backend::from_parts(db.clone(), (), (), ()), snapshots);
    let own = Snapshot::new(device.clone(), 7, 3, b"own transaction".to_vec());
    admin.save(&own).await.expect("save in a transaction of its own");
    assert_eq!(admin.latest(&device, u64::MAX).await.unwrap(), Some(own));
    assert_eq!(admin.stats(&kind).await.unwrap().count, 1);
    assert!(matches!(
        admin.save(&Snapshot::new(device.clone(), 0, 1, vec![])).await,
        Err(SnapshotError::OutOfRange { .. })
    ));
}
