//! An Elle-style checker of transactional histories (see issue 23): it infers the
//! dependencies between transactions from what they read and wrote, finds the cycles among
//! them, and names the anomaly each cycle is and the consistency models it rules out.
//!
//! - [`txn`]: the transactions of a history (`:txn` operations of `[f k v]` micro-ops).
//! - [`list_append`] and [`rw_register`]: the two data models, each inferring version
//!   orders, ww/wr/rw edges and the anomalies seen without a cycle.
//! - [`order`]: process and real-time edges.
//! - [`graph`], [`scc`] and [`cycle`]: the dependency graph, its strongly connected
//!   components, and the most severe cycle in each.
//! - [`synthetic`]: strictly serializable list-append histories for tests and benchmarks.
//! - [`anomaly`], [`consistency`] and [`report`]: what was found, what it rules out, in
//!   words.
//!
//! Transactions that failed did not happen; indeterminate ones (`info`, or no completion)
//! may or may not have: their writes count when someone read them, their reads never do.
//!
//! ```
//! use rafty_checkers::elle::{self, ElleOptions, TxnModel};
//! use rafty_checkers::import::{self, Format};
//!
//! // Write skew: each transaction appends to one key and misses the other's append.
//! let text = r#"{:process 0, :type :invoke, :f :txn, :value [[:append :x 1] [:r :y nil]]}
//! {:process 1, :type :invoke, :f :txn, :value [[:append :y 1] [:r :x nil]]}
//! {:process 0, :type :ok, :f :txn, :value [[:append :x 1] [:r :y []]]}
//! {:process 1, :type :ok, :f :txn, :value [[:append :y 1] [:r :x []]]}
//! {:process 2, :type :invoke, :f :txn, :value [[:r :x nil] [:r :y nil]]}
//! {:process 2, :type :ok, :f :txn, :value [[:r :x [1]] [:r :y [1]]]}"#;
//! let history = import::parse_str("skew.edn", text, Format::Edn).unwrap();
//! let result = elle::check(TxnModel::ListAppend, &history, &ElleOptions::default()).unwrap();
//! assert!(!result.valid);
//! assert_eq!(result.anomaly_types[0].name(), "G2-item");
//! ```

pub mod anomaly;
pub mod consistency;
pub mod cycle;
pub mod graph;
pub mod list_append;
pub mod order;
pub mod report;
pub mod rw_register;
pub mod scc;
pub mod synthetic;
pub mod txn;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

pub use anomaly::{Anomaly, AnomalyKind};
pub use consistency::ConsistencyModel;

use crate::error::HistoryError;
use crate::history::{History, Outcome};
use cycle::CycleSearch;
use graph::{EdgeKind, EdgeKinds, Graph};
use report::{Anomalies, Explain};
use scc::Tarjan;
use txn::{MopSet, TxnId};

/// The data model of a transactional history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxnModel {
    /// Lists with `[:append k v]` and `[:r k [vs]]` (unique appended elements).
    ListAppend,
    /// Registers with `[:w k v]` and `[:r k v]` (unique written values).
    RwRegister,
}

impl TxnModel {
    /// Its name: `list-append` or `rw-register`.
    pub fn name(self) -> &'static str {
        match self {
            TxnModel::ListAppend => "list-append",
            TxnModel::RwRegister => "rw-register",
        }
    }
}

impl fmt::Display for TxnModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TxnModel {
    type Err = String;

    fn from_str(name: &str) -> Result<TxnModel, String> {
        match name {
            "list-append" => Ok(TxnModel::ListAppend),
            "rw-register" => Ok(TxnModel::RwRegister),
            _ => Err(format!(
                "unknown transactional model '{name}' (expected list-append or rw-register)"
            )),
        }
    }
}

/// How to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElleOptions {
    /// The model the history must satisfy for the verdict to be valid.
    pub target: ConsistencyModel,
    /// How many vertices the cycle searches may visit in all before they give up on
    /// classifying the remaining cycles (each is then reported as `cycle-exists`).
    pub search_budget: usize,
}

impl Default for ElleOptions {
    /// Strict serializability, what a Raft-replicated store promises; a budget of 50 million
    /// visits (seconds of search).
    fn default() -> ElleOptions {
        ElleOptions {
            target: ConsistencyModel::StrictSerializable,
            search_budget: 50_000_000,
        }
    }
}

/// How many edges of each kind the dependency graph has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EdgeCounts {
    /// Write-write.
    pub ww: usize,
    /// Write-read.
    pub wr: usize,
    /// Read-write.
    pub rw: usize,
    /// Process order.
    pub process: usize,
    /// Real-time order (its transitive reduction).
    pub realtime: usize,
}

