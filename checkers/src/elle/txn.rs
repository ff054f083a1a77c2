//! Transactions read from a history: each `:txn` operation's micro-operations, with keys
//! interned to small integers, borrowed from the history (nothing is copied).

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;

use crate::error::HistoryError;
use crate::history::{History, Outcome};
use crate::linearizability::FastHasher;
use crate::value::Value;

/// A hash map with a fast, non-cryptographic hasher (lookups only: never iterated).
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A hash set with a fast, non-cryptographic hasher (lookups only: never iterated).
pub(crate) type FastSet<K> = HashSet<K, BuildHasherDefault<FastHasher>>;

/// A transaction's index in [`Txns::txns`]; also its vertex in the dependency graph.
pub type TxnId = u32;

/// A key's index in [`Txns::keys`].
pub type KeyId = u32;

/// What a micro-operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MopKind {
    /// `[:append k v]`: appends `v` to the list at `k`.
    Append,
    /// `[:w k v]`: writes `v` to the register at `k`.
    Write,
    /// `[:r k v]`: reads `k`; `v` is the list (list-append) or the value (rw-register), `nil`
    /// until the read completes.
    Read,
}

/// One micro-operation of a transaction.
#[derive(Debug, Clone, Copy)]
pub struct Mop<'h> {
    /// What it does.
    pub kind: MopKind,
    /// The key.
    pub key: KeyId,
    /// The value appended, written, or read (`nil` for a read not completed).
    pub value: &'h Value,
}

/// A transaction: one `:txn` operation of the history.
#[derive(Debug, Clone)]
pub struct Txn {
    /// How it ended: `ok` committed, `fail` did not happen, `info` may or may not have.
    pub outcome: Outcome,
    /// The client process that ran it.
    pub process: u64,
    /// Position of its invocation in the history.
    pub invoke_position: usize,
    /// Position of its completion, if it completed.
    pub completion_position: Option<usize>,
    /// Its micro-operations: `mops[first_mop..first_mop + mop_count]` of [`Txns::mops`].
    pub first_mop: u32,
    /// How many micro-operations it has.
    pub mop_count: u32,
}

/// Every transaction of a history, their micro-operations and the keys they name.
#[derive(Debug)]
pub struct Txns<'h> {
    /// The history they were read from (for lines and descriptions).
    pub history: &'h History,
    /// The transactions, in invocation order.
    pub txns: Vec<Txn>,
    /// The micro-operations of every transaction, one after another.
    pub mops: Vec<Mop<'h>>,
    /// The keys, by [`KeyId`].
    pub keys: Vec<&'h Value>,
}

impl<'h> Txns<'h> {
    /// The micro-operations of transaction `id`.
    pub fn mops_of(&self, id: TxnId) -> &[Mop<'h>] {
        let txn = &self.txns[id as usize];
        let start = txn.first_mop as usize;
        &self.mops[start..start + txn.mop_count as usize]
    }

    /// The transaction's 1-based line in its source: its completion's, else its invocation's.
    pub fn line(&self, id: TxnId) -> usize {
        let txn = &self.txns[id as usize];
        let position = txn.completion_position.unwrap_or(txn.invoke_position);
        self.history.location(position).line
    }

    /// The transaction's micro-operations as the history wrote them, with its outcome:
    /// `ok [[:append 3 1] [:r 4 [1 2]]]`.
    pub fn describe(&self, id: TxnId) -> String {
        let txn = &self.txns[id as usize];
        let position = match txn.outcome {
            Outcome::Ok => txn.completion_position.unwrap_or(txn.invoke_position),
            _ => txn.invoke_position,
        };
        let outcome = match txn.outcome {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Info => "info",
        };
        format!(
            "process {}, line {}, {outcome} {}",
            txn.process,
            self.line(id),
            self.history.ops[position].value
        )
    }

    /// The key's text (`x`, `3`, `:k`).
    pub fn key(&self, key: KeyId) -> &'h Value {
        self.keys[key as usize]
    }
}

