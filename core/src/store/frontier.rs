//! The safe frontier: how far the global log can be read without ever skipping an event.
//!
//! Positions are handed out when a transaction inserts, but transactions commit in any order and
//! rolled-back ones leave holes forever. A reader that remembers "the last position I saw" and
//! asks for everything after it skips any event whose transaction commits later with a lower
//! position. The safe frontier is a position at or below which every position is final:
//! committed and visible, or proven never to be. Readers that never read past it never skip.
//!
//! Single-writer backends (SQLite, memory) commit in position order, so their frontier is the
//! highest committed position. PostgreSQL proves holes dead from transaction snapshots; see the
//! `frontier` module of `pupsourcing-postgres`.

use std::time::Duration;

/// A monitoring snapshot of the frontier, returned by
/// [`EventStore::advance_frontier`](crate::EventStore::advance_frontier).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontierStatus {
    /// Every position at or below this one is final.
    pub safe_position: u64,
    /// The highest committed position the advance saw.
    pub latest_position: u64,
    /// Positions above the frontier that are missing and not yet proven dead, lowest first.
    pub open_holes: Vec<OpenHole>,
    /// Holes this advance skipped because they outlived the opt-in force-skip timeout.
    pub forced: Vec<OpenHole>,
}

impl FrontierStatus {
    /// How many positions consumers cannot read yet: `latest_position - safe_position`.
    pub fn lag(&self) -> u64 {
        self.latest_position.saturating_sub(self.safe_position)
    }

    /// Age of the oldest open hole, if any.
    pub fn oldest_hole_age(&self) -> Option<Duration> {
        self.open_holes.iter().map(|h| h.age).max()
    }
}

/// A run of missing positions above the frontier, first seen together, whose transaction may
/// still commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenHole {
    /// The first missing position of the run.
    pub start: u64,
    /// The last position of the run (some may have been filled since).
    pub end: u64,
    /// How long ago the run was first seen missing (database clock).
    pub age: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_and_oldest_hole() {
        let status = FrontierStatus {
            safe_position: 10,
            latest_position: 15,
            open_holes: vec![
                OpenHole { start: 11, end: 11, age: Duration::from_millis(5) },
                OpenHole { start: 13, end: 14, age: Duration::from_millis(9) },
            ],
            forced: Vec::new(),
        };
        assert_eq!(status.lag(), 5);
        assert_eq!(status.oldest_hole_age(), Some(Duration::from_millis(9)));
        assert_eq!(FrontierStatus::default().lag(), 0);
    }
}

/// How the safe frontier is advanced.
///
/// ```
/// use std::time::Duration;
/// use pupsourcing::FrontierConfig;
///
/// let config = FrontierConfig::default().with_hole_warning_after(Duration::from_secs(30));
/// assert_eq!(config.force_skip_after(), None); // never skips unless asked to
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontierConfig {
    window: usize,
    hole_warning_after: Duration,
    force_skip_after: Option<Duration>,
    hole_retention: Duration,
}

impl Default for FrontierConfig {
    fn default() -> Self {
        Self {
            window: 10_000,
            hole_warning_after: Duration::from_secs(10),
            force_skip_after: None,
            hole_retention: Duration::from_secs(24 * 60 * 60),
        }
    }
}

impl FrontierConfig {
    /// How many positions above the frontier one round of an advance examines (default 10 000);
    /// an advance keeps going round by round while the frontier moves through full windows.
    #[must_use]
    pub fn with_window(mut self, positions: usize) -> Self {
        self.window = positions.max(1);
        self
    }

    /// After how long an open hole holding the frontier back is reported with a `tracing`
    /// warning naming the oldest transaction that may be behind it (default 10 s).
    #[must_use]
    pub fn with_hole_warning_after(mut self, age: Duration) -> Self {
        self.hole_warning_after = age;
        self
    }

    /// **Opt-in, lossy.** Skips a hole once it has been open this long, whether or not its
    /// transaction could still commit. Its events, if they ever commit, will never reach
    /// consumers. Each skip is logged as a warning and recorded as `forced` in the holes table.
    /// Off by default: without it, a long transaction delays consumers but never makes them skip.
    #[must_use]
    pub fn with_force_skip_after(mut self, age: Option<Duration>) -> Self {
        self.force_skip_after = age;
        self
    }

    /// How long resolved holes (filled or dead) stay in the holes table for inspection (default
    /// 24 h). Forced skips are kept forever, as an audit trail.
    #[must_use]
    pub fn with_hole_retention(mut self, retention: Duration) -> Self {
        self.hole_retention = retention;
        self
    }

    /// Positions examined per round.
    pub fn window(&self) -> usize {
        self.window
    }

    /// The warning threshold.
    pub fn hole_warning_after(&self) -> Duration {
        self.hole_warning_after
    }

    /// The force-skip timeout, if enabled.
    pub fn force_skip_after(&self) -> Option<Duration> {
        self.force_skip_after
    }

    /// The retention of resolved holes.
    pub fn hole_retention(&self) -> Duration {
        self.hole_retention
    }
}
