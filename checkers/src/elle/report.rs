//! Collecting anomalies: every one counted, the first few of each class kept with their
//! explanation (a history with a million intermediate reads needs a few examples, not a
//! million).

use std::collections::BTreeMap;

use crate::elle::anomaly::{Anomaly, AnomalyKind, Because, TxnRef};
use crate::elle::cycle::Cycle;
use crate::elle::graph::EdgeKind;
use crate::elle::txn::{TxnId, Txns};

/// How many anomalies of each class are kept with their explanation.
pub const EXAMPLES_PER_KIND: usize = 8;

/// Why an edge between two transactions exists, in words, given their names.
pub trait Explain {
    /// Why `from -> to` has a data dependency `kind` (ww, wr or rw), naming the two
    /// transactions `from_name` and `to_name`.
    fn why(&self, from: TxnId, to: TxnId, kind: EdgeKind, names: (&str, &str)) -> String;
}

/// The anomalies found so far.
#[derive(Debug, Default)]
pub struct Anomalies {
    /// The examples kept, in the order found.
    pub examples: Vec<Anomaly>,
    /// How many of each class were found.
    pub counts: BTreeMap<AnomalyKind, usize>,
}

impl Anomalies {
    /// Counts an anomaly of `kind`, and keeps the one `build` makes while few of its class
    /// are kept (so explanations are only written for the examples).
    pub fn add(&mut self, kind: AnomalyKind, build: impl FnOnce() -> Anomaly) {
        let count = self.counts.entry(kind).or_insert(0);
        *count += 1;
        if *count <= EXAMPLES_PER_KIND {
            self.examples.push(build());
        }
    }
}

/// An anomaly about the transactions `ids` (named T1, T2... in that order) with no cycle.
pub fn direct(txns: &Txns, kind: AnomalyKind, ids: &[TxnId], explanation: String) -> Anomaly {
    Anomaly {
        kind,
        txns: refs(txns, ids),
        cycle: Vec::new(),
        explanation,
    }
}

fn refs(txns: &Txns, ids: &[TxnId]) -> Vec<TxnRef> {
    ids.iter()
        .enumerate()
        .map(|(i, &id)| TxnRef {
            name: format!("T{}", i + 1),
            description: txns.describe(id),
        })
        .collect()
}

/// The anomaly a cycle is: its class, its transactions named T1, T2... in cycle order, and
/// each edge with why it exists.
pub fn cycle(txns: &Txns, cycle: &Cycle, explain: &dyn Explain) -> Anomaly {
    let kind = AnomalyKind::of_cycle(cycle);
    let ids: Vec<TxnId> = cycle.iter().map(|step| step.from).collect();
    let name = |id: TxnId| {
        let at = ids.iter().position(|&x| x == id).expect("a cycle's vertex");
        format!("T{}", at + 1)
    };
    let because: Vec<Because> = cycle
        .iter()
        .map(|step| {
            let (from, to) = (name(step.from), name(step.to));
            let why = match step.kind {
                EdgeKind::Process => format!(
                    "process {} ran {from}, then {to}",
                    txns.txns[step.from as usize].process
                ),
                EdgeKind::Realtime => format!(
                    "{from} completed (line {}) before {to} was invoked (line {})",
                    txns.line(step.from),
                    txns.history
                        .location(txns.txns[step.to as usize].invoke_position)
                        .line
                ),
                data => explain.why(step.from, step.to, data, (&from, &to)),
            };
            Because {
                from,
                to,
                kind: step.kind,
                why,
            }
        })
        .collect();
    let path: Vec<String> = because
        .iter()
        .map(|b| format!("{} -{}->", b.from, b.kind))
        .collect();
    let explanation = format!(
        "a cycle of {} transactions: {} T1",
        ids.len(),
        path.join(" ")
    );
    Anomaly {
        kind,
        txns: refs(txns, &ids),
        cycle: because,
        explanation,
    }
}
