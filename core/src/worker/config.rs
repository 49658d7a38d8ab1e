//! Worker settings.

use std::time::Duration;

/// When a unit that keeps failing is paused: after at least `attempts` consecutive failures
/// **and** at least `failing_for` since the first of them, both judged by the coordinator's
/// database, so the rule holds when a unit moves between nodes.
///
/// Failures whose cause is transient (a lost connection, a serialization failure, a busy
/// database, also when they come from the handler's own queries) never pause a unit: they are
/// counted and shown in the status, and retried for as long as they last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PauseRule {
    /// Consecutive failures needed. Default 5.
    pub attempts: u32,
    /// How long the unit must have been failing. Default 2 minutes: longer than a typical
    /// managed-PostgreSQL failover (30 to 120 s), during which a handler's calls to other systems
    /// may fail in ways nobody can classify; a projection should ride that out, not wait for an
    /// operator.
    pub failing_for: Duration,
}

impl Default for PauseRule {
    fn default() -> Self {
        Self { attempts: 5, failing_for: Duration::from_secs(120) }
    }
}

impl PauseRule {
    /// The longest window the coordinators judge: 100 years. A longer `failing_for` means the
    /// same (no unit fails for that long), and every backend can compute with it.
    pub const MAX_WINDOW: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

    /// `failing_for`, at most [`MAX_WINDOW`](Self::MAX_WINDOW): what coordinators compare with.
    pub fn window(&self) -> Duration {
        self.failing_for.min(Self::MAX_WINDOW)
    }
}

/// How a failing unit is retried before it is paused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry. Default 200 ms.
    pub initial_backoff: Duration,
    /// Longest delay between retries. Default 30 s.
    pub max_backoff: Duration,
    /// When a unit that keeps failing is paused.
    pub pause: PauseRule,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            pause: PauseRule::default(),
        }
    }
}

impl RetryPolicy {
    /// The delay after the `attempt`-th consecutive failure: exponential, capped, with "equal
    /// jitter" (between half and all of the exponential value) so that failing nodes spread out.
    pub fn backoff(&self, attempt: u32, random: u64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(20);
        let full = self.initial_backoff.saturating_mul(1 << exponent).min(self.max_backoff);
        let half = full / 2;
        let spread = u64::try_from(half.as_micros()).unwrap_or(u64::MAX);
        half + Duration::from_micros(if spread == 0 { 0 } else { random % (spread + 1) })
    }
}

/// Settings of a [`Worker`](crate::Worker). The defaults suit production; tests shorten the
/// intervals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// This process's node id. Default: host name, process id and a random suffix.
    pub node_id: String,
    /// The application version advertised to other nodes. Default: `"unknown"`.
    pub version: String,
    /// Events per batch transaction while a unit keeps up. Default 100.
    pub batch_size: usize,
    /// Largest batch while a unit catches up: each full batch doubles the next one up to this,
    /// amortizing the per-batch commit; the first partial batch returns to `batch_size`. Set it
    /// to `batch_size` to keep batches constant. Default 2000.
    pub max_batch_size: usize,
    /// Whether a full batch starts reading the next one (in a read transaction of its own, on a
    /// second connection) before it hands its events to the consumer, so that the commit and the
    /// next read overlap while a unit catches up. It changes nothing a consumer sees: the next
    /// batch uses the read only after its claim confirms the checkpoint it started from. Turn it
    /// off to keep each unit to one connection at a time. Default `true`.
    pub read_ahead: bool,
    /// Fallback poll when no wake-up arrives, and the re-check period of paused units.
    /// Default 1 s.
    pub poll_interval: Duration,
    /// Longest wait of an idle unit between polls (it backs off from `poll_interval`; a wake-up
    /// resets it). Default 5 s.
    pub idle_backoff_max: Duration,
    /// How often a node heartbeats, the leader renews its lease and nodes re-read their
    /// assignments. Default 1 s.
    pub heartbeat_interval: Duration,
    /// After how long without a heartbeat a node counts as dead. Default 5 s.
    pub heartbeat_timeout: Duration,
    /// How long a leader lease lasts without renewal. Default 5 s.
    pub lease_duration: Duration,
    /// Retries of failing units.
    pub retry: RetryPolicy,
    /// How long a shutdown waits for in-flight batches before abandoning (rolling back) them.
    /// Default 10 s.
    pub shutdown_grace: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            node_id: default_node_id(),
            version: "unknown".into(),
            batch_size: 100,
            max_batch_size: 2000,
            read_ahead: true,
            poll_interval: Duration::from_secs(1),
            idle_backoff_max: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(1),
            heartbeat_timeout: Duration::from_secs(5),
            lease_duration: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

fn default_node_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "node".into());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), suffix.get(..6).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_bounded_jitter() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            pause: PauseRule { attempts: 3, failing_for: Duration::ZERO },
        };
        assert_eq!(policy.backoff(1, 0), Duration::from_millis(50));
        assert_eq!(policy.backoff(1, u64::MAX), Duration::from_micros(50_000 + u64::MAX % 50_001));
        assert_eq!(policy.backoff(3, 0), Duration::from_millis(200));
        for random in [0, 7, 123_456_789, u64::MAX] {
            let d = policy.backoff(10, random);
            assert!(d >= Duration::from_millis(500) && d <= Duration::from_secs(1), "{d:?}");
        }
    }

    #[test]
    fn default_node_ids_are_unique() {
        assert_ne!(WorkerConfig::default().node_id, WorkerConfig::default().node_id);
    }
}
