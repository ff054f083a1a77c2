//! One client operation, and how it is written into a history.

use rafty_checkers::{Op, OpType, Process, Value};
use serde::{Deserialize, Serialize};

use crate::txn::{Mop, TxnShape};

/// An operation a client issues against the key-value service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientOp {
    /// Read an integer register.
    Read {
        /// The register's key.
        key: String,
    },
    /// Write an integer register.
    Write {
        /// The register's key.
        key: String,
        /// The value written.
        value: i64,
    },
    /// Compare-and-set an integer register: set `new` if it holds `expected`.
    Cas {
        /// The register's key.
        key: String,
        /// The value the register must hold.
        expected: i64,
        /// The value to set.
        new: i64,
    },
    /// Append a string to a key (append workload).
    Append {
        /// The key appended to.
        key: String,
        /// The string appended.
        value: String,
    },
    /// Read a key's whole string (append workload).
    Get {
        /// The key read.
        key: String,
    },
    /// A transaction: micro-operations applied at once, in one log entry (the transactional
    /// workloads; `shape` says how the history shows it).
    Txn {
        /// How the history shows it.
        shape: TxnShape,
        /// Its micro-operations, in order.
        mops: Vec<Mop>,
    },
}

/// How an operation ended, as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpResult {
    /// It took effect. For reads, the value observed (`Value::Nil` when the key is absent);
    /// for a transaction, a list of what each micro-operation observed ([`Mop::observed`],
    /// nil for a write); for writes, cas and appends, ignored (the invoked value is recorded).
    Ok(Value),
    /// It certainly did not take effect (e.g. NotLeader before sending, cas mismatch).
    Fail(String),
    /// It may or may not have taken effect (timeout, connection lost after sending).
    Info(String),
}

impl ClientOp {
    /// The key the operation touches (a transaction's first micro-operation's, `""` for none).
    pub fn key(&self) -> &str {
        match self {
            ClientOp::Txn { mops, .. } => mops.first().map_or("", Mop::key),
            ClientOp::Read { key }
            | ClientOp::Write { key, .. }
            | ClientOp::Cas { key, .. }
            | ClientOp::Append { key, .. }
            | ClientOp::Get { key } => key,
        }
    }

    /// The history function name: read, write, cas, append, get, or a transaction's
    /// ([`TxnShape::function`]).
    pub fn function(&self) -> &'static str {
        match self {
            ClientOp::Txn { shape, .. } => shape.function(),
            ClientOp::Read { .. } => "read",
            ClientOp::Write { .. } => "write",
            ClientOp::Cas { .. } => "cas",
            ClientOp::Append { .. } => "append",
            ClientOp::Get { .. } => "get",
        }
    }

    /// True for operations that change nothing (read, get, a transaction of reads only).
    pub fn is_read(&self) -> bool {
        match self {
            ClientOp::Txn { shape, mops } => shape.is_read(mops),
            _ => matches!(self, ClientOp::Read { .. } | ClientOp::Get { .. }),
        }
    }

    /// The value an invocation carries: nil for reads, the value for writes and appends,
    /// `[expected new]` for cas.
    pub fn invoke_value(&self) -> Value {
        match self {
            ClientOp::Read { .. } | ClientOp::Get { .. } => Value::Nil,
            ClientOp::Write { value, .. } => Value::Int(*value),
            ClientOp::Cas { expected, new, .. } => {
                Value::List(vec![Value::Int(*expected), Value::Int(*new)])
            }
            ClientOp::Append { value, .. } => Value::String(value.clone()),
            ClientOp::Txn { shape, mops } => shape.invoke_value(mops),
        }
    }

    /// The invocation event of this operation by `process` at `time_ns`.
    pub fn invoke(&self, process: u64, time_ns: u64) -> Op {
        self.event(process, OpType::Invoke, self.invoke_value(), time_ns)
    }

    /// The completion event of this operation by `process` at `time_ns`. A read that took
    /// effect records the value it observed; every other completion records the invoked value,
    /// as Jepsen does.
    pub fn complete(&self, process: u64, time_ns: u64, result: &OpResult) -> Op {
        let (kind, value) = match (result, self) {
            (OpResult::Ok(observed), ClientOp::Txn { shape, mops }) => {
                let observed = observed.as_list().unwrap_or(&[]);
                (OpType::Ok, shape.completion_value(mops, observed))
            }
            (result, _) => self.completion(result),
        };
        self.event(process, kind, value, time_ns)
    }

    /// The type and value of a completion of an operation that is not a transaction.
    fn completion(&self, result: &OpResult) -> (OpType, Value) {
        match result {
            OpResult::Ok(observed) if self.is_read() => (OpType::Ok, observed.clone()),
            OpResult::Ok(_) => (OpType::Ok, self.invoke_value()),
            OpResult::Fail(_) => (OpType::Fail, self.invoke_value()),
            OpResult::Info(_) => (OpType::Info, self.invoke_value()),
        }
    }

    /// The event; a transaction's carries no key (its micro-operations name theirs).
    fn event(&self, process: u64, kind: OpType, value: Value, time_ns: u64) -> Op {
        let op = Op::new(Process::Client(process), kind, self.function(), value);
        let op = match self {
            ClientOp::Txn { .. } => op,
            _ => op.with_key(Value::String(self.key().to_owned())),
        };
        op.with_time(time_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_records_what_it_observed() {
        let op = ClientOp::Read { key: "k1".into() };
        let invoke = op.invoke(3, 10);
        assert_eq!(
            (invoke.kind, invoke.value.clone()),
            (OpType::Invoke, Value::Nil)
        );
        assert_eq!(invoke.key, Some(Value::String("k1".into())));
        let done = op.complete(3, 20, &OpResult::Ok(Value::Int(4)));
        assert_eq!(
            (done.kind, done.value, done.time),
            (OpType::Ok, Value::Int(4), Some(20))
        );
    }

    #[test]
    fn a_cas_records_expected_and_new_whatever_the_outcome() {
        let op = ClientOp::Cas {
            key: "k".into(),
            expected: 1,
            new: 2,
        };
        let pair = Value::List(vec![Value::Int(1), Value::Int(2)]);
        for (result, kind) in [
            (OpResult::Ok(Value::Nil), OpType::Ok),
            (OpResult::Fail("mismatch".into()), OpType::Fail),
            (OpResult::Info("timeout".into()), OpType::Info),
        ] {
            let done = op.complete(0, 1, &result);
            assert_eq!((done.kind, done.value), (kind, pair.clone()));
            assert_eq!(done.f.as_str(), "cas");
        }
    }

    #[test]
    fn an_indeterminate_read_keeps_nil() {
        let op = ClientOp::Get { key: "a".into() };
        let done = op.complete(1, 5, &OpResult::Info("timed out".into()));
        assert_eq!((done.kind, done.value), (OpType::Info, Value::Nil));
    }
}
