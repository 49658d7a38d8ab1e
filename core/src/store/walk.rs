//! The pure core of a fenced frontier advance, shared by the SQL backends: given the positions a
//! read shows, the holes recorded earlier and the oldest transaction that may still be running,
//! decide the new frontier and the fate of every hole. No I/O, so every case is unit-tested here.
//!
//! A backend records each run of positions it sees missing for the first time with a *fence*: a
//! transaction id it took after the read that found the run, above the id of every writer that
//! could still fill it (writers take their id before they draw a position). A run is dead once
//! every transaction below its fence has finished (the [`Horizon`] has reached the fence) and
//! it is still missing from a read taken after the horizon was observed. PostgreSQL observes
//! the horizon as `pg_snapshot_xmin`; MySQL from a fresh `INNODB_TRX`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::OpenHole;

/// The oldest transaction that may still be running, as observed before the read the walk
/// judges holes by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    /// Every transaction id below it had finished (`u64::MAX`: none was running).
    pub xmin: u64,
}

/// How a run of missing positions ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Every position of the run became visible.
    Filled,
    /// Proven never to fill (the missing positions' transactions rolled back).
    Dead,
    /// Skipped by the opt-in timeout, without proof.
    Forced,
}

impl Resolution {
    /// The resolution as the holes table stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Filled => "filled",
            Self::Dead => "dead",
            Self::Forced => "forced",
        }
    }

    /// A resolution as the holes table stores it.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "filled" => Some(Self::Filled),
            "dead" => Some(Self::Dead),
            "forced" => Some(Self::Forced),
            _ => None,
        }
    }
}

/// A run of positions recorded as missing by an earlier advance, above the frontier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownHole {
    /// The first missing position.
    pub start: u64,
    /// The last missing position.
    pub end: u64,
    /// The transaction id the advance that first saw the run took after its snapshot: above the
    /// id of every writer that could still fill the run.
    pub first_seen_xid: u64,
    /// How long ago the run was first seen.
    pub age: Duration,
    /// How it ended, if it has.
    pub resolution: Option<Resolution>,
}

/// A run of positions seen missing for the first time. It is always open: its fate can only be
/// proven by a later snapshot (see the module documentation of `frontier`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHole {
    /// The first missing position.
    pub start: u64,
    /// The last missing position.
    pub end: u64,
}

/// What an advance decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walk {
    /// The new frontier.
    pub frontier: u64,
    /// Runs seen missing for the first time, to record with the advance's fence.
    pub new_holes: Vec<NewHole>,
    /// Known runs that ended, by first position.
    pub resolved: Vec<(u64, Resolution)>,
    /// Runs still open.
    pub open: Vec<OpenHole>,
    /// Runs skipped by the opt-in timeout.
    pub forced: Vec<OpenHole>,
    /// The open run the frontier stopped at.
    pub blocking: Option<OpenHole>,
}

impl Walk {
    /// Whether anything must be written back.
    pub fn changes_state(&self, old_frontier: u64) -> bool {
        self.frontier != old_frontier || !self.new_holes.is_empty() || !self.resolved.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    AlreadyResolved,
    Dead,
    Forced,
    Pending,
}

fn fate(hole: &KnownHole, horizon: Horizon, force_after: Option<Duration>) -> Fate {
    if hole.resolution.is_some() {
        Fate::AlreadyResolved
    } else if horizon.xmin >= hole.first_seen_xid {
        Fate::Dead
    } else if force_after.is_some_and(|limit| hole.age >= limit) {
        Fate::Forced
    } else {
        Fate::Pending
    }
}

/// Decides the new frontier from one read.
///
/// `visible`: positions above `frontier` visible in the read, ascending (possibly a window:
/// nothing above its last element is looked at). `known`: recorded runs ending above `frontier`,
/// ascending and disjoint.
pub fn walk(
    frontier: u64,
    visible: &[u64],
    known: &[KnownHole],
    horizon: Horizon,
    force_after: Option<Duration>,
) -> Walk {
    let open_hole = |h: &KnownHole| OpenHole { start: h.start, end: h.end, age: h.age };
    let Some(&top) = visible.last() else {
        let open = known.iter().filter(|h| h.resolution.is_none()).map(open_hole).collect();
        return Walk { frontier, open, ..Walk::default() };
    };
    let fates: Vec<Fate> = known.iter().map(|h| fate(h, horizon, force_after)).collect();
    let mut touched = vec![false; known.len()];
    let mut first_block: Option<OpenHole> = None;
    let mut new_holes = Vec::new();
    let mut new_segment = |start: u64, end: u64, first_block: &mut Option<OpenHole>| {
        if first_block.is_none() {
            *first_block = Some(OpenHole { start, end, age: Duration::ZERO });
        }
        new_holes.push(NewHole { start, end });
    };

    let mut row = 0;
    let mut previous = frontier;
    for &position in visible {
        if position > previous + 1 {
            let (gap_start, gap_end) = (previous + 1, position - 1);
            while row < known.len() && known[row].end < gap_start {
                row += 1;
            }
            let mut cursor = gap_start;
            let mut next = row;
            while cursor <= gap_end {
                match known.get(next).filter(|h| h.start <= gap_end) {
                    Some(hole) if hole.start > cursor => {
                        new_segment(cursor, hole.start - 1, &mut first_block);
                        cursor = hole.start;
                    }
                    Some(hole) => {
                        touched[next] = true;
                        if fates[next] == Fate::Pending && first_block.is_none() {
                            first_block =
                                Some(OpenHole { start: cursor, end: hole.end, age: hole.age });
                        }
                        cursor = hole.end.min(gap_end) + 1;
                        if hole.end <= gap_end {
                            next += 1;
                        }
                    }
                    None => {
                        new_segment(cursor, gap_end, &mut first_block);
                        cursor = gap_end + 1;
                    }
                }
            }
            row = next;
        }
        previous = position;
    }

    let mut walk = Walk {
        frontier: first_block.as_ref().map_or(top, |hole| hole.start - 1),
        ..Walk::default()
    };
    for ((hole, fate), touched) in known.iter().zip(&fates).zip(&touched) {
        let in_window = hole.start <= top;
        match fate {
            Fate::AlreadyResolved => {}
            Fate::Dead if in_window => {
                let resolution = if *touched { Resolution::Dead } else { Resolution::Filled };
                walk.resolved.push((hole.start, resolution));
            }
            Fate::Forced if in_window && *touched => {
                walk.resolved.push((hole.start, Resolution::Forced));
                walk.forced.push(open_hole(hole));
            }
            Fate::Forced | Fate::Pending if in_window && !touched && hole.end <= top => {
                walk.resolved.push((hole.start, Resolution::Filled));
            }
            _ => walk.open.push(open_hole(hole)),
        }
    }
    walk.open.extend(new_holes.iter().map(|h| OpenHole {
        start: h.start,
        end: h.end,
        age: Duration::ZERO,
    }));
    walk.open.sort_by_key(|h| h.start);
    walk.new_holes = new_holes;
    walk.blocking = first_block;
    walk
}

/// Lets an adapter's hole warnings through at most once per period, however many advances meet
/// the hole.
#[derive(Debug, Default)]
pub struct WarningThrottle(Mutex<Option<Instant>>);

impl WarningThrottle {
    /// Whether a warning may be logged at `now` (and if so, counts it).
    pub fn may_warn(&self, now: Instant, period: Duration) -> bool {
        let mut last = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| now.duration_since(at) < period) {
            return false;
        }
        *last = Some(now);
        true
    }
}

#[cfg(test)]
mod tests;
