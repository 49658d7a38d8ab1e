use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

const RUNNING: Horizon = Horizon { xmin: 5 };
const IDLE: Horizon = Horizon { xmin: 9 };

fn known(start: u64, end: u64, first_seen_xid: u64) -> KnownHole {
    KnownHole { start, end, first_seen_xid, age: Duration::from_secs(1), resolution: None }
}

#[test]
fn contiguous_positions_move_the_frontier_to_the_top() {
    let walk = walk(3, &[4, 5, 6], &[], RUNNING, None);
    assert_eq!(walk.frontier, 6);
    assert!(walk.new_holes.is_empty() && walk.open.is_empty() && walk.blocking.is_none());
    assert!(!walk.changes_state(6));
}

#[test]
fn nothing_visible_keeps_the_frontier() {
    let walk = walk(3, &[], &[known(4, 4, 8)], IDLE, None);
    assert_eq!(walk.frontier, 3);
    assert_eq!(walk.open.len(), 1, "holes are only judged inside the window");
}

#[test]
fn a_new_hole_with_transactions_running_stops_the_frontier_but_later_holes_are_recorded() {
    let walk = walk(0, &[1, 3, 4, 7], &[], RUNNING, None);
    assert_eq!(walk.frontier, 1);
    assert_eq!(walk.new_holes, vec![NewHole { start: 2, end: 2 }, NewHole { start: 5, end: 6 }]);
    assert_eq!(walk.blocking.map(|h| h.start), Some(2));
    assert_eq!(
        walk.open.iter().map(|h| (h.start, h.end)).collect::<Vec<_>>(),
        vec![(2, 2), (5, 6)]
    );
}

#[test]
fn a_new_hole_is_never_dead_at_first_sight() {
    // `xmin == xmax` does not mean that nothing runs: a transaction whose id is above the latest
    // completed one is not listed in the snapshot at all, yet may have drawn the position.
    let walk = walk(0, &[1, 3], &[], IDLE, None);
    assert_eq!(walk.frontier, 1);
    assert_eq!(walk.new_holes, vec![NewHole { start: 2, end: 2 }]);
    assert_eq!(walk.open.len(), 1);
}

#[test]
fn a_known_hole_is_dead_once_every_older_transaction_finished() {
    let pending = walk(0, &[1, 3], &[known(2, 2, 6)], RUNNING, None);
    assert_eq!(pending.frontier, 1, "xmin 5 < xmax at first sight 6: the writer may still commit");
    assert!(pending.resolved.is_empty());
    let dead = walk(0, &[1, 3], &[known(2, 2, 5)], RUNNING, None);
    assert_eq!(dead.frontier, 3);
    assert_eq!(dead.resolved, vec![(2, Resolution::Dead)]);
}

#[test]
fn a_known_hole_that_became_visible_is_filled() {
    let walk = walk(0, &[1, 2, 3], &[known(2, 2, 99)], RUNNING, None);
    assert_eq!(walk.frontier, 3);
    assert_eq!(walk.resolved, vec![(2, Resolution::Filled)]);
}

#[test]
fn a_partly_filled_run_blocks_at_its_first_missing_position() {
    let walk = walk(0, &[1, 2, 3, 6], &[known(2, 5, 99)], RUNNING, None);
    assert_eq!(walk.frontier, 3);
    assert_eq!(walk.blocking.map(|h| h.start), Some(4));
    assert!(walk.new_holes.is_empty(), "positions 4 and 5 belong to the known run");
}

#[test]
fn forced_skips_are_opt_in_and_reported() {
    let old = KnownHole { age: Duration::from_secs(120), ..known(2, 2, 99) };
    let kept = walk(0, &[1, 3], std::slice::from_ref(&old), RUNNING, None);
    assert_eq!(kept.frontier, 1);
    let skipped = walk(0, &[1, 3], &[old], RUNNING, Some(Duration::from_secs(60)));
    assert_eq!(skipped.frontier, 3);
    assert_eq!(skipped.resolved, vec![(2, Resolution::Forced)]);
    assert_eq!(skipped.forced.len(), 1);
}

#[test]
fn resolved_runs_above_the_frontier_are_passed_without_new_records() {
    let dead = KnownHole { resolution: Some(Resolution::Dead), ..known(2, 3, 99) };
    let walk = walk(0, &[1, 4], &[dead], RUNNING, None);
    assert_eq!(walk.frontier, 4);
    assert!(walk.new_holes.is_empty() && walk.resolved.is_empty());
}

#[test]
fn runs_beyond_the_window_stay_open() {
    let walk = walk(0, &[1, 2], &[known(5, 6, 99)], RUNNING, None);
    assert_eq!(walk.frontier, 2);
    assert_eq!(walk.open.len(), 1);
    assert!(walk.resolved.is_empty());
}

#[test]
fn resolution_names_round_trip() {
    for r in [Resolution::Filled, Resolution::Dead, Resolution::Forced] {
        assert_eq!(Resolution::parse(r.as_str()), Some(r));
    }
    assert_eq!(Resolution::parse("lost"), None);
}

