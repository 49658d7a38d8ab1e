//! The safe frontier: readers that follow it never skip an event, whatever order transactions
//! commit in, and never stall on a hole that cannot fill.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pupsourcing::{Database, EventFilter, EventStore, ExpectedVersion, LogQuery};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::StoreBackend;
use crate::support::{FrontierReader, Rng, append, event, unique_stream};

/// Advances until the frontier reaches `position`, failing after `patience`. Dead holes close
/// as soon as every transaction older than their first sighting has finished, which on a shared
/// server includes transactions of unrelated tests, hence a deadline rather than a count.
async fn advance_until<B: StoreBackend>(
    store: &B::Store,
    position: u64,
    patience: Duration,
) -> (u64, usize) {
    let deadline = Instant::now() + patience;
    let mut rounds = 0;
    loop {
        rounds += 1;
        let status = store.advance_frontier().await.expect("advance_frontier");
        if status.safe_position >= position {
            return (status.safe_position, rounds);
        }
        assert!(
            Instant::now() < deadline,
            "frontier stuck at {} below {position}: {status:?}",
            status.safe_position
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A transaction that takes a lower position and commits after one with a higher position: the
/// frontier stays below it until it commits, and a reader following the frontier sees both, in
/// position order.
pub async fn late_commit_is_not_skipped<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let (early, late) = (unique_stream("early"), unique_stream("late"));
    let mut slow = db.begin().await.expect("begin");
    let low = store
        .append(&mut slow, ExpectedVersion::Any, vec![event(&early, "low")])
        .await
        .expect("append");
    let low_position = low.last_position();
    let own_view = store.safe_frontier(&mut slow).await.expect("safe_frontier");
    assert!(
        own_view < low_position,
        "a transaction's own uncommitted append must stay above its frontier"
    );

    let fast = {
        let (db, store, late) = (db.clone(), store.clone(), late.clone());
        tokio::spawn(async move {
            append(&db, &store, ExpectedVersion::Any, vec![event(&late, "high")]).await
        })
    };
    let high_position = if backend.capabilities().single_writer {
        let status = store.advance_frontier().await.expect("advance");
        assert!(status.safe_position < low_position);
        db.commit(slow).await.expect("commit the slow transaction");
        fast.await.expect("task").expect("append").last_position()
    } else {
        let high = fast.await.expect("task").expect("append").last_position();
        assert!(high > low_position, "the later append draws the higher position");
        for _ in 0..3 {
            let status = store.advance_frontier().await.expect("advance");
            assert!(
                status.safe_position < low_position,
                "the frontier passed an uncommitted position: {status:?}"
            );
            assert!(status.latest_position >= high);
            assert!(
                status.open_holes.iter().any(|h| (h.start..=h.end).contains(&low_position)),
                "{status:?}"
            );
        }
        let mut reader = FrontierReader::new();
        reader.step(&db, &store).await;
        assert!(
            reader.seen.iter().all(|e| e.global_position < low_position),
            "the reader ran ahead of the frontier"
        );
        db.commit(slow).await.expect("commit the slow transaction");
        high
    };

    let status = store.advance_frontier().await.expect("advance");
    assert!(
        status.safe_position >= high_position,
        "once committed, a filled hole is passed at once: {status:?}"
    );
    let mut reader = FrontierReader::new();
    reader.step(&db, &store).await;
    let order: Vec<u64> = reader.seen.iter().map(|e| e.global_position).collect();
    assert_eq!(order, vec![low_position, high_position]);
}

/// A rolled-back append leaves a hole (on backends with concurrent writers) that the frontier
/// passes as soon as the transactions older than it have finished; the rolled-back event is
/// never read.
pub async fn rolled_back_hole_is_passed<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stream = unique_stream("hole");
    let doomed = event(&stream, "doomed");
    let mut tx = db.begin().await.expect("begin");
    store.append(&mut tx, ExpectedVersion::Any, vec![doomed.clone()]).await.expect("append");
    db.rollback(tx).await.expect("rollback");
    let kept = append(&db, &store, ExpectedVersion::Any, vec![event(&stream, "kept")])
        .await
        .expect("append");

    let (_, rounds) =
        advance_until::<B>(&store, kept.last_position(), Duration::from_secs(30)).await;
    assert!(rounds >= 1);
    let mut reader = FrontierReader::new();
    reader.step(&db, &store).await;
    let ids: Vec<Uuid> = reader.seen.iter().map(|e| e.event.event_id).collect();
    assert_eq!(ids, vec![kept.events()[0].event.event_id]);
    let status = store.advance_frontier().await.expect("advance");
    assert!(status.open_holes.is_empty(), "a dead hole must be resolved: {status:?}");
}

/// A transaction held open across many advances (no timeout applies by default) keeps the
/// frontier below its position the whole time, and (with parallel writers) its hole's age is
/// reported; once it commits the frontier moves on.
pub async fn open_transaction_holds_the_frontier_back<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let (held, other) = (unique_stream("held"), unique_stream("other"));
    let before = append(&db, &store, ExpectedVersion::Any, vec![event(&other, "before")])
        .await
        .expect("append");
    let mut open = db.begin().await.expect("begin");
    let pending = store
        .append(&mut open, ExpectedVersion::Any, vec![event(&held, "pending")])
        .await
        .expect("append");
    let behind = {
        let (db, store, other) = (db.clone(), store.clone(), other.clone());
        tokio::spawn(async move {
            append(&db, &store, ExpectedVersion::Any, vec![event(&other, "behind")]).await
        })
    };
    let single_writer = backend.capabilities().single_writer;
    // With parallel writers the hole exists once `behind` has committed: the clock starts then
    // (a loaded machine can delay that commit). A single writer waits for the open one.
    let (behind, committed_behind) = if single_writer {
        (Some(behind), None)
    } else {
        let committed = tokio::time::timeout(Duration::from_secs(30), behind)
            .await
            .expect("a write to another stream waited 30 s for an open transaction: is the backend a single writer?");
        (None, Some(committed.expect("task").expect("append").last_position()))
    };
    let started = Instant::now();
    let mut oldest = Duration::ZERO;
    // Advances go on for 1.2 s, and with parallel writers until the hole has been reported at
    // least 0.5 s old: on a loaded server an advance may wait its turn to see the hole at all.
    let reported = |oldest: Duration| single_writer || oldest >= Duration::from_millis(500);
    while started.elapsed() < Duration::from_millis(1200)
        || (!reported(oldest) && started.elapsed() < Duration::from_secs(30))
    {
        let status = store.advance_frontier().await.expect("advance");
        assert!(status.safe_position >= before.last_position());
        assert!(
            status.safe_position < pending.last_position(),
            "frontier passed an open transaction: {status:?}"
        );
        oldest = oldest.max(status.oldest_hole_age().unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reported(oldest), "the hole's age should be reported, got {oldest:?}");
    db.commit(open).await.expect("commit");
    let last = match behind {
        Some(task) => task.await.expect("task").expect("append").last_position(),
        None => committed_behind.expect("awaited before the clock started"),
    };
    advance_until::<B>(&store, last, Duration::from_secs(30)).await;
}

/// 16 writers append for a while with random commit delays and random rollbacks while a reader
/// follows the frontier: the reader sees every committed event exactly once, in position order,
/// and no rolled-back one. `PUPSOURCING_TORTURE_SECS` sets the duration (default 2).
pub async fn torture_readers_never_skip<B: StoreBackend>(backend: &B) {
    const WRITERS: usize = 16;
    let seconds =
        std::env::var("PUPSOURCING_TORTURE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(2u64);
    let (db, store) = backend.fresh_store().await;
    let stop = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(WRITERS + 1));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (db, store, stop, barrier) =
                (db.clone(), store.clone(), Arc::clone(&stop), Arc::clone(&barrier));
            tokio::spawn(async move {
                let mut rng = Rng::new(u64::try_from(writer).expect("small") + 1);
                let (mut committed, mut rolled_back) = (Vec::new(), Vec::new());
                let streams: Vec<_> = (0..3).map(|_| unique_stream("torture")).collect();
                barrier.wait().await;
                while !stop.load(Ordering::Relaxed) {
                    let stream = &streams[usize::try_from(rng.below(3)).expect("small")];
                    let batch: Vec<_> =
                        (0..=rng.below(3)).map(|i| event(stream, &i.to_string())).collect();
                    let ids: Vec<Uuid> = batch.iter().map(|e| e.event_id).collect();
                    let mut tx = db.begin().await.expect("begin");
                    store.append(&mut tx, ExpectedVersion::Any, batch).await.expect("append");
                    tokio::time::sleep(Duration::from_micros(rng.below(8_000))).await;
                    if rng.below(5) == 0 {
                        db.rollback(tx).await.expect("rollback");
                        rolled_back.extend(ids);
                    } else {
                        db.commit(tx).await.expect("commit");
                        committed.extend(ids);
                    }
                }
                (committed, rolled_back)
            })
        })
        .collect();

    let reader = {
        let (db, store, stop) = (db.clone(), store.clone(), Arc::clone(&stop));
        tokio::spawn(async move {
            let mut reader = FrontierReader::new();
            while !stop.load(Ordering::Relaxed) {
                reader.step(&db, &store).await;
                tokio::task::yield_now().await;
            }
            reader
        })
    };
    barrier.wait().await;
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut committed = HashSet::new();
    let mut rolled_back = HashSet::new();
    for writer in writers {
        let (ok, undone) = writer.await.expect("writer");
        committed.extend(ok);
        rolled_back.extend(undone);
    }
    let mut reader = reader.await.expect("reader");

    let mut tx = db.begin_read().await.expect("begin_read");
    let latest = store.latest_position(&mut tx).await.expect("latest");
    db.rollback(tx).await.expect("rollback");
    let deadline = Instant::now() + Duration::from_secs(60);
    while reader.checkpoint < latest {
        reader.step(&db, &store).await;
        assert!(
            Instant::now() < deadline,
            "the reader never caught up: {} < {latest}",
            reader.checkpoint
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    let positions: Vec<u64> = reader.seen.iter().map(|e| e.global_position).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "the reader saw events out of position order"
    );
    let seen: Vec<Uuid> = reader.seen.iter().map(|e| e.event.event_id).collect();
    let unique: HashSet<Uuid> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "an event was seen twice");
    assert!(unique.is_disjoint(&rolled_back), "a rolled-back event was seen");
    let missed = committed.difference(&unique).count();
    assert_eq!(missed, 0, "{missed} committed events were skipped");
    assert_eq!(unique.len(), committed.len());
    assert!(
        !committed.is_empty() && !rolled_back.is_empty(),
        "the workload must commit and roll back"
    );
    eprintln!(
        "torture: {seconds}s, {WRITERS} writers, {} events committed, {} rolled back, \
         all seen once and in order",
        committed.len(),
        rolled_back.len()
    );
}

