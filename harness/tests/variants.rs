//! The chaos suite catches deliberately broken variants, each within the first 200 seeds; each
//! test prints the seed that caught it and the command that reproduces the run (`cargo test
//! --release -p rafty-harness --test variants -- --nocapture`). The core mutations are
//! switched on through rafty's `mutations` feature, enabled for these tests only:
//!
//! 1. a `Log` that acknowledges writes and forgets them on restart;
//! 2. a core that commits an entry of an earlier term by counting replicas (Figure 8);
//! 3. a core that grants votes without the log up-to-date check (§5.4.1);
//! 4. a leader that serves reads from its state machine without confirming leadership;
//! 5. a `FileLog` that acknowledges before fsync (its syncs do nothing), under power loss.
//!
//! Each variant's test configuration (faults, settings) is in `setup`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use rafty::core::Mutation;
use rafty_harness::nemesis::FaultKind;
use rafty_harness::run::config::{LogKind, TestConfig, Variant};
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::results::Validity;
use rafty_harness::run::runner;
use rafty_workloads::WorkloadKind;

/// The test and the parts for `variant`.
fn setup(variant: Variant) -> (TestConfig, Plugins) {
    let mut config = common::short_config(WorkloadKind::named("kv").unwrap(), 10);
    config.variant = variant;
    let mut plugins = Plugins::for_variant(Variant::Reference).expect("reference parts");
    match variant {
        Variant::Reference => {}
        Variant::ForgetfulLog => {
            plugins = Plugins::for_variant(variant).expect("harness-side variant");
        }
        Variant::StaleLeaderReads => {
            // A leader answering from its own state machine is stale when it has not yet
            // applied what earlier leaders committed (just elected, or restarted with an empty
            // state machine) or has been deposed without knowing it: kills and partitions,
            // read-heavy.
            config.nemesis = vec![
                FaultKind::named("kill").unwrap(),
                FaultKind::named("partition").unwrap(),
            ];
            config.nemesis_interval = Duration::from_secs(2);
            config.workload.mix.read = 4;
            plugins = Plugins::for_variant(variant).expect("harness-side variant");
        }
        Variant::CommitPreviousTermByCount => {
            config.raft = figure8_settings(config.raft);
            config.nemesis = vec![FaultKind::named("figure8").unwrap()];
            config.nemesis_interval = Duration::from_millis(500);
            plugins.node_hook = Some(Arc::new(|_, options| {
                options.mutations = vec![Mutation::CommitPreviousTermByCount];
            }));
        }
        Variant::AcknowledgeBeforeFsync => {
            // A FileLog that skips its fsyncs loses what it acknowledged only when the power
            // goes (a killed process leaves its writes in the page cache).
            config.log = LogKind::File;
            config.nemesis = vec![FaultKind::named("power").unwrap()];
            plugins = Plugins::for_config(&config).expect("harness-side variant");
        }
        Variant::VoteWithoutLogCheck => {
            plugins.node_hook = Some(Arc::new(|_, options| {
                options.mutations = vec![Mutation::VoteWithoutLogCheck];
            }));
        }
    }
    (config, plugins)
}

/// One entry per AppendEntries and one in flight, so that a new leader replicates an earlier
/// term's entries one round trip before its own no-op: the window Figure 8 needs.
fn figure8_settings(raft: rafty::Config) -> rafty::Config {
    rafty::Config {
        max_append_entries: 1,
        max_inflight_appends: 1,
        ..raft
    }
}

/// Run `variant` on seeds 1..=200 and return the first seed whose run is invalid; fails the
/// test (naming the variant and the reproduction command) if none is.
fn caught_within_200_seeds(variant: Variant) -> u64 {
    let (config, plugins) = setup(variant);
    let found = common::first_invalid(&config, &plugins, 1..=200);
    let (seed, checks) =
        found.unwrap_or_else(|| panic!("{} was not caught in seeds 1..=200", variant.name()));
    let reproduce = rafty_harness::run::judge::reproduce_command(&config, seed);
    eprintln!(
        "{} caught at seed {seed} ({reproduce}): {checks:.300}",
        variant.name()
    );
    seed
}

