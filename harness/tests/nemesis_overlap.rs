//! `--nemesis-overlap`: several faults in effect at once, each on its own schedule from the
//! seed, never fighting over a node or the links (see `rafty_harness::nemesis::claims`).

mod common;

use rafty_harness::run::config::TestConfig;
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::runner::RunOutput;
use rafty_workloads::WorkloadKind;

fn overlapping(overlap: usize) -> TestConfig {
    let mut config = common::short_config(WorkloadKind::named("kv").unwrap(), 8);
    config.nemesis_overlap = overlap;
    config
}

/// The most nemesis faults in effect at once in the run's history (`start-` opens one,
/// `stop-` ends one), read back from `history.jsonl`.
fn most_faults_at_once(output: &RunOutput) -> usize {
    let bytes = common::history_bytes(output);
    let text = String::from_utf8(bytes).expect("utf-8");
    let (mut now, mut most) = (0usize, 0usize);
    for line in text.lines() {
        let op: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        if op["process"] != "nemesis" {
            continue;
        }
        let f = op["f"].as_str().expect("f is text");
        if f.starts_with("start-") {
            now += 1;
            most = most.max(now);
        } else if f.starts_with("stop-") {
            now -= 1;
        }
    }
    assert_eq!(now, 0, "every fault stopped by the end");
    most
}

#[test]
fn overlap_two_has_two_faults_in_effect_at_once_and_stays_valid() {
    let config = overlapping(2);
    let mut overlapped = Vec::new();
    for seed in 1..=8 {
        let output = common::valid_run(&config, seed, &Plugins::reference());
        let most = most_faults_at_once(&output);
        assert!(
            most <= 2,
            "seed {seed}: {most} faults at once with overlap 2"
        );
        if most == 2 {
            overlapped.push(seed);
        }
    }
    assert!(
        overlapped.len() >= 4,
        "only seeds {overlapped:?} of 1..=8 had two faults at once"
    );
}

/// The measure above can tell: one fault at a time never counts two.
#[test]
fn overlap_one_never_has_two_faults_at_once() {
    let config = overlapping(1);
    for seed in 1..=4 {
        assert_eq!(
            most_faults_at_once(&common::run(&config, seed)),
            1,
            "seed {seed}"
        );
    }
}

#[test]
fn the_same_seed_twice_with_overlap_gives_a_byte_identical_history() {
    let config = overlapping(2);
    let first = common::run(&config, 7);
    let second = common::run(&config, 7);
    let bytes = common::history_bytes(&first);
    assert!(bytes.len() > 1000, "the run recorded a real history");
    assert!(
        bytes == common::history_bytes(&second),
        "seed 7 gave two histories"
    );
    assert_eq!(first.nemesis_log, second.nemesis_log);
    assert_eq!(first.node_logs, second.node_logs);
}

/// A node killed or powered off while a partition or clog is in effect: its stop resets its
/// links, and the nemesis cuts or holds them again at once (the `re-assert` lines of its log).
/// Some seed of a few must show it, and every such run must be valid.
#[test]
fn a_host_stopped_under_a_partition_or_clog_has_its_links_cut_again() {
    let config = overlapping(3);
    let mut reasserted = Vec::new();
    for seed in 1..=10 {
        let output = common::valid_run(&config, seed, &Plugins::reference());
        if output
            .nemesis_log
            .iter()
            .any(|line| line.contains("re-assert"))
        {
            reasserted.push(seed);
        }
    }
    assert!(
        !reasserted.is_empty(),
        "no host stopped under a link fault in 10 seeds"
    );
}
