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
