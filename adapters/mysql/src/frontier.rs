//! The fenced frontier on MySQL: gap safety without serializing writers and without timeouts,
//! proven from InnoDB's list of active transactions.
//!
//! `AUTO_INCREMENT` hands out positions in insert order, but transactions commit in any order
//! and a rolled-back insert leaves its position empty for ever. The proof is PostgreSQL's (see
//! `pupsourcing::spi::frontier`) with InnoDB transaction ids in place of xids:
//!
//! - **Writers** move their stream's head row before they insert events, so every appender owns
//!   a transaction id before it draws a position.
//! - **An advance** (one at a time, under a named lock), in one READ COMMITTED transaction:
//!   reads the positions above the frontier (R1); if they are contiguous and no hole is known,
//!   the frontier moves to the top at once. Otherwise it writes the frontier row, which gives it
//!   a transaction id X *after* R1, and reads `INFORMATION_SCHEMA.INNODB_TRX`. That list is a
//!   buffer InnoDB refreshes only after about 0.1 s without readers, so the advance waits 110 ms,
//!   reads the list with a nonce in the statement, and counts it as fresh only if the list shows
//!   this connection running that very statement (a stale buffer shows an older one); otherwise
//!   it waits and reads again. The oldest other transaction with an id is the horizon. A second
//!   read of the positions (R2) then judges: runs missing from R1 and R2 are recorded with fence
//!   X; a known run is dead once the horizon has passed its fence (every transaction that could
//!   fill it has finished) and it is still missing from R2.
//! - **Why it is safe.** A position p missing from R1 while a higher q is visible was drawn
//!   before q committed, so before R1, so its writer's id is below X. A fresh list with no active
//!   transaction below X means that writer has ended, and R2, read after the list, would show p
//!   had it committed. No clock: a slow writer delays the frontier, never makes it skip.
//!
//! It rests on InnoDB behaviour that is observed, not documented (ids are monotonic, a writer
//! has its id before its first insert, a committed transaction leaves the list no earlier than
//! it becomes visible): the conformance suite's torture scenario runs on every supported server.
//! It needs the `PROCESS` privilege, costs nothing on the write path and about 0.1–0.3 s per
//! advance that meets a hole. A monitoring agent reading `INNODB_TRX` faster than 10 times a
//! second keeps the buffer from ever being fresh: the frontier then stalls (and says so), it
//! never skips. Not for Galera or other multi-primary setups (transaction ids are per node).

mod advance;

pub(crate) use advance::{advance, safe_frontier};
