//! What the judge needs of a run's history besides linearizability, computed in one pass over
//! `history.jsonl` that holds one event at a time: the operation counts, the p99 latency of the
//! `ok` operations and the liveness windows. O(clients + windows), whatever the run's length.
//!
//! A line that cannot be read ends the pass with an error naming the file and line, which
//! carries what was read before it ([`Unread`]): nothing read is dropped, and nothing unread
//! is claimed (the liveness windows after the last event read are not judged).

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
    /// The latest time of an event taken in.
    latest_ns: u64,
}

/// A pass that stopped at a line it could not read.
#[derive(Debug)]
pub struct Unread {
    /// What the events before that line gave, the liveness windows cut to those that ended by
    /// the last of them.
    pub digest: Digest,
    /// Why, naming the file and line.
    pub error: io::Error,
}

impl Digest {
    /// Nothing seen yet; `windows` are the run's healthy windows.
    pub fn new(windows: Windows) -> Self {
        Digest {
            ops: OpCounts::default(),
            latency: OkLatencyStream::default(),
            windows,
            latest_ns: 0,
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
        self.windows.observe_answer(op, recorded.node.as_deref());
        self.latest_ns = self.latest_ns.max(op.time.unwrap_or(0));
    }

    /// Take in every event of the spooled history at `path`, one line at a time. A file that
    /// cannot be opened or a line that cannot be read is an error naming the file (and line),
    /// with what was read before it.
    pub fn read(mut self, path: &Path) -> Result<Self, Box<Unread>> {
        let lines = match recorder::spool_ops(path) {
            Ok(lines) => lines,
            Err(error) => return Err(self.unread(error)),
        };
        for recorded in lines {
            match recorded {
                Ok(recorded) => self.observe(&recorded),
                Err(error) => return Err(self.unread(error)),
            }
        }
        Ok(self)
    }

    /// This digest stopped by `error`: the windows it could not see to their end are dropped.
    fn unread(mut self, error: io::Error) -> Box<Unread> {
        self.windows = self.windows.until(self.latest_ns);
        Box::new(Unread {
            digest: self,
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Duration;

    use rafty_checkers::{Op, Process, Value};

    use super::*;

    fn line(process: u64, kind: OpType, time_s: u64) -> String {
        let op = Op::new(Process::Client(process), kind, "read", Value::Nil)
            .with_time(time_s * 1_000_000_000);
        serde_json::to_string(&RecordedOp { op, node: None }).unwrap()
    }

    /// A run of 10 s with faults from 3 s to 4 s and 6 s to 7 s: healthy windows from 1 s to 3
    /// s, 5 s to 6 s and 8 s to 10 s.
    fn windows() -> Windows {
        let event = |time_s: u64, f: &str| crate::nemesis::NemesisEvent {
            time_ns: time_s * 1_000_000_000,
            f: f.into(),
            value: String::new(),
        };
        let events = [
            event(3, "start-kill"),
            event(4, "stop-kill"),
            event(6, "start-kill"),
            event(7, "stop-kill"),
        ];
        Windows::new(
            &events,
            Duration::from_secs(10),
            Duration::from_secs(1),
            Duration::from_millis(500),
        )
    }

    #[test]
    fn a_history_read_to_its_end_judges_every_window() {
        let mut spool = tempfile::NamedTempFile::new().unwrap();
        for (invoke, ok) in [(1, 2), (5, 5), (8, 9)] {
            writeln!(spool, "{}", line(0, OpType::Invoke, invoke)).unwrap();
            writeln!(spool, "{}", line(0, OpType::Ok, ok)).unwrap();
        }
        let digest = Digest::new(windows()).read(spool.path()).unwrap();
        assert_eq!(digest.ops.ok, 3);
        let liveness = digest.windows.verdict(&Default::default());
        assert_eq!(liveness.windows_checked, 3);
        assert!(liveness.valid);
    }

    /// A line that cannot be read is an error naming the file and line, and what was read
    /// before it is kept: its counts, and the windows that ended by its last event (the
    /// windows after it are not judged, never called stalled).
    #[test]
    fn a_bad_line_is_an_error_naming_it_that_keeps_what_was_read() {
        let mut spool = tempfile::NamedTempFile::new().unwrap();
        writeln!(spool, "{}", line(0, OpType::Invoke, 1)).unwrap();
        writeln!(spool, "{}", line(0, OpType::Ok, 2)).unwrap();
        writeln!(spool, "{}", line(1, OpType::Invoke, 4)).unwrap();
        writeln!(spool, "{{\"index\": 3, \"process\"").unwrap();
        writeln!(spool, "{}", line(1, OpType::Ok, 9)).unwrap();
        let unread = Digest::new(windows()).read(spool.path()).unwrap_err();
        let message = unread.error.to_string();
        let at = format!("{}:4: ", spool.path().display());
        assert!(message.starts_with(&at), "{message}");
        assert_eq!(unread.digest.ops.invoked, 2);
        assert_eq!(unread.digest.ops.ok, 1);
        let liveness = unread.digest.windows.verdict(&Default::default());
        assert_eq!(liveness.windows_checked, 1, "only the window ended by 4 s");
        assert!(liveness.valid, "{liveness:?}");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.jsonl");
        let unread = Digest::new(windows()).read(&path).unwrap_err();
        assert!(
            unread.error.to_string().contains("history.jsonl"),
            "{}",
            unread.error
        );
        let liveness = unread.digest.windows.verdict(&Default::default());
        assert_eq!(liveness.windows_checked, 0);
    }
}