/// The verdict on a transactional history.
#[derive(Debug, Clone, Serialize)]
pub struct ElleResult {
    /// Whether no anomaly found rules out the target model.
    pub valid: bool,
    /// The data model.
    pub model: TxnModel,
    /// The model the verdict is about.
    pub target: ConsistencyModel,
    /// The classes of anomaly found, most severe (as sorted by [`AnomalyKind`]) first.
    pub anomaly_types: Vec<AnomalyKind>,
    /// Every model the anomalies rule out, weakest first.
    pub not: Vec<ConsistencyModel>,
    /// How many anomalies of each class were found.
    pub anomaly_counts: BTreeMap<String, usize>,
    /// The first few anomalies of each class, explained.
    pub anomalies: Vec<Anomaly>,
    /// Transactions checked, and of those committed, failed and indeterminate.
    pub transactions: usize,
    /// Committed transactions.
    pub ok: usize,
    /// Failed transactions (which did not happen).
    pub failed: usize,
    /// Indeterminate transactions.
    pub indeterminate: usize,
    /// The dependency graph's edges.
    pub edges: EdgeCounts,
    /// Strongly connected components of two or more transactions (each holds a cycle).
    pub cyclic_components: usize,
}

impl ElleResult {
    /// One line: `valid (strict-serializable)`, or which anomalies rule the target out.
    pub fn describe(&self) -> String {
        if self.valid {
            let weaker = if self.anomaly_types.is_empty() {
                String::new()
            } else {
                format!(
                    ", though {} rule{} out {}",
                    names(&self.anomaly_types),
                    if self.anomaly_types.len() == 1 {
                        "s"
                    } else {
                        ""
                    },
                    names(&self.not)
                )
            };
            return format!("valid ({}{weaker})", self.target);
        }
        format!(
            "not {}: {} (ruling out {})",
            self.target,
            names(&self.anomaly_types),
            names(&self.not)
        )
    }
}

fn names<T: fmt::Display>(items: &[T]) -> String {
    let names: Vec<String> = items.iter().map(ToString::to_string).collect();
    names.join(", ")
}

/// Checks a transactional history under `model`. Bad input (an operation that is not
/// `:txn`, a malformed micro-operation, a non-unique write) is an error naming its line.
pub fn check(
    model: TxnModel,
    history: &History,
    options: &ElleOptions,
) -> Result<ElleResult, HistoryError> {
    let set = match model {
        TxnModel::ListAppend => MopSet::ListAppend,
        TxnModel::RwRegister => MopSet::RwRegister,
    };
    let txns = txn::read_txns(history, set)?;
    let mut graph = Graph::new(txns.txns.len());
    let mut found = Anomalies::default();
    let explain: Box<dyn Explain + '_> = match model {
        TxnModel::ListAppend => Box::new(list_append::ListAppend::analyze(
            &txns, &mut graph, &mut found,
        )?),
        TxnModel::RwRegister => Box::new(rw_register::RwRegister::analyze(
            &txns, &mut graph, &mut found,
        )?),
    };
    order::add_order_edges(&txns, &mut graph);
    graph.seal();
    let every = EdgeKinds::of(&EdgeKind::ALL);
    let vertices = graph.len() as TxnId;
    let components = Tarjan::new(graph.len()).components(&graph, 0..vertices, |_| true, every);
    let mut search = CycleSearch::new(&graph, options.search_budget);
    for component in &components {
        match search.most_severe(&graph, component) {
            Some(cycle) => {
                let kind = AnomalyKind::of_cycle(&cycle);
                found.add(kind, || report::cycle(&txns, &cycle, explain.as_ref()));
            }
            None => found.add(AnomalyKind::CycleExists, || {
                let ids: Vec<TxnId> = component.iter().copied().take(8).collect();
                report::direct(
                    &txns,
                    AnomalyKind::CycleExists,
                    &ids,
                    format!(
                        "{} transactions depend on one another in a cycle (the first {} are \
                         listed), but the search for its class ran out of budget",
                        component.len(),
                        ids.len()
                    ),
                )
            }),
        }
    }
    Ok(verdict(
        model,
        options.target,
        &txns,
        &graph,
        components.len(),
        found,
    ))
}

fn verdict(
    model: TxnModel,
    target: ConsistencyModel,
    txns: &txn::Txns,
    graph: &Graph,
    cyclic_components: usize,
    found: Anomalies,
) -> ElleResult {
    let anomaly_types: Vec<AnomalyKind> = found.counts.keys().copied().collect();
    let not: Vec<ConsistencyModel> = ConsistencyModel::ALL
        .into_iter()
        .filter(|model| anomaly_types.iter().any(|a| model.ruled_out_by(*a)))
        .collect();
    let count = |outcome| txns.txns.iter().filter(|t| t.outcome == outcome).count();
    let [ww, wr, rw, process, realtime] = graph.counts();
    ElleResult {
        valid: !not.contains(&target),
        model,
        target,
        anomaly_counts: found
            .counts
            .iter()
            .map(|(kind, count)| (kind.name().to_owned(), *count))
            .collect(),
        anomaly_types,
        not,
        anomalies: found.examples,
        transactions: txns.txns.len(),
        ok: count(Outcome::Ok),
        failed: count(Outcome::Fail),
        indeterminate: count(Outcome::Info),
        edges: EdgeCounts {
            ww,
            wr,
            rw,
            process,
            realtime,
        },
        cyclic_components,
    }
}