/// One step of a simulated PostgreSQL history.
#[derive(Debug, Clone)]
enum Step {
    /// Transaction `n` writes something that is not an event (its stream head): it takes a
    /// transaction id, possibly long before it draws a position.
    Write(usize),
    /// Transaction `n` draws a position (taking its transaction id first, as the position
    /// function does).
    Draw(usize),
    Commit(usize),
    Abort(usize),
    Advance,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => (0..6usize).prop_map(Step::Write),
        4 => (0..6usize).prop_map(Step::Draw),
        2 => (0..6usize).prop_map(Step::Commit),
        1 => (0..6usize).prop_map(Step::Abort),
        2 => Just(Step::Advance),
    ]
}

/// PostgreSQL's transaction ids and snapshots, as `GetSnapshotData` computes them: `xmax` is one
/// past the latest *completed* transaction id (not the next id to assign), only running ids
/// below it are listed, and `xmin` is the lowest of those (or `xmax`).
#[derive(Default)]
struct Simulation {
    next_xid: u64,
    latest_completed: u64,
    next_position: u64,
    /// Running transactions: slot -> (xid, positions drawn).
    running: BTreeMap<usize, (u64, Vec<u64>)>,
    committed: BTreeSet<u64>,
    frontier: u64,
    holes: Vec<KnownHole>,
}

impl Simulation {
    fn new() -> Self {
        Self { next_xid: 1, next_position: 1, ..Self::default() }
    }

    fn assign_xid(&mut self) -> u64 {
        self.next_xid += 1;
        self.next_xid - 1
    }

    fn finish(&mut self, xid: u64) {
        self.latest_completed = self.latest_completed.max(xid);
    }

    fn snapshot(&self) -> Horizon {
        let xmax = self.latest_completed + 1;
        let xmin =
            self.running.values().map(|(xid, _)| *xid).filter(|x| *x < xmax).min().unwrap_or(xmax);
        Horizon { xmin }
    }

    fn begin(&mut self, slot: usize) -> &mut Vec<u64> {
        if !self.running.contains_key(&slot) {
            let xid = self.assign_xid();
            self.running.insert(slot, (xid, Vec::new()));
        }
        &mut self.running.get_mut(&slot).expect("just inserted").1
    }

    fn apply(&mut self, step: &Step) {
        match *step {
            Step::Write(slot) => {
                self.begin(slot);
            }
            Step::Draw(slot) => {
                let position = self.next_position;
                self.next_position += 1;
                self.begin(slot).push(position);
            }
            Step::Commit(slot) => {
                if let Some((xid, positions)) = self.running.remove(&slot) {
                    self.committed.extend(positions);
                    self.finish(xid);
                }
            }
            Step::Abort(slot) => {
                if let Some((xid, _)) = self.running.remove(&slot) {
                    self.finish(xid);
                }
            }
            Step::Advance => self.advance(),
        }
    }

    /// An advance, persisting what it decided exactly as the SQL does: new runs are recorded
    /// with a transaction id the advance takes after its snapshot.
    fn advance(&mut self) {
        let visible: Vec<u64> = self.committed.range(self.frontier + 1..).copied().collect();
        let snapshot = self.snapshot();
        let result = walk(self.frontier, &visible, &self.holes, snapshot, None);
        let own_xid = (!result.new_holes.is_empty()).then(|| self.assign_xid());
        for hole in &result.new_holes {
            self.holes.push(KnownHole {
                start: hole.start,
                end: hole.end,
                first_seen_xid: own_xid.expect("assigned for new holes"),
                age: Duration::ZERO,
                resolution: None,
            });
        }
        for (start, resolution) in &result.resolved {
            if let Some(hole) = self.holes.iter_mut().find(|h| h.start == *start) {
                hole.resolution = Some(*resolution);
            }
        }
        self.frontier = self.frontier.max(result.frontier);
        let frontier = self.frontier;
        self.holes.retain(|h| h.end > frontier);
        self.holes.sort_by_key(|h| h.start);
        if let Some(xid) = own_xid {
            self.finish(xid);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]
    /// Against simulated histories of writing, drawing, committing and aborting transactions:
    /// the frontier never passes a position whose transaction may still commit, and once
    /// everything has finished three advances bring it to the last committed position.
    #[test]
    fn the_frontier_never_passes_a_position_that_may_still_commit(steps in proptest::collection::vec(step(), 1..120)) {
        let mut sim = Simulation::new();
        for step in &steps {
            sim.apply(step);
            for (_, positions) in sim.running.values() {
                for position in positions {
                    prop_assert!(*position > sim.frontier, "frontier {} passed pending position {}", sim.frontier, position);
                }
            }
        }
        let slots: Vec<usize> = sim.running.keys().copied().collect();
        for slot in slots {
            sim.apply(&Step::Abort(slot));
        }
        sim.advance();
        sim.advance();
        sim.advance();
        if let Some(&last) = sim.committed.last() {
            prop_assert!(sim.frontier >= last, "dead holes must not stall the frontier");
        }
    }
}

#[test]
fn hole_warnings_pass_once_per_period() {
    let throttle = WarningThrottle::default();
    let start = Instant::now();
    let period = Duration::from_secs(60);
    assert!(throttle.may_warn(start, period), "the first warning passes");
    assert!(!throttle.may_warn(start + Duration::from_secs(59), period), "within the period");
    assert!(throttle.may_warn(start + period, period), "once the period is over");
    assert!(!throttle.may_warn(start + period + Duration::from_secs(1), period));
}
