//! The global log: every committed event once, in position order, readable in pages.

use pupsourcing::{Database, EventStore, ExpectedVersion};

use crate::StoreBackend;
use crate::support::{append, event, global_log, unique_stream};

/// Appends to interleaved streams come back from `read_events` in increasing position order,
/// complete, and identical when read in pages of any size; `latest_position` is the last one.
pub async fn global_log_is_ordered_and_pages<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let streams: Vec<_> = (0..4).map(|_| unique_stream("ledger")).collect();
    let mut appended = Vec::new();
    for round in 0..5 {
        for stream in &streams {
            let batch =
                vec![event(stream, &format!("{round}a")), event(stream, &format!("{round}b"))];
            let result = append(&db, &store, ExpectedVersion::Any, batch).await.expect("append");
            appended.extend(result.into_events());
        }
    }
    let log = global_log(&db, &store).await;
    assert_eq!(log, appended, "the log must list every event once, in append order");
    assert!(log.windows(2).all(|w| w[0].global_position < w[1].global_position));

    let mut tx = db.begin_read().await.expect("begin_read");
    for page_size in [1, 3, 7, 40] {
        let mut paged = Vec::new();
        loop {
            let after = paged.last().map_or(0, |e: &pupsourcing::PersistedEvent| e.global_position);
            let page = store.read_events(&mut tx, after, page_size).await.expect("page");
            assert!(page.len() <= page_size);
            if page.is_empty() {
                break;
            }
            paged.extend(page);
        }
        assert_eq!(paged, log, "paging by {page_size} changed the log");
    }
    let middle = log[17].global_position;
    let tail = store.read_events(&mut tx, middle, 100).await.expect("tail");
    assert_eq!(tail, log[18..].to_vec());
    assert!(store.read_events(&mut tx, 0, 0).await.expect("limit 0").is_empty());
    assert_eq!(store.latest_position(&mut tx).await.expect("latest"), log[39].global_position);
    db.rollback(tx).await.expect("rollback");
}
