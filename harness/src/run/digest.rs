//! What the judge needs of a run's history besides linearizability, computed in one pass over
//! `history.jsonl` that holds one event at a time: the operation counts, the p99 latency of the
//! `ok` operations and the liveness windows. O(clients + windows), whatever the run's length.

use std::io;
use std::path::Path;

use rafty_checkers::OpType;
use rafty_reports::OkLatencyStream;

use crate::checks::liveness::Windows;
use crate::sim::recorder::{self, RecordedOp};

use super::results::OpCounts;

/// The figures of one pass over a history.
#[derive(Debug)]
pub struct Digest {
    /// Client events by type.
    pub ops: OpCounts,
    /// The p99 latency of the `ok` operations.
    pub latency: OkLatencyStream,
    /// The liveness windows, marked where an operation succeeded.
    pub windows: Windows,
}

impl Digest {
    /// Nothing seen yet; `windows` are the run's healthy windows.
    pub fn new(windows: Windows) -> Self {
        Digest {
            ops: OpCounts::default(),
            latency: OkLatencyStream::default(),
            windows,
        }
    }

    /// Take in the next event of the history.
    pub fn observe(&mut self, recorded: &RecordedOp) {
        let op = &recorded.op;
        if op.process.is_client() {
            match op.kind {
                OpType::Invoke => self.ops.invoked += 1,
                OpType::Ok => self.ops.ok += 1,
                OpType::Fail => self.ops.fail += 1,
                OpType::Info => self.ops.info += 1,
            }
        }
        self.latency.observe(op);
        self.windows.observe(op);
    }

    /// Take in every event of the spooled history at `path`, one line at a time; a bad line is
    /// an error naming the file and line.
    pub fn read(mut self, path: &Path) -> io::Result<Self> {
        for recorded in recorder::spool_ops(path)? {
            self.observe(&recorded?);
        }
        Ok(self)
    }
}
