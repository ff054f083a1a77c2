//! Pairing each client invocation with its completion as the events go by, holding only the
//! open invocation of each client process: what [`History::operations`] does for a history in
//! memory, with the same errors.
//!
//! [`History::operations`]: rafty_checkers::History::operations

use std::collections::BTreeMap;

use rafty_checkers::{HistoryError, Op, OpType, Outcome, Process};

use crate::events::Event;

/// One end of an operation: the event and where it is.
#[derive(Debug, Clone)]
pub(crate) struct End {
    /// The event.
    pub op: Op,
    /// Its history position.
    pub position: usize,
    /// The node that served it, when recorded.
    pub node: Option<String>,
}

/// A client operation: its invocation and, once it came, its completion.
#[derive(Debug, Clone)]
pub(crate) struct Paired {
    /// The client process.
    pub process: u64,
    /// Its place among the history's client operations, in invocation order (0-based).
    pub ordinal: usize,
    /// The invocation.
    pub invoke: End,
    /// The completion; `None` for an operation that never completed.
    pub completion: Option<End>,
}

impl Paired {
    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        match self.completion.as_ref().map(|end| end.op.kind) {
            Some(OpType::Ok) => Outcome::Ok,
            Some(OpType::Fail) => Outcome::Fail,
            _ => Outcome::Info,
        }
    }
}

/// The open invocations, and how many operations were invoked so far.
#[derive(Debug, Default)]
pub(crate) struct Pairing {
    file: String,
    /// Each client process's open operation, and the line of its invocation.
    open: BTreeMap<u64, (Paired, usize)>,
    invoked: usize,
}

/// What an event did to the pairing.
#[derive(Debug)]
pub(crate) enum Step {
    /// Not a client event (a nemesis event).
    Other,
    /// A client invoked an operation (now open, as the pairing holds it).
    Invoked(u64),
    /// An operation completed (boxed: the other steps are a word).
    Completed(Box<Paired>),
}

impl Pairing {
    /// Nothing open; errors name `file`.
    pub fn new(file: String) -> Pairing {
        Pairing {
            file,
            ..Pairing::default()
        }
    }

    /// Takes in the next event. A completion without an open invocation, a second invocation
    /// while one is open on the same process, or a completion whose function differs from its
    /// invocation's is an error naming the file and line.
    pub fn step(&mut self, event: Event<'_>) -> Result<Step, HistoryError> {
        let op = event.op;
        let Process::Client(process) = op.process else {
            return Ok(Step::Other);
        };
        let end = || End {
            op: op.clone(),
            position: event.position,
            node: event.node.map(str::to_owned),
        };
        if op.kind == OpType::Invoke {
            if let Some((_, earlier)) = self.open.get(&process) {
                return Err(self.error(
                    event.line,
                    format!(
                        "process {process} invokes :{} while its invocation at line {earlier} \
                         has not completed",
                        op.f
                    ),
                ));
            }
            let paired = Paired {
                process,
                ordinal: self.invoked,
                invoke: end(),
                completion: None,
            };
            self.invoked += 1;
            self.open.insert(process, (paired, event.line));
            return Ok(Step::Invoked(process));
        }
        let Some((mut paired, line)) = self.open.remove(&process) else {
            return Err(self.error(
                event.line,
                format!(
                    "process {process} completes :{} ({}) without an open invocation",
                    op.f, op.kind
                ),
            ));
        };
        if paired.invoke.op.f != op.f {
            return Err(self.error(
                event.line,
                format!(
                    "process {process} completes :{} but invoked :{} at line {line}",
                    op.f, paired.invoke.op.f
                ),
            ));
        }
        paired.completion = Some(end());
        Ok(Step::Completed(Box::new(paired)))
    }

    /// The operations that never completed, in invocation order.
    pub fn finish(self) -> Vec<Paired> {
        let mut open: Vec<Paired> = self.open.into_values().map(|(paired, _)| paired).collect();
        open.sort_by_key(|paired| paired.ordinal);
        open
    }

    fn error(&self, line: usize, reason: String) -> HistoryError {
        HistoryError::malformed(&self.file, line, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Events;
    use rafty_checkers::{History, Value};

    fn op(process: u64, kind: OpType, f: &str) -> Op {
        Op::new(Process::Client(process), kind, f, Value::Nil)
    }

    /// The errors of pairing `history` one event at a time, and of pairing it whole.
    fn errors(history: &History) -> (String, String) {
        let events = Events::Memory {
            history,
            served_by: &[],
        };
        let mut pairing = Pairing::new(events.file_name());
        let streamed = events.for_each(|event| pairing.step(event).map(|_| ()));
        (
            streamed.unwrap_err().to_string(),
            history.operations().unwrap_err().to_string(),
        )
    }

    #[test]
    fn unpaired_events_are_the_errors_the_whole_history_gives() {
        for ops in [
            vec![op(0, OpType::Ok, "read")],
            vec![op(0, OpType::Invoke, "read"), op(0, OpType::Invoke, "read")],
            vec![op(0, OpType::Invoke, "read"), op(0, OpType::Ok, "write")],
        ] {
            let (streamed, whole) = errors(&History::from_ops(ops));
            assert_eq!(streamed, whole);
        }
    }

    #[test]
    fn operations_pair_and_the_open_ones_never_complete() {
        let history = History::from_ops([
            op(0, OpType::Invoke, "write"),
            op(1, OpType::Invoke, "read"),
            op(1, OpType::Ok, "read"),
            op(2, OpType::Invoke, "read"),
            op(0, OpType::Info, "write"),
        ]);
        let events = Events::Memory {
            history: &history,
            served_by: &[],
        };
        let mut pairing = Pairing::new(events.file_name());
        let mut completed = Vec::new();
        events
            .for_each(|event| {
                if let Step::Completed(paired) = pairing.step(event)? {
                    completed.push((paired.ordinal, paired.outcome()));
                }
                Ok(())
            })
            .unwrap();
        assert_eq!(completed, vec![(1, Outcome::Ok), (0, Outcome::Info)]);
        let never = pairing.finish();
        assert_eq!(never.len(), 1);
        assert_eq!((never[0].ordinal, never[0].outcome()), (2, Outcome::Info));
    }
}