#[test]
fn a_log_that_forgets_acknowledged_writes_on_restart_is_caught() {
    caught_within_200_seeds(Variant::ForgetfulLog);
}

/// Caught for safety, not only liveness: a power loss takes acknowledged writes away (lost
/// writes, stale reads, a second leader in a term whose vote was forgotten).
#[test]
fn a_file_log_that_acknowledges_before_fsync_is_caught_by_power_loss() {
    let variant = Variant::AcknowledgeBeforeFsync;
    let (config, plugins) = setup(variant);
    let caught = (1..=200).find_map(|seed| {
        let output = runner::run(&config, seed, &plugins);
        (output.result.valid == Validity::Invalid && output.result.failure == "safety")
            .then_some((seed, output.result.reproduce))
    });
    let (seed, reproduce) =
        caught.unwrap_or_else(|| panic!("{} was not caught in seeds 1..=200", variant.name()));
    eprintln!(
        "{} caught (safety) at seed {seed} ({reproduce})",
        variant.name()
    );
}

/// Caught with power cuts inside disk operations too (`power-mid-write`): the node whose
/// disk freezes fail-stops, but its earlier, acknowledged, never-synced writes go with the
/// power.
#[test]
fn a_file_log_that_acknowledges_before_fsync_is_caught_by_power_cuts_inside_writes() {
    let variant = Variant::AcknowledgeBeforeFsync;
    let (mut config, _) = setup(variant);
    config.nemesis = vec![FaultKind::named("power-mid-write").unwrap()];
    let plugins = Plugins::for_config(&config).expect("harness-side variant");
    let caught = (1..=200).find_map(|seed| {
        let output = runner::run(&config, seed, &plugins);
        (output.result.valid == Validity::Invalid && output.result.failure == "safety")
            .then_some((seed, output.result.reproduce))
    });
    let (seed, reproduce) = caught.unwrap_or_else(|| {
        panic!(
            "{} was not caught by power-mid-write in seeds 1..=200",
            variant.name()
        )
    });
    eprintln!(
        "{} caught (safety) by power-mid-write at seed {seed} ({reproduce})",
        variant.name()
    );
}

/// The same log under kills alone is not caught: a killed process leaves its unsynced writes
/// in the OS page cache, so kill and power loss are different faults.
#[test]
fn a_file_log_that_acknowledges_before_fsync_survives_kills() {
    let (mut config, plugins) = setup(Variant::AcknowledgeBeforeFsync);
    config.nemesis = vec![FaultKind::named("kill").unwrap()];
    valid_on_seeds_1_to_3(&config, &plugins, "start-kill");
}

/// Seeds 1..=3 of `config` are valid and each took the nemesis step `event` at least twice.
fn valid_on_seeds_1_to_3(config: &TestConfig, plugins: &Plugins, event: &str) {
    for seed in 1..=3 {
        let output = runner::run(config, seed, plugins);
        assert_eq!(
            output.result.valid,
            Validity::Valid,
            "seed {seed}: {}",
            output.result.reproduce
        );
        let count = output
            .result
            .nemesis
            .iter()
            .filter(|e| e.f == event)
            .count();
        assert!(count >= 2, "seed {seed}: {event} happened {count} times");
    }
}

#[test]
fn committing_an_earlier_terms_entry_by_counting_replicas_is_caught() {
    caught_within_200_seeds(Variant::CommitPreviousTermByCount);
}

#[test]
fn voting_without_the_log_check_is_caught() {
    caught_within_200_seeds(Variant::VoteWithoutLogCheck);
}

#[test]
fn reads_served_by_a_leader_without_confirming_leadership_are_caught() {
    caught_within_200_seeds(Variant::StaleLeaderReads);
}

#[test]
fn the_reference_survives_the_figure_8_sequence() {
    let (mut config, _) = setup(Variant::CommitPreviousTermByCount);
    config.variant = Variant::Reference;
    valid_on_seeds_1_to_3(&config, &Plugins::reference(), "stop-figure8");
}
