//! Load, decide, append, retry.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::aggregate::Decider;
use crate::aggregate::session::Session;
use crate::aggregate::snapshotting::{SnapshotPolicy, Snapshotting};
use crate::snapshot::SnapshotStore;
use crate::typed::{Typed, TypedError, decode_stream};
use crate::worker::context::random;
use crate::{
    AppendResult, Backend, Database, DomainEvent, EventStore, ExpectedVersion, StoreError,
    StreamId, Versions,
};

/// How often and how patiently a command is tried again after another writer won the race (or
/// the database failed transiently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandRetry {
    /// Attempts in all, the first included. Default 10.
    pub attempts: u32,
    /// Delay before the second attempt, doubling up to `max_backoff`, with jitter (between half
    /// and all of it). Default 2 ms.
    pub initial_backoff: Duration,
    /// Longest delay. Default 100 ms.
    pub max_backoff: Duration,
}

impl Default for CommandRetry {
    fn default() -> Self {
        Self {
            attempts: 10,
            initial_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(100),
        }
    }
}

impl CommandRetry {
    fn delay(&self, retry: u32) -> Duration {
        let full = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        let half = full / 2;
        let spread = u64::try_from(half.as_micros()).unwrap_or(u64::MAX);
        half + Duration::from_micros(random() % spread.saturating_add(1))
    }
}

/// An aggregate's state as loaded, with the stream version it reflects.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<S> {
    /// The state folded from every event (from a snapshot and the events after it).
    pub state: S,
    /// The stream's version (0: no event yet).
    pub version: u64,
    /// The version of the snapshot the load started from, if it used one.
    pub snapshot: Option<u64>,
}

impl<S> Loaded<S> {
    /// How many events the load folded (those after the snapshot, if any).
    pub fn replayed(&self) -> u64 {
        self.version - self.snapshot.unwrap_or(0)
    }
}

/// What a command did.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    /// The append, `None` when the decision produced no event.
    pub appended: Option<AppendResult>,
    /// The stream version after the command.
    pub version: u64,
    /// How many attempts it took (1: no conflict).
    pub attempts: u32,
    /// Whether the command had already been applied (its event ids were stored): an idempotent
    /// command run again, or an attempt whose commit's outcome was unknown and had committed.
    pub already_applied: bool,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError<E: std::error::Error + 'static> {
    /// The aggregate refused the command.
    #[error("the command was refused: {0}")]
    Domain(#[source] E),
    /// Other writers kept winning the race for every attempt.
    #[error("the stream kept changing: gave up after {attempts} attempts")]
    Contended {
        /// Attempts made.
        attempts: u32,
        /// The last conflict.
        #[source]
        last: StoreError,
    },
    /// Loading, decoding, encoding or appending failed.
    #[error(transparent)]
    Store(#[from] TypedError),
}

/// The event id of the `index`-th event a command decides for `stream`: the same command id on
/// the same stream gives the same ids, so a command retried after its commit (an unknown
/// outcome, a client retry) is recognised instead of applied twice, while one command id may
/// still drive commands on several streams (a transfer's withdrawal and deposit). Version-5
/// UUIDs in the command id's namespace, over the stream and the index.
pub fn event_id_for(command_id: Uuid, stream: &StreamId, index: usize) -> Uuid {
    Uuid::new_v5(&command_id, format!("{stream}#{index}").as_bytes())
}

/// Runs commands on the aggregates of one [`Decider`].
///
/// ```
/// # #[cfg(feature = "derive")] {
/// use pupsourcing::aggregate::{Repository, decider};
/// use pupsourcing::{DomainEvent, StreamId};
///
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Deposited { cents: u64 }
///
/// #[derive(Debug, PartialEq, DomainEvent)]
/// #[event(aggregate_type = "account")]
/// enum AccountEvent {
///     #[event(name = "MoneyDeposited")]
///     Deposited(Deposited),
/// }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("deposits must be positive")]
/// struct NotPositive;
///
/// let account = decider(
///     || 0u64,
///     |balance, AccountEvent::Deposited(d): &AccountEvent| balance + d.cents,
///     |_balance: &u64, cents: &u64| match cents {
///         0 => Err(NotPositive),
///         &cents => Ok(vec![AccountEvent::Deposited(Deposited { cents })]),
///     },
/// );
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let backend = pupsourcing_memory::open();
/// let accounts = Repository::new(&backend, account);
/// let id = StreamId::new("account", "a-1");
/// accounts.execute(&id, &250).await?;
/// accounts.execute(&id, &100).await?;
/// assert!(accounts.execute(&id, &0).await.is_err());
/// assert_eq!(accounts.load_committed(&id).await?.state, 350);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// # }
/// ```
pub struct Repository<D: Database, S, Dc: Decider> {
    db: D,
    store: S,
    decider: Arc<Dc>,
    retry: CommandRetry,
    pub(crate) snapshots: Option<Arc<Snapshotting<D, Dc::State>>>,
}

impl<D: Database, S: Clone, Dc: Decider> Clone for Repository<D, S, Dc> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            store: self.store.clone(),
            decider: Arc::clone(&self.decider),
            retry: self.retry,
            snapshots: self.snapshots.clone(),
        }
    }
}