/// Which micro-operations a model has: list-append (`append`, `r` of lists) or rw-register
/// (`w`, `r` of single values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MopSet {
    /// `append` and `r`.
    ListAppend,
    /// `w` and `r`.
    RwRegister,
}

/// Reads the `:txn` operations of `history`. An operation of another function, or a
/// micro-operation the model does not have or that is not `[f k v]`, is an error naming its
/// line.
pub fn read_txns<'h>(history: &'h History, set: MopSet) -> Result<Txns<'h>, HistoryError> {
    let operations = history.operations()?;
    let mut txns = Txns {
        history,
        txns: Vec::with_capacity(operations.len()),
        mops: Vec::with_capacity(operations.len() * 4),
        keys: Vec::new(),
    };
    let mut key_ids: FastMap<&'h Value, KeyId> = FastMap::default();
    for operation in &operations {
        let crate::history::Process::Client(process) = *operation.process() else {
            continue;
        };
        if operation.f().as_str() != "txn" {
            return Err(history.error_at(
                operation.invoke_position,
                format!(
                    ":{} is not a transaction; the transactional models check only :txn \
                     operations",
                    operation.f()
                ),
            ));
        }
        let outcome = operation.outcome();
        // A committed transaction's completion says what it read; otherwise its invocation
        // says what it tried (an `info` completion may carry a value that is not a txn).
        let (position, value) = match (outcome, operation.completion) {
            (Outcome::Ok, Some(completion)) => (
                operation.completion_position.unwrap_or(0),
                &completion.value,
            ),
            _ => (operation.invoke_position, &operation.invoke.value),
        };
        let first_mop = txns.mops.len();
        read_mops(history, position, value, set, &mut txns, &mut key_ids)?;
        txns.txns.push(Txn {
            outcome,
            process,
            invoke_position: operation.invoke_position,
            completion_position: operation.completion_position,
            first_mop: index_u32(first_mop),
            mop_count: index_u32(txns.mops.len() - first_mop),
        });
    }
    Ok(txns)
}

fn index_u32(index: usize) -> u32 {
    u32::try_from(index).expect("more than 2^32 transactions or micro-operations")
}

/// Appends the micro-operations of `value` (the op at `position`) to `txns.mops`.
fn read_mops<'h>(
    history: &'h History,
    position: usize,
    value: &'h Value,
    set: MopSet,
    txns: &mut Txns<'h>,
    key_ids: &mut FastMap<&'h Value, KeyId>,
) -> Result<(), HistoryError> {
    let Some(mops) = value.as_list() else {
        return Err(history.error_at(
            position,
            format!("a :txn value is a vector of micro-operations, not {value}"),
        ));
    };
    for (index, mop) in mops.iter().enumerate() {
        let bad = |reason: String| {
            history.error_at(
                position,
                format!("micro-operation {} ({mop}): {reason}", index + 1),
            )
        };
        let parts = match mop.as_list() {
            Some(parts) if parts.len() == 3 => parts,
            _ => return Err(bad("expected [f key value]".to_owned())),
        };
        let name = parts[0]
            .as_keyword()
            .or_else(|| parts[0].as_str())
            .unwrap_or("");
        let kind = match (name, set) {
            ("append", MopSet::ListAppend) => MopKind::Append,
            ("w", MopSet::RwRegister) => MopKind::Write,
            ("r", _) => MopKind::Read,
            _ => {
                let expected = match set {
                    MopSet::ListAppend => ":append or :r (list-append)",
                    MopSet::RwRegister => ":w or :r (rw-register)",
                };
                return Err(bad(format!(
                    "unknown function {}; expected {expected}",
                    parts[0]
                )));
            }
        };
        let value = &parts[2];
        if set == MopSet::ListAppend
            && kind == MopKind::Read
            && !value.is_nil()
            && value.as_list().is_none()
        {
            return Err(bad(format!(
                "a list-append read returns a list, not {value}"
            )));
        }
        let next_key = index_u32(txns.keys.len());
        let key = *key_ids.entry(&parts[1]).or_insert_with(|| {
            txns.keys.push(&parts[1]);
            next_key
        });
        txns.mops.push(Mop { kind, key, value });
    }
    Ok(())
}
