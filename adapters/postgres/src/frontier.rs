//! The snapshot-fenced frontier: gap safety without serializing writers and without timeouts.
//!
//! A sequence hands out positions in call order, but transactions commit in any order, and a
//! rolled-back transaction leaves its positions empty forever. So at any instant the log may
//! have *holes*: positions that are missing while later ones are visible. A hole is either
//! pending (its transaction may still commit) or dead (it never will). Readers must not pass a
//! pending hole, or they skip its events for good; they must pass dead ones, or they stall.
//!
//! **The proof.** The position default is a function that takes the transaction's id
//! (`pg_current_xact_id()`) *before* it draws a position, from a sequence with `CACHE 1` (no
//! session holds pre-drawn values). Suppose position `p` is missing from snapshot `S1` while a
//! later position `q > p` is visible in it. `q` was drawn after `p` and committed before `S1`, so
//! `p` was drawn before `S1` was taken, and its writer already had a transaction id then. Right
//! after reading `S1`, the advance takes a transaction id `A` of its own: ids are handed out in
//! increasing order, so `A` is above the id of `p`'s writer. Now let a later snapshot `S2` have
//! `pg_snapshot_xmin(S2) >= A`: `S2` was taken after the advance that holds `A` committed, so
//! every transaction with a lower id that was still running would be listed in `S2` and hold its
//! `xmin` below `A`. Hence `p`'s writer has finished, and had it committed, `p` would be visible
//! in `S2`. If `p` is still missing from `S2`, it is dead. No clock is involved, so a slow
//! transaction delays readers but can never make them skip.
//!
//! `pg_snapshot_xmax(S1)` cannot stand in for `A`: it is one past the latest *completed* id, not
//! the next id to be handed out, and a running writer that took its id after the latest
//! completion is not listed in `S1` at all. For the same reason a run is never dead at first
//! sight, even when `S1` lists no running transaction. (Both shortcuts were in the first version
//! of this module; the torture scenario of the conformance suite caught them, and the MVCC
//! simulation in the walk's tests models `GetSnapshotData` so that it fails on either.)
//!
//! **The procedure.** One frontier per store. Under a
//! transaction-scoped advisory lock derived from the table names, one statement reads, from a
//! single snapshot, the frontier, the snapshot's `xmin`, the positions above the frontier (index
//! only, no payloads) and the known holes. Walking upward, known runs are resolved as filled (now
//! visible) or dead (the condition above), and the frontier stops below the first run that may
//! still fill; runs missing for the first time are recorded with the advance's own transaction
//! id, taken in a second statement only when there is such a run. A dead run therefore closes at
//! the second advance after its transaction rolled back. The new frontier is written with
//! `greatest()`, so it never moves back. Advances commit without waiting for the disk
//! (`synchronous_commit = off` for that transaction only): the frontier is derived state, and
//! should a crash lose the last advances, the first advance afterwards recomputes them from the
//! same proof (readers that had already gone further simply find nothing new until it catches
//! up).
//!
//! **Holes and monitoring.** Missing runs live in the holes table with the transaction id and time
//! of first sight and, once resolved, how (`filled`, `dead`, or `forced`). Every advance returns a
//! [`FrontierStatus`](pupsourcing::FrontierStatus): the lag (latest minus safe position) and the
//! open holes with their age. A hole holding the frontier back longer than
//! [`FrontierConfig::with_hole_warning_after`](crate::FrontierConfig::with_hole_warning_after) is
//! reported through `tracing` with the oldest transaction that may be behind it. An opt-in
//! [`force_skip_after`](crate::FrontierConfig::with_force_skip_after) timeout exists for
//! operators who accept losing the events of very slow transactions; it is off by default, and
//! every forced skip is logged and kept in the holes table.

mod advance;

pub(crate) use advance::{advance, oldest_writer};

use std::time::Duration;

/// The oldest transaction that holds a transaction id (it has written, or is writing), as
/// `pg_stat_activity` shows it: the first suspect when a hole holds the frontier back, since
/// a hole's transaction drew its id before its position.
#[derive(Debug, Clone, PartialEq)]
pub struct OldestWriter {
    /// Its server process id (`pg_terminate_backend(pid)` ends it).
    pub pid: i32,
    /// How long its transaction has been open.
    pub age: Duration,
    /// The start of its current or last statement (200 characters).
    pub query: String,
}