impl<D, S, Dc> Repository<D, S, Dc>
where
    D: Database,
    S: EventStore<D> + Clone,
    Dc: Decider,
{
    /// A repository over the database and store of `backend`.
    pub fn new<C, K>(backend: &Backend<D, S, C, K>, decider: Dc) -> Self {
        Self {
            db: backend.database().clone(),
            store: backend.store().clone(),
            decider: Arc::new(decider),
            retry: CommandRetry::default(),
            snapshots: None,
        }
    }

    /// Loads aggregates from snapshots in `snapshots` (the snapshot store of the same database)
    /// and writes them as `policy` says.
    ///
    /// A load starts from the newest snapshot of the stream, deserialized with serde (JSON), and
    /// folds the events after it; a snapshot of another
    /// [`state_version`](SnapshotPolicy::state_version), or one that does not deserialize, is
    /// ignored (a full replay, counted in the metric
    /// [`SNAPSHOTS_STALE`](super::SNAPSHOTS_STALE) or
    /// [`SNAPSHOTS_UNDECODABLE`](super::SNAPSHOTS_UNDECODABLE) and logged once per state
    /// version). Snapshots written in the command's transaction commit or roll back with its
    /// events, so none covers a version that was rolled back.
    ///
    /// An idempotent command whose events lie before the snapshot is still recognised: by the
    /// store refusing its event ids when it decides them again, or, when it now decides nothing
    /// or is refused, by a look at the events before the snapshot.
    #[must_use]
    pub fn with_snapshots<Sn>(mut self, snapshots: Sn, policy: SnapshotPolicy) -> Self
    where
        Sn: SnapshotStore<D>,
        Dc::State: Serialize + DeserializeOwned,
    {
        self.snapshots = Some(Arc::new(Snapshotting::new(
            Arc::new(snapshots),
            policy,
            serde_json::to_vec,
            |bytes| serde_json::from_slice(bytes),
        )));
        self
    }

    /// Replaces the retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: CommandRetry) -> Self {
        self.retry = retry;
        self
    }

    /// Folds `stream` inside `tx` (from its newest usable snapshot, with snapshots).
    pub async fn load(
        &self,
        tx: &mut D::Tx,
        stream: &StreamId,
    ) -> Result<Loaded<Dc::State>, TypedError> {
        Ok(self.load_events(&mut Session::Tx(tx), stream, u64::MAX).await?.0)
    }

    /// Folds `stream` up to version `up_to` from the newest usable snapshot at or below it, and
    /// returns the events it folded.
    pub(crate) async fn load_events(
        &self,
        session: &mut Session<'_, D>,
        stream: &StreamId,
        up_to: u64,
    ) -> Result<(Loaded<Dc::State>, Vec<Typed<Dc::Event>>), TypedError> {
        let restored = match &self.snapshots {
            Some(snapshots) => session.restore(snapshots, stream, up_to).await?,
            None => None,
        };
        let (snapshot, state) = match restored {
            Some((version, state)) => (Some(version), state),
            None => (None, self.decider.initial_state()),
        };
        let base = snapshot.unwrap_or(0);
        let versions = Versions::from(base.saturating_add(1)..=up_to);
        let events = decode_stream(session.read_stream(&self.store, stream, versions).await?)?;
        let version = events.last().map_or(base, |typed| typed.persisted.aggregate_version);
        let state =
            events.iter().fold(state, |state, typed| self.decider.evolve(state, &typed.event));
        Ok((Loaded { state, version, snapshot }, events))
    }

    /// Folds `stream` as committed now, without a transaction where the backend can read
    /// without one ([`EventStore::read_stream_committed`]).
    pub async fn load_committed(&self, stream: &StreamId) -> Result<Loaded<Dc::State>, TypedError> {
        Ok(self.load_events(&mut Session::Committed(&self.db), stream, u64::MAX).await?.0)
    }

    /// Runs `command` on `stream`: load, decide, append; on a conflict or a retryable failure,
    /// again from the load, within the retry policy.
    ///
    /// A command that writes nothing but its events (no snapshot store, or snapshots written
    /// [`Deferred`]) takes no write transaction: it loads with
    /// [`EventStore::read_stream_committed`] (and reads the snapshot, if any, in a read
    /// transaction of its own) and appends with [`EventStore::append_committed`], whose `Exact`
    /// expectation is what makes the decision safe (on PostgreSQL one statement each, no
    /// `BEGIN`/`COMMIT`). Every attempt is one write transaction instead when snapshots are
    /// written [`InCommand`] (a snapshot commits with the events it covers), and on a database
    /// whose write transactions queue one at a time ([`Database::serializes_writers`]: SQLite),
    /// where concurrent commands on one aggregate then wait for each other instead of
    /// conflicting.
    ///
    /// [`Deferred`]: crate::aggregate::SnapshotWrite::Deferred
    /// [`InCommand`]: crate::aggregate::SnapshotWrite::InCommand
    ///
    /// Every attempt writes the same event ids (from a command id made for the call), so when a
    /// commit's outcome was unknown (the connection dropped during it) and it had in fact
    /// committed, the next attempt finds its events and reports `already_applied` instead of
    /// applying the command twice.
    pub async fn execute(
        &self,
        stream: &StreamId,
        command: &Dc::Command,
    ) -> Result<Executed, CommandError<Dc::Error>> {
        self.run(stream, command, Uuid::new_v4(), false).await
    }

    /// Like [`execute`](Self::execute), with event ids derived from `command_id`
    /// ([`event_id_for`]): a command that already committed (say, retried by a client after a
    /// lost response) reports `already_applied` instead of deciding and appending again. It is
    /// recognised by its first event id in the stream, or by the store refusing the ids as
    /// duplicates when the earlier run committed concurrently.
    pub async fn execute_idempotent(
        &self,
        stream: &StreamId,
        command_id: Uuid,
        command: &Dc::Command,
    ) -> Result<Executed, CommandError<Dc::Error>> {
        self.run(stream, command, command_id, true).await
    }

    /// Runs `command` inside the caller's `tx`, once: a conflict is returned (the caller's
    /// transaction must be rolled back), nothing is retried.
    pub async fn execute_in(
        &self,
        tx: &mut D::Tx,
        stream: &StreamId,
        command: &Dc::Command,
    ) -> Result<Executed, CommandError<Dc::Error>> {
        self.attempt(&mut Session::Tx(tx), stream, command, Uuid::new_v4(), 1, false).await
    }

    async fn run(
        &self,
        stream: &StreamId,
        command: &Dc::Command,
        command_id: Uuid,
        idempotent: bool,
    ) -> Result<Executed, CommandError<Dc::Error>> {
        let attempts = self.retry.attempts.max(1);
        let in_transaction = self.db.serializes_writers()
            || self
                .snapshots
                .as_ref()
                .is_some_and(|snapshots| snapshots.policy.writes_in_command());
        let mut attempt = 1;
        loop {
            let recheck = idempotent || attempt > 1;
            let outcome = if !in_transaction {
                let mut session = Session::Committed(&self.db);
                self.attempt(&mut session, stream, command, command_id, attempt, recheck).await
            } else {
                match self.db.begin().await {
                    Ok(mut tx) => {
                        let mut session = Session::Tx(&mut tx);
                        let attempted = self
                            .attempt(&mut session, stream, command, command_id, attempt, recheck)
                            .await;
                        match attempted {
                            Ok(executed) => {
                                self.db.commit(tx).await.map(|()| executed).map_err(store_error)
                            }
                            Err(err) => {
                                // The attempt's error is what matters; a failed rollback means
                                // the connection is gone, which the next attempt reports.
                                let _ = self.db.rollback(tx).await;
                                Err(err)
                            }
                        }
                    }
                    Err(err) => Err(store_error(err)),
                }
            };
            match outcome {
                // The same ids committed concurrently (a client retry racing the first run):
                // applied once; the version is read again, since it moved on.
                Err(CommandError::Store(TypedError::Store(StoreError::DuplicateEventId {
                    ..
                }))) => {
                    let loaded = self.load_committed(stream).await?;
                    return Ok(Executed {
                        appended: None,
                        version: loaded.version,
                        attempts: attempt,
                        already_applied: true,
                    });
                }
                Err(CommandError::Store(err)) if retryable(&err) && attempt < attempts => {
                    tokio::time::sleep(self.retry.delay(attempt - 1)).await;
                    attempt += 1;
                }
                Err(CommandError::Store(TypedError::Store(last @ StoreError::Conflict { .. }))) => {
                    return Err(CommandError::Contended { attempts: attempt, last });
                }
                other => return other,
            }
        }
    }

    /// One attempt. With `recheck`, a command that decides nothing or is refused after a load
    /// from a snapshot looks for its first event id before the snapshot too, since an earlier
    /// run of it (same id) may lie there.
    async fn attempt(
        &self,
        session: &mut Session<'_, D>,
        stream: &StreamId,
        command: &Dc::Command,
        command_id: Uuid,
        attempts: u32,
        recheck: bool,
    ) -> Result<Executed, CommandError<Dc::Error>> {
        let (loaded, events) = self.load_events(session, stream, u64::MAX).await?;
        let applied =
            |version| Executed { appended: None, version, attempts, already_applied: true };
        // An idempotent command that committed before is recognised by its first event id,
        // before deciding again (a second decision could refuse, or decide something else).
        let first = event_id_for(command_id, stream, 0);
        if events.iter().any(|typed| typed.persisted.event.event_id == first) {
            return Ok(applied(loaded.version));
        }
        let decision = self.decider.decide(&loaded.state, command);
        let undecided = !matches!(&decision, Ok(decided) if !decided.is_empty());
        if let Some(snapshot) = loaded.snapshot.filter(|_| recheck && undecided) {
            let before = session
                .read_stream(&self.store, stream, Versions::from(..=snapshot))
                .await
                .map_err(TypedError::from)?;
            if before.events().iter().any(|event| event.event.event_id == first) {
                return Ok(applied(loaded.version));
            }
        }
        let decided = decision.map_err(CommandError::Domain)?;
        if decided.is_empty() {
            return Ok(Executed {
                appended: None,
                version: loaded.version,
                attempts,
                already_applied: false,
            });
        }
        let expected = match loaded.version {
            0 => ExpectedVersion::NoStream,
            version => ExpectedVersion::Exact(version),
        };
        let mut events = decided
            .iter()
            .map(|event| event.to_event(stream))
            .collect::<Result<Vec<_>, _>>()
            .map_err(TypedError::from)?;
        for (index, event) in events.iter_mut().enumerate() {
            event.event_id = event_id_for(command_id, stream, index);
        }
        let appended =
            session.append(&self.store, expected, events).await.map_err(TypedError::from)?;
        let version = appended.to_version();
        // `run` gives a command that may write snapshots a transaction (`writes_in_command`).
        if let (Some(snapshots), Session::Tx(tx)) = (&self.snapshots, session) {
            let policy = snapshots.policy;
            let base = loaded.snapshot.unwrap_or(0);
            if policy.writes_in_command() && policy.due(base, loaded.version, version) {
                let state = decided
                    .iter()
                    .fold(loaded.state, |state, event| self.decider.evolve(state, event));
                let snapshot = snapshots.encode(stream, version, &state);
                snapshots.save(tx, snapshot).await.map_err(TypedError::from)?;
            }
        }
        Ok(Executed { version, appended: Some(appended), attempts, already_applied: false })
    }
}

fn retryable(err: &TypedError) -> bool {
    matches!(err, TypedError::Store(StoreError::Conflict { .. })) || err.is_retryable()
}

fn store_error<E: std::error::Error>(err: crate::BackendError) -> CommandError<E> {
    CommandError::Store(TypedError::Store(StoreError::from(err)))
}

#[cfg(test)]
mod tests;
