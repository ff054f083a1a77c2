//! The operations of a history counted as they go by: by outcome and by function, their
//! client processes and keys, and the latencies of the `ok` ones (what summary.txt and the
//! timeline's header quote). O(processes + keys + functions).

use std::collections::{BTreeMap, BTreeSet};

use hdrhistogram::Histogram;
use rafty_checkers::{Outcome, Value};

use crate::extract::Span;

/// Operations by outcome: `[all, ok, fail, info]`.
pub(crate) type OutcomeCounts = [usize; 4];

/// The counts of every operation seen.
#[derive(Debug)]
pub(crate) struct Tally {
    /// Operations by outcome.
    pub outcomes: OutcomeCounts,
    /// Operations that never completed.
    pub never_completed: usize,
    /// Operations by function, then outcome.
    pub by_function: BTreeMap<String, OutcomeCounts>,
    /// The client processes that invoked an operation.
    pub processes: BTreeSet<u64>,
    /// The keys operated on.
    pub keys: BTreeSet<Value>,
    /// The latency of every `ok` operation, on the history's clock, to 3 significant figures.
    pub ok_latencies: Histogram<u64>,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            outcomes: [0; 4],
            never_completed: 0,
            by_function: BTreeMap::new(),
            processes: BTreeSet::new(),
            keys: BTreeSet::new(),
            ok_latencies: Histogram::new(3).expect("3 significant figures is a valid precision"),
        }
    }
}

impl Tally {
    /// Counts `span`.
    pub fn observe(&mut self, span: &Span) {
        let column = match span.outcome {
            Outcome::Ok => 1,
            Outcome::Fail => 2,
            Outcome::Info => 3,
        };
        self.outcomes[0] += 1;
        self.outcomes[column] += 1;
        let by_function = match self.by_function.get_mut(&span.f) {
            Some(counts) => counts,
            None => self.by_function.entry(span.f.clone()).or_default(),
        };
        by_function[0] += 1;
        by_function[column] += 1;
        self.never_completed += usize::from(span.end.is_none());
        self.processes.insert(span.process);
        if let Some(key) = &span.key {
            if !self.keys.contains(key) {
                self.keys.insert(key.clone());
            }
        }
        if let (Outcome::Ok, Some(latency)) = (span.outcome, span.latency()) {
            crate::plots::record(&mut self.ok_latencies, latency);
        }
    }
}
