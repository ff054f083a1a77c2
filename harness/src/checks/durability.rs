//! **Durability**, checked as the run goes: every write acknowledged to a client is in the
//! state the cluster converged on (for each distinct command, the final applied sequence holds
//! at least as many copies as clients were told took effect).
//!
//! The final sequence is never held whole. An entry becomes *final* once every node's log is
//! compacted past it (Raft §7: a durable snapshot covers it everywhere, so no node applies,
//! truncates or replaces it again); the invariant checker hands it to this ledger and forgets
//! it. The ledger matches acknowledgements against final entries with the same command hash:
//!
//! * an acknowledgement no final entry has matched yet is *owed*; owed writes are held until a
//!   final entry pays them, or the run ends and the entries not yet final (the tail every node
//!   still holds) pay what they can: what is still owed then is missing.
//! * a final entry no acknowledgement has claimed is *spare*, kept for acknowledgements still
//!   on their way, oldest first. A write is acknowledged at most `window` after its
//!   invocation, and its own entry is applied after that invocation: an entry first applied
//!   more than `window` ago can only pay for another write with the same bytes, so it is
//!   dropped. This is what keeps the ledger as small as the window rather than the run; it
//!   only ever makes the check stricter (an acknowledged write must be paid by an entry
//!   applied at most `window` before it, as its own entry always is).
//!
//! What is held: the owed writes (those acknowledged and not yet final everywhere) and the spare
//! entries applied within the last `window`: both bounded by the operation rate times how long
//! an entry takes to become final, whatever the length of the run.

use std::collections::{BTreeMap, VecDeque};

/// The acknowledgement ledger; see the module documentation.
#[derive(Debug)]
pub struct Ledger {
    /// How long after its first apply an entry may still be acknowledged, in nanoseconds.
    window_ns: u64,
    /// Command hash -> the writes acknowledged and not yet paid, oldest first (a sequence
    /// number, for reporting in acknowledgement order, and the write as text).
    owed: BTreeMap<u64, VecDeque<(u64, String)>>,
    owed_count: usize,
    /// Command hash -> the first-apply times of final entries no acknowledgement claimed.
    spare: BTreeMap<u64, VecDeque<u64>>,
    /// Every spare entry as (first-apply time, hash), in the order they became final: the
    /// queue they expire from.
    expiry: VecDeque<(u64, u64)>,
    spare_count: usize,
    acknowledged: u64,
}

/// How long an entry may wait for its acknowledgement when no window was set: far longer than
/// any client's operation timeout.
const DEFAULT_WINDOW_NS: u64 = 60_000_000_000;

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            window_ns: DEFAULT_WINDOW_NS,
            owed: BTreeMap::new(),
            owed_count: 0,
            spare: BTreeMap::new(),
            expiry: VecDeque::new(),
            spare_count: 0,
            acknowledged: 0,
        }
    }
}

impl Ledger {
    /// Acknowledgements arrive at most `window_ns` after the invocation of their write (the
    /// clients' operation timeout, with some slack).
    pub fn set_window(&mut self, window_ns: u64) {
        self.window_ns = window_ns;
    }

    /// A client was told at `now_ns` that the write `description`, whose command hashes to
    /// `hash`, took effect.
    pub fn acknowledge(&mut self, now_ns: u64, hash: u64, description: String) {
        self.expire(now_ns);
        let sequence = self.acknowledged;
        self.acknowledged += 1;
        if let Some(times) = self.spare.get_mut(&hash)
            && times.pop_front().is_some()
        {
            self.spare_count -= 1;
            if times.is_empty() {
                self.spare.remove(&hash);
            }
            return;
        }
        self.owed
            .entry(hash)
            .or_default()
            .push_back((sequence, description));
        self.owed_count += 1;
    }

    /// The entry whose command hashes to `hash`, first applied at `applied_ns`, is final (at
    /// `now_ns`): it pays the oldest write owed with that hash, or waits as a spare.
    pub fn finalize(&mut self, now_ns: u64, hash: u64, applied_ns: u64) {
        self.expire(now_ns);
        if self.pay(hash) {
            return;
        }
        if applied_ns.saturating_add(self.window_ns) >= now_ns {
            self.spare.entry(hash).or_default().push_back(applied_ns);
            self.expiry.push_back((applied_ns, hash));
            self.spare_count += 1;
        }
    }

    /// The run ended; `tail` are the command hashes of the entries not yet final that are in
    /// the converged state. The writes still owed after they paid what they could, in the
    /// order they were acknowledged.
    pub fn missing(&self, tail: impl IntoIterator<Item = u64>) -> Vec<String> {
        let mut owed = self.owed.clone();
        for hash in tail {
            if let Some(writes) = owed.get_mut(&hash) {
                writes.pop_front();
            }
        }
        let mut missing: Vec<(u64, String)> = owed.into_values().flatten().collect();
        missing.sort_unstable();
        missing.into_iter().map(|(_, write)| write).collect()
    }