/// Several processes advancing the frontier at once: no errors, and the persisted frontier never
/// moves backwards for any of them.
pub async fn racing_advancers_never_go_backwards<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (db, store, stop) = (db.clone(), store.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let stream = unique_stream("race");
                let mut count = 0u32;
                while !stop.load(Ordering::Relaxed) && count < 200 {
                    let mut tx = db.begin().await.expect("begin");
                    store
                        .append(&mut tx, ExpectedVersion::Any, vec![event(&stream, "x")])
                        .await
                        .expect("append");
                    if count.is_multiple_of(4) {
                        db.rollback(tx).await.expect("rollback");
                    } else {
                        db.commit(tx).await.expect("commit");
                    }
                    count += 1;
                }
            })
        })
        .collect();
    let advancers: Vec<_> = (0..4)
        .map(|_| {
            let (db, store) = (db.clone(), store.clone());
            tokio::spawn(async move {
                let mut last = 0;
                for _ in 0..60 {
                    let status =
                        store.advance_frontier().await.expect("concurrent advances must not fail");
                    let mut tx = db.begin_read().await.expect("begin_read");
                    let persisted = store.safe_frontier(&mut tx).await.expect("safe_frontier");
                    db.rollback(tx).await.expect("rollback");
                    assert!(
                        status.safe_position >= last && persisted >= last,
                        "the frontier moved backwards"
                    );
                    last = persisted.max(status.safe_position);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    for advancer in advancers {
        advancer.await.expect("advancer");
    }
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.await.expect("writer");
    }
    let mut tx = db.begin_read().await.expect("begin_read");
    let latest = store.latest_position(&mut tx).await.expect("latest");
    db.rollback(tx).await.expect("rollback");
    advance_until::<B>(&store, latest, Duration::from_secs(30)).await;
}

/// `read_events_until` filters by aggregate type, bounded context and partition in the
/// database, respects both bounds and the limit, and returns position order.
pub async fn read_events_until_filters_and_bounds<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let id = Uuid::new_v4().to_string();
    let order = pupsourcing::StreamId::new("order", id.clone());
    let sales_order = order.clone().in_context("sales");
    let sales_invoice = pupsourcing::StreamId::new("invoice", id).in_context("sales");
    for round in 0..3 {
        for stream in [&order, &sales_order, &sales_invoice] {
            append(&db, &store, ExpectedVersion::Any, vec![event(stream, &round.to_string())])
                .await
                .expect("append");
        }
    }
    let status = store.advance_frontier().await.expect("advance");
    let mut tx = db.begin_read().await.expect("begin_read");
    let frontier = store.safe_frontier(&mut tx).await.expect("safe_frontier");
    assert_eq!(frontier, status.safe_position);
    let all =
        store.read_events_until(&mut tx, &LogQuery::up_to(frontier).limit(100)).await.expect("all");
    assert_eq!(all.len(), 9);
    let check = |filter: EventFilter, want: &[&pupsourcing::StreamId]| {
        let expected: Vec<_> = all.iter().filter(|e| want.contains(&e.stream())).cloned().collect();
        (filter, expected)
    };
    let cases = [
        check(EventFilter::all().aggregate_types(["order"]), &[&order, &sales_order]),
        check(EventFilter::all().bounded_contexts(["sales"]), &[&sales_order, &sales_invoice]),
        check(
            EventFilter::all().aggregate_types(["order"]).bounded_contexts(["sales"]),
            &[&sales_order],
        ),
        check(
            EventFilter::all().aggregate_types(["invoice", "order"]),
            &[&order, &sales_order, &sales_invoice],
        ),
        check(EventFilter::all().aggregate_types(["refund"]), &[]),
    ];
    for (filter, expected) in cases {
        let got = store
            .read_events_until(
                &mut tx,
                &LogQuery::up_to(frontier).filter(filter.clone()).limit(100),
            )
            .await
            .expect("filtered");
        assert_eq!(got, expected, "{filter:?}");
    }
    let mut by_partition = Vec::new();
    for index in 0..3 {
        let filter = EventFilter::all().partition(index, 3);
        let part = store
            .read_events_until(
                &mut tx,
                &LogQuery::up_to(frontier).filter(filter.clone()).limit(100),
            )
            .await
            .expect("part");
        assert!(part.iter().all(|e| e.stream().partition(3) == index), "partition {index} leaked");
        by_partition.extend(part);
    }
    by_partition.sort_by_key(|e| e.global_position);
    assert_eq!(by_partition, all, "the partitions must cover every event exactly once");
    let middle = all[3].global_position;
    let window = store
        .read_events_until(
            &mut tx,
            &LogQuery::up_to(middle).after(all[0].global_position).limit(100),
        )
        .await
        .expect("window");
    assert_eq!(window, all[1..=3].to_vec(), "bounds are (after, frontier]");
    let limited = store
        .read_events_until(&mut tx, &LogQuery::up_to(frontier).limit(2))
        .await
        .expect("limited");
    assert_eq!(limited, all[..2].to_vec());
    let beyond = store.read_events_until(&mut tx, &LogQuery::up_to(u64::MAX).limit(2)).await;
    assert_eq!(beyond.expect("an upper bound beyond every position"), all[..2].to_vec());
    db.rollback(tx).await.expect("rollback");
}

/// Event-type filters run in the database on their own and combined with aggregate types,
/// bounded contexts, partitions and the limit; what they return is exactly what
/// [`EventFilter::matches`] keeps, in position order.
pub async fn read_events_until_filters_by_event_type<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let id = Uuid::new_v4().to_string();
    let streams = [
        pupsourcing::StreamId::new("order", id.clone()),
        pupsourcing::StreamId::new("order", id.clone()).in_context("sales"),
        pupsourcing::StreamId::new("invoice", id).in_context("sales"),
    ];
    for round in 0..4 {
        for (i, stream) in streams.iter().enumerate() {
            let kind = ["Placed", "Paid", "Cancelled"][(round + i) % 3];
            let event = pupsourcing::Event::new(stream, kind, round.to_string().into_bytes());
            append(&db, &store, ExpectedVersion::Any, vec![event]).await.expect("append");
        }
    }
    store.advance_frontier().await.expect("advance");
    let mut tx = db.begin_read().await.expect("begin_read");
    let frontier = store.safe_frontier(&mut tx).await.expect("safe_frontier");
    let all =
        store.read_events_until(&mut tx, &LogQuery::up_to(frontier).limit(100)).await.expect("all");
    assert_eq!(all.len(), 12);
    let placed = || EventFilter::all().event_types(["Placed"]);
    let filters = [
        placed(),
        EventFilter::all().event_types(["Paid", "Cancelled"]),
        placed().aggregate_types(["order"]),
        placed().bounded_contexts(["sales"]),
        placed().aggregate_types(["invoice"]).bounded_contexts(["sales"]),
        EventFilter::all().event_types(["Refunded"]),
        placed().partition(streams[0].partition(2), 2),
    ];
    for filter in filters {
        let expected: Vec<_> = all.iter().filter(|e| filter.matches(&e.event)).cloned().collect();
        let query = LogQuery::up_to(frontier).filter(filter.clone());
        let got = store.read_events_until(&mut tx, &query.clone().limit(100)).await.expect("read");
        assert_eq!(got, expected, "{filter:?}");
        let first = store.read_events_until(&mut tx, &query.limit(1)).await.expect("limited");
        assert_eq!(first, expected.iter().take(1).cloned().collect::<Vec<_>>(), "{filter:?}");
    }
    db.rollback(tx).await.expect("rollback");
}
