//! Which shipped model a history is for, read from its operations.

use crate::history::{History, Op};
use crate::model::ModelKind;

/// The model inferred for a history, and what in the history says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inferred {
    /// The model.
    pub kind: ModelKind,
    /// Why, naming the first op that decided it (`:cas at line 3`).
    pub reason: String,
}

/// Functions only a key-value map has among the shipped models.
const KV_ONLY: [&str; 4] = ["get", "put", "append", "delete"];

impl ModelKind {
    /// Infers the model from the history's client operations: a key-value map when some op
    /// carries a key or is a `get`, `put`, `append` or `delete` (Porcupine's kv tests); else
    /// a cas-register when some op is a `cas`; else a register. Infer before unwrapping
    /// `jepsen.independent` tuples (which become keys): such a history is one register or
    /// cas-register per key. Functions no model has are left to the check, which refuses them.
    pub fn infer(history: &History) -> Inferred {
        let clients = || {
            history
                .ops
                .iter()
                .enumerate()
                .filter(|(_, op)| op.process.is_client())
        };
        let line = |position: usize| history.location(position).line;
        let first = |test: &dyn Fn(&Op) -> bool| clients().find(|(_, op)| test(op));
        if let Some((position, op)) = first(&|op| op.key.is_some()) {
            return Inferred {
                kind: ModelKind::Kv,
                reason: format!(":{} with a key at line {}", op.f, line(position)),
            };
        }
        if let Some((position, op)) = first(&|op| KV_ONLY.contains(&op.f.as_str())) {
            return Inferred {
                kind: ModelKind::Kv,
                reason: format!(":{} at line {}", op.f, line(position)),
            };
        }
        if let Some((position, _)) = first(&|op| op.f.as_str() == "cas") {
            return Inferred {
                kind: ModelKind::CasRegister,
                reason: format!(":cas at line {}", line(position)),
            };
        }
        Inferred {
            kind: ModelKind::Register,
            reason: "no :cas, no key-value ops".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{OpType, Process};
    use crate::value::Value;

    fn op(process: Process, f: &str) -> Op {
        Op::new(process, OpType::Invoke, f, Value::Nil)
    }

    fn infer(ops: Vec<Op>) -> Inferred {
        ModelKind::infer(&History::from_ops(ops))
    }

    #[test]
    fn cas_ops_make_a_cas_register() {
        let inferred = infer(vec![
            op(Process::Client(0), "read"),
            op(Process::Client(1), "cas"),
        ]);
        assert_eq!(inferred.kind, ModelKind::CasRegister);
        assert_eq!(inferred.reason, ":cas at line 2");
    }

    #[test]
    fn reads_and_writes_make_a_register() {
        let inferred = infer(vec![
            op(Process::Client(0), "read"),
            op(Process::Client(1), "write"),
            // The nemesis is not a client: its ops say nothing about the model.
            op(Process::nemesis(), "put"),
        ]);
        assert_eq!(inferred.kind, ModelKind::Register);
    }

    #[test]
    fn keys_or_key_value_functions_make_a_kv() {
        let keyed = infer(vec![
            op(Process::Client(0), "cas"),
            op(Process::Client(0), "write").with_key(Value::from("a")),
        ]);
        assert_eq!(keyed.kind, ModelKind::Kv);
        assert_eq!(keyed.reason, ":write with a key at line 2");
        let append = infer(vec![op(Process::Client(3), "append")]);
        assert_eq!(append.kind, ModelKind::Kv);
        assert_eq!(append.reason, ":append at line 1");
    }
}
