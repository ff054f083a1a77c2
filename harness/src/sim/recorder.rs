//! The history of a run as it happens: every client invocation and completion, with the node
//! it went to, and the nemesis operations, in the order they happened in simulated time.
//!
//! The history is streamed to a spool file as it is recorded (one JSON line per event, exactly
//! the bytes of `history.jsonl`), so a run holds none of it in memory however long it lasts;
//! [`spool_ops`] reads it back, one event at a time, for the judge and the store once the
//! simulation is gone.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::rc::Rc;

use rafty_checkers::{Op, OpType, Process, Value};
use serde::{Deserialize, Serialize};

use crate::nemesis::NemesisEvent;

/// One line of `history.jsonl`: a checkers [`Op`] plus the node a client used (an extra field
/// that `rafty check` ignores).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedOp {
    /// The event, in rafty-checkers' model.
    #[serde(flatten)]
    pub op: Op,
    /// The node the client sent the operation to (`n3`), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// The history being recorded; shared by the clients and the outer loop of one simulation
/// (which is single-threaded, so an `Rc<RefCell<..>>` is enough).
#[derive(Clone)]
pub struct Recorder {
    inner: Rc<RefCell<Spool>>,
}

struct Spool {
    /// `None` once a write failed (the first error is kept) or the spool was finished.
    out: Option<BufWriter<File>>,
    error: Option<io::Error>,
    recorded: u64,
    client_completions: u64,
}

impl Recorder {
    /// An empty history, streamed to `file` (which should be empty).
    pub fn new(file: File) -> Self {
        Recorder {
            inner: Rc::new(RefCell::new(Spool {
                out: Some(BufWriter::new(file)),
                error: None,
                recorded: 0,
                client_completions: 0,
            })),
        }
    }

    /// A recorder whose spool could not be created: it counts events, keeps none, and
    /// [`Recorder::finish`] returns `error`.
    pub fn failed(error: io::Error) -> Self {
        Recorder {
            inner: Rc::new(RefCell::new(Spool {
                out: None,
                error: Some(error),
                recorded: 0,
                client_completions: 0,
            })),
        }
    }

    /// Record `op` (its index is set to its position) sent to `node`.
    pub fn record(&self, mut op: Op, node: Option<String>) {
        let mut spool = self.inner.borrow_mut();
        op.index = spool.recorded;
        spool.recorded += 1;
        if matches!(op.process, Process::Client(_)) && op.kind != OpType::Invoke {
            spool.client_completions += 1;
        }
        let recorded = RecordedOp { op, node };
        if let Some(out) = spool.out.as_mut() {
            let written = serde_json::to_writer(&mut *out, &recorded)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(error) = written {
                spool.out = None;
                spool.error = Some(error);
            }
        }
    }

    /// Record a nemesis operation as Jepsen does: an `info` of the `nemesis` process.
    pub fn record_nemesis(&self, event: &NemesisEvent) {
        let value = if event.value.is_empty() {
            Value::Nil
        } else {
            Value::String(event.value.clone())
        };
        let op = Op::new(Process::nemesis(), OpType::Info, event.f.as_str(), value)
            .with_time(event.time_ns);
        self.record(op, None);
    }

    /// Events recorded so far (invocations, completions and nemesis operations).
    pub fn recorded(&self) -> u64 {
        self.inner.borrow().recorded
    }

    /// Client operations completed so far (ok, fail or info).
    pub fn client_completions(&self) -> u64 {
        self.inner.borrow().client_completions
    }

    /// Flush the spool; the first write error of the run, if any, is returned here.
    pub fn finish(&self) -> io::Result<()> {
        let mut spool = self.inner.borrow_mut();
        if let Some(mut out) = spool.out.take() {
            if let Err(error) = out.flush() {
                spool.error.get_or_insert(error);
            }
        }
        match spool.error.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// Read a spooled history back whole; a bad line is an error naming the file and line. (Tests
/// only: a run reads its spool with [`spool_ops`], one event at a time.)
pub fn read_spool(path: &Path) -> io::Result<Vec<RecordedOp>> {
    spool_ops(path)?.collect()
}

/// The events of a spooled history (`history.jsonl`), read one line at a time, so that no
/// reader of a long run's history holds more than one event of it; a bad line is an error
/// naming the file and line.
pub fn spool_ops(path: &Path) -> io::Result<impl Iterator<Item = io::Result<RecordedOp>>> {
    let reader =
        BufReader::new(File::open(path).map_err(|error| {
            io::Error::new(error.kind(), format!("{}: {error}", path.display()))
        })?);
    let path = path.to_owned();
    Ok(reader.lines().enumerate().map(move |(number, line)| {
        let line = line.map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("{}:{}: {error}", path.display(), number + 1),
            )
        })?;
        serde_json::from_str(&line).map_err(|error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}:{}: {error}", path.display(), number + 1),
            )
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spool_holds_every_event_and_reads_back_the_same() {
        let spool = tempfile::NamedTempFile::new().expect("temp file");
        let recorder = Recorder::new(spool.reopen().expect("reopen"));
        let invoke =
            Op::new(Process::Client(0), OpType::Invoke, "write", Value::Int(3)).with_time(5);
        let ok = Op::new(Process::Client(0), OpType::Ok, "write", Value::Int(3)).with_time(9);
        recorder.record(invoke, None);
        recorder.record(ok, Some("n2".into()));
        recorder.record_nemesis(&NemesisEvent {
            time_ns: 10,
            f: "start-kill".into(),
            value: "n1".into(),
        });
        recorder.finish().expect("flushed");
        assert_eq!((recorder.recorded(), recorder.client_completions()), (3, 1));
        let ops = read_spool(spool.path()).expect("reads back");
        let indices: Vec<u64> = ops.iter().map(|recorded| recorded.op.index).collect();
        assert_eq!(indices, [0, 1, 2]);
        assert_eq!(ops[1].node.as_deref(), Some("n2"));
        assert_eq!(ops[1].op.value, Value::Int(3));
        let mut rewritten = Vec::new();
        crate::run::store::write_history_jsonl(&ops, &mut rewritten).expect("in memory");
        let spooled = std::fs::read(spool.path()).expect("read");
        assert_eq!(
            rewritten, spooled,
            "read back and written again, byte for byte"
        );
    }

    #[test]
    fn a_bad_spool_line_is_named_by_file_and_line() {
        let spool = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(spool.path(), "{\"nope\": 1}\n").expect("write");
        let error = read_spool(spool.path()).expect_err("not an op");
        assert!(error.to_string().contains(":1:"), "{error}");
    }
}
