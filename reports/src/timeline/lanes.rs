//! The timeline's lanes: one per client thread when the run's concurrency is known, as Jepsen
//! draws them, else one per process.
//!
//! A client thread that sees an indeterminate (`info`) result goes on as a new process,
//! `process + concurrency`, so a long run with many faults has hundreds of processes, most of
//! them with a few operations. Folding each process onto its thread (`process mod
//! concurrency`) keeps one lane per thread, and each operation still names its process.

use std::collections::{BTreeMap, BTreeSet};

/// How the timeline's operations are laid out in lanes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lanes {
    /// Each lane's label: `t2` for thread 2, `p7` for process 7 when not folded.
    pub labels: Vec<String>,
    /// Whether lanes are threads (processes folded by `process mod concurrency`).
    pub folded: bool,
    /// The process or thread of each lane, in lane order.
    of_lane: Vec<u64>,
    /// The concurrency processes are folded by, when they are.
    concurrency: Option<u64>,
}

impl Lanes {
    /// The lane of an operation of `process`.
    pub fn lane_of(&self, process: u64) -> usize {
        let owner = self.concurrency.map_or(process, |c| process % c);
        self.of_lane.binary_search(&owner).unwrap_or(0)
    }
}

/// One lane per thread (`process mod concurrency`, threads with no operation left out) when
/// `threads` gives the concurrency (every thread's operations follow one another: see
/// [`LaneFold`]); else one lane per process of `processes`.
pub(crate) fn lanes(processes: &BTreeSet<u64>, threads: Option<usize>) -> Lanes {
    match threads.filter(|c| *c > 0) {
        Some(concurrency) => {
            let concurrency = concurrency as u64;
            let threads: BTreeSet<u64> = processes.iter().map(|p| p % concurrency).collect();
            Lanes {
                labels: threads.iter().map(|t| format!("t{t}")).collect(),
                folded: true,
                of_lane: threads.into_iter().collect(),
                concurrency: Some(concurrency),
            }
        }
        None => Lanes {
            labels: processes.iter().map(|p| format!("p{p}")).collect(),
            folded: false,
            of_lane: processes.iter().copied().collect(),
            concurrency: None,
        },
    }
}

/// Whether the operations of each client thread (`process mod concurrency`) follow one
/// another, each invoked at or after the previous one (in invocation order) completed, as one
/// client thread does them; decided as the events go by, holding O(threads + open operations).
#[derive(Debug)]
pub(crate) struct LaneFold {
    concurrency: u64,
    /// Each thread's last operation: completed at a time, or still open (on a process).
    last: BTreeMap<u64, Last>,
    /// Open operations followed on their thread by one invoked at the given time: each must
    /// complete by then.
    due: BTreeMap<u64, u64>,
    /// No operation overlapped the previous one of its thread so far.
    holds: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    /// Completed at this time.
    Completed(u64),
    /// Still open, on this process.
    Open(u64),
}

impl LaneFold {
    /// Nothing seen yet, for `concurrency` (above 0) client threads.
    pub fn new(concurrency: usize) -> LaneFold {
        LaneFold {
            concurrency: concurrency as u64,
            last: BTreeMap::new(),
            due: BTreeMap::new(),
            holds: true,
        }
    }

    /// The concurrency it folds by.
    pub fn concurrency(&self) -> usize {
        self.concurrency as usize
    }

    /// `process` invoked an operation at `start`.
    pub fn invoked(&mut self, process: u64, start: u64) {
        let thread = process % self.concurrency;
        match self.last.insert(thread, Last::Open(process)) {
            Some(Last::Completed(end)) if end > start => self.holds = false,
            Some(Last::Open(previous)) => {
                self.due.insert(previous, start);
            }
            _ => {}
        }
    }

    /// `process`'s open operation completed at `end`.
    pub fn completed(&mut self, process: u64, end: u64) {
        if let Some(due) = self.due.remove(&process) {
            self.holds &= end <= due;
        }
        let thread = process % self.concurrency;
        if self.last.get(&thread) == Some(&Last::Open(process)) {
            self.last.insert(thread, Last::Completed(end));
        }
    }

