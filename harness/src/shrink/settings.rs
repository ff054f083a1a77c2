//! Simpler settings: the same bug with snapshots taken more often.
//!
//! A snapshot bug (a snapshot of uncommitted state, a stale snapshot installed, a compaction
//! past the snapshot) needs a snapshot, and a run takes one only every
//! `snapshot_threshold_entries` applied entries (100 in the harness's settings): with that
//! threshold the operations passes cannot go below about a hundred writes, however few of
//! them the bug needs. The threshold (and the entries kept behind a snapshot with it) is part
//! of the schedule like the nodes; this pass halves it while the kept check still fails, so
//! that the passes after it can drop the writes that only filled the log.

use crate::schedule::Schedule;

use super::ddmin::Verdict;
use super::tester::Tester;

/// The smallest snapshot threshold tried, in entries.
const SMALLEST_THRESHOLD: u64 = 4;

/// Seeds tried for each smaller threshold (snapshots then come at other moments).
const THRESHOLD_SEEDS: u64 = 3;

impl Tester<'_> {
    /// Snapshots off, if the kept check still fails without them (one thing less in the
    /// counterexample); else halve the snapshot threshold (and the entries kept behind a
    /// snapshot with it) while the kept check still fails, down to [`SMALLEST_THRESHOLD`].
    pub fn smaller_snapshots(&mut self) {
        if self.best.config.raft.snapshot_threshold_entries == 0 {
            return;
        }
        let mut off = self.best.clone();
        off.config.raft.snapshot_threshold_entries = 0;
        off.config.raft.snapshot_threshold_bytes = 0;
        if self.test_seeds("no snapshots", &off, THRESHOLD_SEEDS) != Verdict::Passes {
            return;
        }
        while !self.out_of_time {
            let Some(candidate) = halved_snapshots(&self.best) else {
                return;
            };
            if self.test_seeds("smaller snapshots", &candidate, THRESHOLD_SEEDS) != Verdict::Fails {
                return;
            }
        }
    }
}

impl Tester<'_> {
    /// Fewer workload clients, for a workload whose clients draw their own operations (the
    /// registry's: a schedule lists none of them, so the operations passes cannot make its
    /// runs smaller or shorter to simulate): the clients halved, with a few seeds, while the
    /// kept check still fails.
    pub fn fewer_drawing_clients(&mut self) {
        if self.best.config.workload.kind.judge() != rafty_workloads::Judge::Registry {
            return;
        }
        while !self.out_of_time && self.best.config.workload.concurrency > 1 {
            let mut candidate = self.best.clone();
            candidate.config.workload.concurrency /= 2;
            if self.test_seeds("fewer clients", &candidate, THRESHOLD_SEEDS) != Verdict::Fails {
                return;
            }
        }
    }
}

/// `schedule` with its snapshot threshold halved and the entries kept behind a snapshot
/// scaled with it (at least 1); `None` when snapshots are off or the threshold is already at
/// [`SMALLEST_THRESHOLD`].
pub fn halved_snapshots(schedule: &Schedule) -> Option<Schedule> {
    let raft = &schedule.config.raft;
    let threshold = raft.snapshot_threshold_entries;
    if threshold <= SMALLEST_THRESHOLD {
        return None;
    }
    let halved = (threshold / 2).max(SMALLEST_THRESHOLD);
    let keep = (raft.snapshot_keep_entries * halved / threshold).max(1);
    let mut candidate = schedule.clone();
    candidate.config.raft.snapshot_threshold_entries = halved;
    candidate.config.raft.snapshot_keep_entries = keep.min(raft.snapshot_keep_entries);
    Some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(threshold: u64, keep: u64) -> Schedule {
        let mut schedule = crate::shrink::kv_schedule();
        schedule.config.raft.snapshot_threshold_entries = threshold;
        schedule.config.raft.snapshot_keep_entries = keep;
        schedule
    }

    fn threshold_and_keep(schedule: &Schedule) -> (u64, u64) {
        let raft = &schedule.config.raft;
        (raft.snapshot_threshold_entries, raft.snapshot_keep_entries)
    }

    /// The harness's 100 and 20 halve to 50 and 10, then 25 and 5, down to the smallest
    /// threshold; the entries kept never drop below 1.
    #[test]
    fn the_threshold_halves_with_the_entries_kept_down_to_the_smallest() {
        let mut at = schedule(100, 20);
        let mut seen = Vec::new();
        while let Some(next) = halved_snapshots(&at) {
            seen.push(threshold_and_keep(&next));
            at = next;
        }
        assert_eq!(seen, [(50, 10), (25, 5), (12, 2), (6, 1), (4, 1)]);
    }

    /// Snapshots off stay off: there is no snapshot for a smaller threshold to bring forward.
    #[test]
    fn runs_without_snapshots_are_left_alone() {
        assert_eq!(halved_snapshots(&schedule(0, 0)), None);
    }
}
