//! The history of a run as it happens: every client invocation and completion, with the node
//! it went to, and the nemesis operations, in the order they happened in simulated time.

use std::cell::RefCell;
use std::rc::Rc;

use rafty_checkers::{History, Op, OpType, Process, Value};
use serde::Serialize;

use crate::nemesis::NemesisEvent;

/// One line of `history.jsonl`: a checkers [`Op`] plus the node a client used (an extra field
/// that `rafty check` ignores).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordedOp {
    /// The event, in rafty-checkers' model.
    #[serde(flatten)]
    pub op: Op,
    /// The node the client sent the operation to (`n3`), if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// The history being recorded; shared by the clients and the outer loop of one simulation
/// (which is single-threaded, so an `Rc<RefCell<..>>` is enough).
#[derive(Clone, Debug, Default)]
pub struct Recorder {
    inner: Rc<RefCell<Vec<RecordedOp>>>,
}

impl Recorder {
    /// An empty history.
    pub fn new() -> Self {
        Recorder::default()
    }

    /// Record `op` (its index is set to its position) sent to `node`.
    pub fn record(&self, mut op: Op, node: Option<String>) {
        let mut ops = self.inner.borrow_mut();
        op.index = ops.len() as u64;
        ops.push(RecordedOp { op, node });
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

    /// Everything recorded so far.
    pub fn ops(&self) -> Vec<RecordedOp> {
        self.inner.borrow().clone()
    }

    /// The recorded events as a checkers [`History`].
    pub fn history(&self) -> History {
        History::from_ops(
            self.inner
                .borrow()
                .iter()
                .map(|recorded| recorded.op.clone()),
        )
    }
}