    /// Whether every thread's operations followed one another, once every event was seen (an
    /// operation that never completed and was followed on its thread overlaps its follower).
    pub fn holds(&self) -> bool {
        self.holds && self.due.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Events;
    use crate::extract::Extract;
    use rafty_checkers::{History, Op, OpType, Process, Value};

    fn op(process: u64, kind: OpType, time: u64) -> Op {
        Op::new(Process::Client(process), kind, "write", Value::Int(1)).with_time(time)
    }

    /// Two threads (concurrency 2): thread 0 runs processes 0, 2 and 4 in turn (each `info`
    /// ends a process), thread 1 runs process 1.
    fn two_threads() -> History {
        History::from_ops([
            op(0, OpType::Invoke, 0),
            op(1, OpType::Invoke, 1),
            op(0, OpType::Info, 5),
            op(2, OpType::Invoke, 6),
            op(2, OpType::Info, 8),
            op(1, OpType::Ok, 9),
            op(4, OpType::Invoke, 9),
            op(4, OpType::Ok, 12),
        ])
    }

    /// The lanes of `history`'s operations (in invocation order) with `concurrency`.
    fn laid_out(history: &History, concurrency: Option<usize>) -> (Lanes, Vec<usize>) {
        let events = Events::Memory {
            history,
            served_by: &[],
        };
        let extract = Extract::read(&events, None, concurrency).unwrap();
        let lanes = lanes(&extract.tally.processes, extract.threads);
        let of_span = extract
            .drawn
            .iter()
            .map(|span| lanes.lane_of(span.process))
            .collect();
        (lanes, of_span)
    }

    #[test]
    fn processes_fold_onto_their_thread() {
        let (lanes, of_span) = laid_out(&two_threads(), Some(2));
        assert!(lanes.folded);
        assert_eq!(lanes.labels, vec!["t0", "t1"]);
        // Spans in invocation order: processes 0, 1, 2, 4.
        assert_eq!(of_span, vec![0, 1, 0, 0]);
    }

    #[test]
    fn without_a_concurrency_each_process_has_its_lane() {
        for concurrency in [None, Some(0)] {
            let (lanes, of_span) = laid_out(&two_threads(), concurrency);
            assert!(!lanes.folded);
            assert_eq!(lanes.labels, vec!["p0", "p1", "p2", "p4"]);
            assert_eq!(of_span, vec![0, 1, 2, 3]);
        }
    }

    /// A concurrency that does not match the history (two processes of one "thread" with
    /// operations at the same time) would draw bars over each other: lanes stay processes.
    #[test]
    fn a_concurrency_that_would_overlap_operations_is_not_used() {
        let (lanes, _) = laid_out(&two_threads(), Some(1));
        assert!(!lanes.folded);
        assert_eq!(lanes.labels.len(), 4);
    }

    #[test]
    fn an_operation_that_never_completed_ends_its_thread() {
        let history = History::from_ops([
            op(0, OpType::Invoke, 0),
            op(2, OpType::Invoke, 5),
            op(2, OpType::Ok, 6),
        ]);
        assert!(!laid_out(&history, Some(2)).0.folded);
    }

    /// The previous operation of a thread still open when the next is invoked may yet end in
    /// time (a completion later in the history at the same instant): the check waits for it.
    #[test]
    fn an_open_operation_ending_by_its_followers_start_still_folds() {
        let history = History::from_ops([
            op(0, OpType::Invoke, 0),
            op(2, OpType::Invoke, 5),
            op(0, OpType::Ok, 5),
            op(2, OpType::Ok, 6),
        ]);
        assert!(laid_out(&history, Some(2)).0.folded);
        let late = History::from_ops([
            op(0, OpType::Invoke, 0),
            op(2, OpType::Invoke, 5),
            op(0, OpType::Ok, 6),
            op(2, OpType::Ok, 7),
        ]);
        assert!(!laid_out(&late, Some(2)).0.folded);
    }
}
