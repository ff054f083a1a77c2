//! Run rafty's chaos suite with your own `Log` plugged into every node.
//!
//! Your log comes through the one factory trait of a `Log`, `rafty::testing::LogFactory`, the
//! same the conformance suites take. A log that does its I/O through rafty's `FileSystem`
//! (`open_on_file_system`) runs on each host's simulated disk, and the run's faults are then
//! every one that applies, power loss and power loss inside a write included. Any other log
//! runs on stores its factory creates (`UserLogs`), under every fault but those two. Here the
//! "own" log is rafty's `FileLog`, to keep the example short; put yours instead. (In a test of
//! your crate, `rafty_testing::log::run_all(YourFactory)` does all of this in one call.)
//!
//! `cargo run --release -p rafty-harness --example chaos_with_your_log -- 20` runs 20 seeds (from
//! 1; a second number is the first seed) and writes each run under `store/`; the exit code is 0 when every run is valid, 1 when any is
//! invalid, 2 when any is unknown.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rafty::file_log::fs::FileSystem;
use rafty::testing::log_suite::LogFactory;
use rafty::{FileLog, Log, LogError};
use rafty_harness::nemesis::kind::FaultKind;
use rafty_harness::run::config::{LogKind, TestConfig};
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::suite::{self, SuiteOptions};
use rafty_harness::sim::factories::SharedLogFactory;
use rafty_harness::sim::user_log::on_simulated_disk;
use rafty_workloads::WorkloadKind;

/// Your log's factory: `FileLog`s, in temporary directories on the real disk, and on any
/// `FileSystem` it is handed (the simulated disks).
struct MyLogFactory;

impl LogFactory for MyLogFactory {
    type Log = FileLog;
    type Store = std::path::PathBuf;

    fn create(&mut self) -> Result<Self::Store, LogError> {
        unreachable!("on simulated disks the harness opens logs with open_on_file_system")
    }

    fn open(&mut self, dir: &Self::Store) -> Result<FileLog, LogError> {
        FileLog::open(dir)
    }

    fn open_on_file_system<FS: FileSystem + Clone + Sync>(
        &mut self,
        fs: FS,
        dir: &Path,
    ) -> Option<Result<Box<dyn Log>, LogError>> {
        let log = FileLog::open_with(fs, dir, rafty::FileLogOptions::default());
        Some(log.map(|log| Box::new(log) as Box<dyn Log>))
    }
}

fn main() {
    let number = |position: usize, default: u64| {
        std::env::args()
            .nth(position)
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let (seeds, first) = (number(1, 10), number(2, 1));
    let factory = Arc::new(Mutex::new(MyLogFactory));
    let plugins = Plugins {
        // Fresh disks for every run; the argument is the run's disk seed.
        log: Arc::new(move |_seed| match on_simulated_disk(factory.clone()) {
            Some(logs) => Arc::new(logs) as SharedLogFactory,
            None => unreachable!("MyLogFactory opens logs on a FileSystem"),
        }),
        reproduce: Some(Arc::new(|seed| {
            format!(
                "cargo run --release -p rafty-harness --example chaos_with_your_log -- 1 {seed}"
            )
        })),
        ..Plugins::reference()
    };
    let mut config = TestConfig::new(WorkloadKind::named("kv").expect("the kv workload"));
    // A durable log gets every fault that applies: power loss and power loss mid-write too.
    config.log = LogKind::File;
    config.nemesis = FaultKind::all(LogKind::File);
    let options = SuiteOptions {
        seeds: suite::seeds(first, seeds, None),
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
