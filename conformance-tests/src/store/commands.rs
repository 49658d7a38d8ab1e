//! Commands through the aggregate repository under real concurrency.

use std::collections::HashSet;
use std::sync::Arc;

use pupsourcing::aggregate::{CommandError, CommandRetry, Decider, Executed, Repository, decider};
use pupsourcing::typed::TypedError;
use pupsourcing::{Backend, Database, DomainEvent, EventStore, StoreError, StreamId};
use serde::{Deserialize, Serialize};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::StoreBackend;
use crate::support::{read, unique_stream};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Added {
    command: Uuid,
    total: u64,
}

#[derive(Debug, Clone, PartialEq, DomainEvent)]
#[event(aggregate_type = "tally")]
enum TallyEvent {
    #[event(name = "Added")]
    Added(Added),
}

#[derive(Debug, thiserror::Error)]
#[error("the tally is full")]
struct Full;

const TASKS: usize = 16;
const COMMANDS: usize = 5;

/// 16 tasks issue 5 commands each on one aggregate at once, half with `execute` (no
/// transaction: the committed load and append) and half with `execute_in` in transactions of
/// their own: every command is applied exactly once (its id appears once), no update is lost
/// (each event's running total is one more than the previous one), conflicts are retried,
/// domain errors are not retried, and an idempotent command that already committed is not applied again on its stream
/// while the same command id still drives a command on another stream.
pub async fn concurrent_commands_on_one_aggregate_apply_exactly_once<B: StoreBackend>(backend: &B) {
    let (db, store) = backend.fresh_store().await;
    let tally = decider(
        || 0u64,
        |total, TallyEvent::Added(added): &TallyEvent| total.max(added.total),
        |total: &u64, command: &Uuid| {
            if *total >= 1000 {
                return Err(Full);
            }
            Ok(vec![TallyEvent::Added(Added { command: *command, total: total + 1 })])
        },
    );
    let retry = CommandRetry { attempts: 200, ..CommandRetry::default() };
    let repository = Arc::new(
        Repository::new(&Backend::from_parts(db.clone(), store.clone(), (), ()), tally)
            .with_retry(retry),
    );
    let stream = StreamId::new("tally", unique_stream("tally").aggregate_id());
    let barrier = Arc::new(Barrier::new(TASKS));
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let (db, repository, stream, barrier) =
                (db.clone(), Arc::clone(&repository), stream.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                let (mut issued, mut most_attempts) = (Vec::new(), 0);
                for _ in 0..COMMANDS {
                    let command = Uuid::new_v4();
                    let executed = if task % 2 == 0 {
                        repository.execute(&stream, &command).await
                    } else {
                        execute_in_transactions(&db, &repository, &stream, &command).await
                    };
                    let executed = executed.unwrap_or_else(|err| panic!("command failed: {err}"));
                    assert!(executed.appended.is_some() && !executed.already_applied);
                    most_attempts = most_attempts.max(executed.attempts);
                    issued.push(command);
                }
                (issued, most_attempts)
            })
        })
        .collect();
    let (mut issued, mut most_attempts) = (HashSet::new(), 0);
    for task in tasks {
        let (commands, attempts) = task.await.expect("task");
        issued.extend(commands);
        most_attempts = most_attempts.max(attempts);
    }
    assert_eq!(issued.len(), TASKS * COMMANDS);
    if !backend.capabilities().single_writer {
        assert!(most_attempts > 1, "16 concurrent writers never conflicted: nothing was retried");
    }

    let stored = read(&db, &store, &stream).await;
    assert_eq!(stored.len(), TASKS * COMMANDS, "every command appended once");
    let mut seen = HashSet::new();
    for (index, event) in stored.iter().enumerate() {
        let TallyEvent::Added(added) = TallyEvent::decode(event).expect("decode");
        assert_eq!(added.total, u64::try_from(index).expect("small") + 1, "a lost update");
        assert!(seen.insert(added.command), "command {} applied twice", added.command);
    }
    assert_eq!(seen, issued);

    let retried = Uuid::new_v4();
    let first = repository.execute_idempotent(&stream, retried, &retried).await.expect("first");
    assert!(first.appended.is_some());
    let again = repository.execute_idempotent(&stream, retried, &retried).await.expect("again");
    assert!(again.already_applied && again.appended.is_none(), "{again:?}");
    assert_eq!(again.version, first.version, "an already applied command reports the version");
    assert_eq!(read(&db, &store, &stream).await.len(), TASKS * COMMANDS + 1);

    let other = StreamId::new("tally", unique_stream("tally").aggregate_id());
    let elsewhere = repository.execute_idempotent(&other, retried, &retried).await.expect("other");
    assert!(
        elsewhere.appended.is_some() && !elsewhere.already_applied,
        "one command id drives commands on several streams: {elsewhere:?}"
    );
    assert_eq!(read(&db, &store, &other).await.len(), 1);

    let full = Repository::new(
        &Backend::from_parts(db.clone(), store.clone(), (), ()),
        decider(
            || 0u64,
            |total, _: &TallyEvent| total + 1,
            |_: &u64, _: &Uuid| Err::<Vec<TallyEvent>, _>(Full),
        ),
    );
    let refused = full.execute(&stream, &Uuid::new_v4()).await;
    assert!(matches!(refused, Err(CommandError::Domain(Full))), "{refused:?}");
}

/// `execute_in` in a transaction of its own, begun again after a conflict or a retryable
/// failure of the command (what `execute` does when it needs a transaction), with a short
/// growing pause between attempts. No fault is injected here, so a failed begin, commit or
/// rollback is a failure of the test, reported with its error.
async fn execute_in_transactions<D, S, Dc>(
    db: &D,
    repository: &Repository<D, S, Dc>,
    stream: &StreamId,
    command: &Dc::Command,
) -> Result<Executed, CommandError<Dc::Error>>
where
    D: Database,
    S: EventStore<D> + Clone,
    Dc: Decider,
{
    for attempts in 1..=200u32 {
        let mut tx = db.begin().await.unwrap_or_else(|err| panic!("begin failed: {err}"));
        let err = match repository.execute_in(&mut tx, stream, command).await {
            Ok(executed) => {
                db.commit(tx).await.unwrap_or_else(|err| panic!("commit failed: {err}"));
                return Ok(Executed { attempts, ..executed });
            }
            Err(err) => err,
        };
        if let Err(rollback) = db.rollback(tx).await {
            panic!("rollback failed: {rollback} (after: {err})");
        }
        match err {
            CommandError::Store(TypedError::Store(StoreError::Conflict { .. })) => {}
            CommandError::Store(err) if err.is_retryable() => {}
            other => return Err(other),
        }
        tokio::time::sleep(std::time::Duration::from_millis(u64::from(attempts.min(20)))).await;
    }
    panic!("a command in transactions did not get through in 200 attempts");
}
