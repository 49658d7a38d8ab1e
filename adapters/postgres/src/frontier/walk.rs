//! The pure core of a frontier advance: given what one snapshot shows, decide the new frontier
//! and the fate of every hole. No I/O, so every case is unit-tested here.

use std::time::Duration;

use pupsourcing::OpenHole;

/// What the advance needs of the snapshot it read everything from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// `pg_snapshot_xmin`: every transaction id below it had finished.
    pub(crate) xmin: u64,
}

/// How a run of missing positions ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// Every position of the run became visible.
    Filled,
    /// Proven never to fill (the missing positions' transactions rolled back).
    Dead,
    /// Skipped by the opt-in timeout, without proof.
    Forced,
}

impl Resolution {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Filled => "filled",
            Self::Dead => "dead",
            Self::Forced => "forced",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
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
pub(crate) struct KnownHole {
    pub(crate) start: u64,
    pub(crate) end: u64,
    /// The transaction id the advance that first saw the run took after its snapshot: above the
    /// id of every writer that could still fill the run.
    pub(crate) first_seen_xid: u64,
    pub(crate) age: Duration,
    pub(crate) resolution: Option<Resolution>,
}

/// A run of positions seen missing for the first time. It is always open: its fate can only be
/// proven by a later snapshot (see the module documentation of `frontier`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewHole {
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// What an advance decided.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Walk {
    pub(crate) frontier: u64,
    pub(crate) new_holes: Vec<NewHole>,
    pub(crate) resolved: Vec<(u64, Resolution)>,
    pub(crate) open: Vec<OpenHole>,
    pub(crate) forced: Vec<OpenHole>,
    /// The open run the frontier stopped at.
    pub(crate) blocking: Option<OpenHole>,
}

impl Walk {
    /// Whether anything must be written back.
    pub(crate) fn changes_state(&self, old_frontier: u64) -> bool {
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

fn fate(hole: &KnownHole, snapshot: Snapshot, force_after: Option<Duration>) -> Fate {
    if hole.resolution.is_some() {
        Fate::AlreadyResolved
    } else if snapshot.xmin >= hole.first_seen_xid {
        Fate::Dead
    } else if force_after.is_some_and(|limit| hole.age >= limit) {
        Fate::Forced
    } else {
        Fate::Pending
    }
}

/// Decides the new frontier from one snapshot.
///
/// `visible`: positions above `frontier` visible in the snapshot, ascending (possibly a window:
/// nothing above its last element is looked at). `known`: recorded runs ending above `frontier`,
/// ascending and disjoint.
pub(crate) fn walk(
    frontier: u64,
    visible: &[u64],
    known: &[KnownHole],
    snapshot: Snapshot,
    force_after: Option<Duration>,
) -> Walk {
    let open_hole = |h: &KnownHole| OpenHole { start: h.start, end: h.end, age: h.age };
    let Some(&top) = visible.last() else {
        let open = known.iter().filter(|h| h.resolution.is_none()).map(open_hole).collect();
        return Walk { frontier, open, ..Walk::default() };
    };
    let fates: Vec<Fate> = known.iter().map(|h| fate(h, snapshot, force_after)).collect();
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

#[cfg(test)]
mod tests;
