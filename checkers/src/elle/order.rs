//! Process and real-time order edges.
//!
//! Real time: `a -> b` when `a` completed before `b` was invoked. Only the transitive
//! reduction is added (a sweep keeps the frontier of completed transactions that no later
//! completed transaction follows), so the edges stay about as many as transactions times
//! the concurrency. Process: each process's committed transaction to its next one.
//!
//! Failed transactions did not happen and take part in neither. An indeterminate one may
//! have taken effect at any time after its invocation: edges lead into it, never out.

use std::collections::BTreeMap;

use crate::elle::graph::{EdgeKind, Graph};
use crate::elle::txn::{TxnId, Txns};
use crate::history::Outcome;

/// Adds the process and real-time edges of `txns` to `graph`.
pub fn add_order_edges(txns: &Txns, graph: &mut Graph) {
    // (position, transaction, whether this is its completion), in history order.
    let mut events: Vec<(usize, TxnId, bool)> = Vec::with_capacity(txns.txns.len() * 2);
    for (id, txn) in txns.txns.iter().enumerate() {
        if txn.outcome == Outcome::Fail {
            continue;
        }
        let id = id as TxnId;
        events.push((txn.invoke_position, id, false));
        if txn.outcome == Outcome::Ok {
            let completion = txn
                .completion_position
                .expect("an ok transaction has a completion");
            events.push((completion, id, true));
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<TxnId> = Vec::new();
    // The frontier each running transaction saw when invoked.
    let mut seen_at_invoke: BTreeMap<TxnId, Vec<TxnId>> = BTreeMap::new();
    let mut last_of_process: BTreeMap<u64, TxnId> = BTreeMap::new();
    for (_, id, completion) in events {
        let txn = &txns.txns[id as usize];
        if completion {
            let before = seen_at_invoke.remove(&id).unwrap_or_default();
            frontier.retain(|done| !before.contains(done));
            frontier.push(id);
            last_of_process.insert(txn.process, id);
        } else {
            for &done in &frontier {
                graph.add(done, id, EdgeKind::Realtime);
            }
            if let Some(&previous) = last_of_process.get(&txn.process) {
                graph.add(previous, id, EdgeKind::Process);
            }
            if txn.outcome == Outcome::Ok {
                seen_at_invoke.insert(id, frontier.clone());
            }
        }
    }
}
