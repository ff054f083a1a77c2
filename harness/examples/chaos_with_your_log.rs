//! Run rafty's chaos suite with your own `Log` plugged into every node.
//!
//! A [`LogFactory`] opens a node's log on durable state that it keeps itself, outside the
//! simulated host, so that a node the nemesis crashes and restarts sees exactly what it had
//! made durable; `crashed` is where your storage loses whatever a power loss loses (a killed
//! process loses nothing: the OS keeps its page cache). Here the "own" log is rafty's
//! `MemoryLog` behind a wrapper, to keep the example short; put yours instead.
//!
//! `cargo run --release -p rafty-harness --example chaos_with_your_log -- 20` runs 20 seeds and
//! writes each run under `store/`; the exit code is 0 when every run is valid, 1 when any is
//! invalid, 2 when any is unknown.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rafty::memory::{MemoryLog, MemoryStorage};
use rafty::{Log, LogError, NodeId};
use rafty_harness::run::config::TestConfig;
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::suite::{self, SuiteOptions};
use rafty_harness::sim::factories::{LogFactory, SharedLogFactory};
use rafty_workloads::WorkloadKind;

/// Your log's durable state, one per node, kept across restarts.
#[derive(Default)]
struct MyLogFactory {
    disks: Mutex<BTreeMap<NodeId, MemoryStorage>>,
}

impl LogFactory for MyLogFactory {
    fn open(&self, node: NodeId) -> Result<Box<dyn Log>, LogError> {
        let mut disks = self
            .disks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let disk = disks.entry(node).or_default();
        Ok(Box::new(MemoryLog::open(disk)))
    }

    fn crashed(&self, _node: NodeId) {
        // Power loss: a log with write-back caching would drop what it had not synced here.
    }
}

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let plugins = Plugins {
        // A fresh factory (fresh disks) for every run; the argument is the run's disk seed.
        log: Arc::new(|_seed| Arc::new(MyLogFactory::default()) as SharedLogFactory),
        ..Plugins::reference()
    };
    let config = TestConfig::new(WorkloadKind::named("kv").unwrap());
    let options = SuiteOptions {
        seeds: suite::seeds(1, seeds, None),
        store: Some("store".into()),
        progress: true,
        jobs: 1,
    };
    let summary = suite::run_suite(&config, &plugins, &options);
    for run in summary.runs.iter().filter(|run| !run.reason.is_empty()) {
        println!(
            "seed {}: {} ({})\n  reproduce: {}",
            run.seed,
            run.valid.describe(),
            run.reason,
            run.reproduce
        );
    }
    println!(
        "{} runs, verdict {}",
        summary.runs.len(),
        summary.validity().describe()
    );
    std::process::exit(summary.validity().exit_code());
}
