//! Shared helpers of the harness's integration tests.

#![allow(dead_code)]

use std::time::Duration;

use rafty_harness::run::config::TestConfig;
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::results::Validity;
use rafty_harness::run::runner::{self, RunOutput};
use rafty_workloads::WorkloadKind;

/// A short chaos test: 5 nodes, every nemesis, `seconds` of workload.
pub fn short_config(kind: WorkloadKind, seconds: u64) -> TestConfig {
    let mut config = TestConfig::new(kind);
    config.workload.time_limit = Duration::from_secs(seconds);
    config.nemesis_interval = Duration::from_secs(1);
    config
}

/// Run `config` with `seed` on the reference parts.
pub fn run(config: &TestConfig, seed: u64) -> RunOutput {
    runner::run(config, seed, &Plugins::reference())
}

/// The history as `history.jsonl` bytes.
pub fn history_bytes(output: &RunOutput) -> Vec<u8> {
    output
        .history_spool
        .as_ref()
        .map_or_else(Vec::new, |spool| {
            std::fs::read(spool.path()).expect("the spooled history reads")
        })
}

/// The first seed in `seeds` whose run with `plugins` is invalid, and its reason.
pub fn first_invalid(
    config: &TestConfig,
    plugins: &Plugins,
    seeds: impl IntoIterator<Item = u64>,
) -> Option<(u64, String)> {
    for seed in seeds {
        let output = runner::run(config, seed, plugins);
        if output.result.valid == Validity::Invalid {
            let json = serde_json::to_string(&output.result.checks).unwrap_or_default();
            return Some((seed, json));
        }
    }
    None
}

/// Run `config` with `seed` on `plugins`, require a valid verdict (naming the reproduction
/// command and the checks' results otherwise), and return the output.
pub fn valid_run(config: &TestConfig, seed: u64, plugins: &Plugins) -> RunOutput {
    let output = runner::run(config, seed, plugins);
    assert_eq!(
        output.result.valid,
        Validity::Valid,
        "seed {seed}: {}: {}",
        output.result.reproduce,
        serde_json::to_string(&output.result.checks).unwrap_or_default()
    );
    output
}
