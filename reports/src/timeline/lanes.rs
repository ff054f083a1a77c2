//! The timeline's lanes: one per client thread when the run's concurrency is known, as Jepsen
//! draws them, else one per process.
//!
//! A client thread that sees an indeterminate (`info`) result goes on as a new process,
//! `process + concurrency`, so a long run with many faults has hundreds of processes, most of
//! them with a few operations. Folding each process onto its thread (`process mod
//! concurrency`) keeps one lane per thread, and each operation still names its process.

use crate::extract::Extract;

/// How the timeline's operations are laid out in lanes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lanes {
    /// Each lane's label: `t2` for thread 2, `p7` for process 7 when not folded.
    pub labels: Vec<String>,
    /// The lane of each of the extract's spans.
    pub of_span: Vec<usize>,
    /// Whether lanes are threads (processes folded by `process mod concurrency`).
    pub folded: bool,
}

/// One lane per thread (`process mod concurrency`, threads with no operation left out) when
/// `concurrency` is known and every thread's operations follow one another (each invoked at or
/// after the previous one completed, as one client thread does them); else one lane per process.
pub(crate) fn lanes(extract: &Extract<'_>, concurrency: Option<usize>) -> Lanes {
    let by_process = || Lanes {
        labels: extract.lanes.iter().map(|p| format!("p{p}")).collect(),
        of_span: extract.spans.iter().map(|span| span.lane).collect(),
        folded: false,
    };
    let Some(concurrency) = concurrency.filter(|c| *c > 0) else {
        return by_process();
    };
    let thread_of = |lane: usize| extract.lanes[lane] % concurrency as u64;
    let mut threads: Vec<u64> = extract.spans.iter().map(|s| thread_of(s.lane)).collect();
    threads.sort_unstable();
    threads.dedup();
    let lane_of_thread = |thread: u64| threads.binary_search(&thread).unwrap_or(0);
    // When each thread's lane is free again: the end of its last operation (None: never).
    let mut free_at: Vec<Option<u64>> = vec![Some(0); threads.len()];
    let mut of_span = Vec::with_capacity(extract.spans.len());
    for span in &extract.spans {
        let lane = lane_of_thread(thread_of(span.lane));
        match free_at[lane] {
            Some(free) if free <= span.start => free_at[lane] = span.end,
            _ => return by_process(),
        }
        of_span.push(lane);
    }
    Lanes {
        labels: threads.iter().map(|t| format!("t{t}")).collect(),
        of_span,
        folded: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn processes_fold_onto_their_thread() {
        let history = two_threads();
        let extract = Extract::new(&history).unwrap();
        assert_eq!(extract.lanes, vec![0, 1, 2, 4]);
        let lanes = lanes(&extract, Some(2));
        assert!(lanes.folded);
        assert_eq!(lanes.labels, vec!["t0", "t1"]);
        // Spans in invocation order: processes 0, 1, 2, 4.
        assert_eq!(lanes.of_span, vec![0, 1, 0, 0]);
    }

    #[test]
    fn without_a_concurrency_each_process_has_its_lane() {
        let history = two_threads();
        let extract = Extract::new(&history).unwrap();
        for concurrency in [None, Some(0)] {
            let lanes = lanes(&extract, concurrency);
            assert!(!lanes.folded);
            assert_eq!(lanes.labels, vec!["p0", "p1", "p2", "p4"]);
            assert_eq!(lanes.of_span, vec![0, 1, 2, 3]);
        }
    }

    /// A concurrency that does not match the history (two processes of one "thread" with
    /// operations at the same time) would draw bars over each other: lanes stay processes.
    #[test]
    fn a_concurrency_that_would_overlap_operations_is_not_used() {
        let history = two_threads();
        let extract = Extract::new(&history).unwrap();
        let lanes = lanes(&extract, Some(1));
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
        let extract = Extract::new(&history).unwrap();
        assert!(!lanes(&extract, Some(2)).folded);
    }
}