    /// How many writes were acknowledged.
    pub fn acknowledged(&self) -> u64 {
        self.acknowledged
    }

    /// How many owed writes and spare entries the ledger holds.
    pub fn held(&self) -> usize {
        self.owed_count + self.spare_count
    }

    fn pay(&mut self, hash: u64) -> bool {
        let Some(writes) = self.owed.get_mut(&hash) else {
            return false;
        };
        writes.pop_front();
        if writes.is_empty() {
            self.owed.remove(&hash);
        }
        self.owed_count -= 1;
        true
    }

    /// Drop the spare entries first applied more than the window before `now_ns`.
    fn expire(&mut self, now_ns: u64) {
        while let Some(&(applied_ns, hash)) = self.expiry.front() {
            if applied_ns.saturating_add(self.window_ns) >= now_ns {
                break;
            }
            self.expiry.pop_front();
            // An acknowledgement takes the oldest spare of its hash: if this one's time is no
            // longer at the front, it was taken already.
            if let Some(times) = self.spare.get_mut(&hash)
                && times.front() == Some(&applied_ns)
            {
                times.pop_front();
                self.spare_count -= 1;
                if times.is_empty() {
                    self.spare.remove(&hash);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    #[test]
    fn an_acknowledged_write_is_paid_by_a_final_entry_before_or_after_it() {
        let mut ledger = Ledger::default();
        ledger.acknowledge(SECOND, 7, "w7".into());
        ledger.finalize(2 * SECOND, 7, SECOND / 2);
        ledger.finalize(3 * SECOND, 8, 3 * SECOND);
        ledger.acknowledge(3 * SECOND, 8, "w8".into());
        assert_eq!(ledger.held(), 0);
        assert!(ledger.missing([]).is_empty());
        assert_eq!(ledger.acknowledged(), 2);
    }

    /// Durability: a write acknowledged twice needs two entries; the tail pays at the end.
    #[test]
    fn each_acknowledgement_needs_its_own_entry_and_the_tail_pays_last() {
        let mut ledger = Ledger::default();
        for _ in 0..3 {
            ledger.acknowledge(SECOND, 5, "w5".into());
        }
        ledger.finalize(2 * SECOND, 5, SECOND);
        assert_eq!(ledger.missing([5]), ["w5"]);
        assert!(ledger.missing([5, 5]).is_empty());
    }

    /// A spare entry waits for an acknowledgement only as long as one can still come; then it
    /// no longer covers a later write with the same bytes that was lost.
    #[test]
    fn a_spare_entry_expires_after_the_window() {
        let mut ledger = Ledger::default();
        ledger.set_window(5 * SECOND);
        ledger.finalize(SECOND, 9, SECOND);
        assert_eq!(ledger.held(), 1);
        ledger.acknowledge(20 * SECOND, 9, "w9 (late)".into());
        assert_eq!(ledger.missing([]), ["w9 (late)"]);
        // Within the window it pays.
        ledger.finalize(21 * SECOND, 4, 20 * SECOND);
        ledger.acknowledge(24 * SECOND, 4, "w4".into());
        assert_eq!(ledger.missing([]), ["w9 (late)"]);
    }

    /// Whatever the number of writes, the ledger holds only those inside the window.
    #[test]
    fn the_ledger_stays_as_small_as_the_window() {
        let mut ledger = Ledger::default();
        ledger.set_window(SECOND);
        for step in 0..100_000u64 {
            let now = step * SECOND / 100;
            // Every write's entry becomes final 0.5 s after it was applied; one in ten was
            // never acknowledged (an indeterminate write that took effect).
            if step % 10 != 0 {
                ledger.acknowledge(now, step, format!("w{step}"));
            }
            if step >= 50 {
                let old = step - 50;
                ledger.finalize(now, old, old * SECOND / 100);
            }
            assert!(
                ledger.held() <= 200,
                "{} held at step {step}",
                ledger.held()
            );
        }
        let tail = (99_950..100_000).collect::<Vec<u64>>();
        assert!(ledger.missing(tail).is_empty());
    }

    #[test]
    fn missing_writes_come_in_acknowledgement_order() {
        let mut ledger = Ledger::default();
        ledger.acknowledge(1, 30, "first".into());
        ledger.acknowledge(2, 10, "second".into());
        ledger.acknowledge(3, 20, "third".into());
        assert_eq!(ledger.missing([]), ["first", "second", "third"]);
    }
}
