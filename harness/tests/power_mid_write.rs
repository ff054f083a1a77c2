//! Power cuts inside disk operations (`rafty test --log file --nemesis power-mid-write`),
//! against the `power` nemesis's cuts between simulation steps.
//!
//! `FileLog` writes and fsyncs inside one `Log` call, within one simulation step, so a power
//! cut between steps finds nothing unsynced: it loses and tears nothing, and the log's
//! recovery of cut-off writes never runs. The `power-mid-write` nemesis freezes a node's disk
//! after a few operations drawn from the seed, so the node fail-stops inside its call, and
//! cuts the power then. These tests read what each cut found and what the next boot saw in the
//! nodes' logs (the notes of `rafty_harness::sim::turmoil_fs::ledger`), evidence the run
//! produced, so that they fail if the cuts stop landing inside operations.

mod common;

use std::collections::BTreeMap;

use rafty_harness::nemesis::FaultKind;
use rafty_harness::run::config::{LogKind, TestConfig};
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::runner::RunOutput;
use rafty_workloads::WorkloadKind;

fn config(kind: FaultKind) -> TestConfig {
    let mut config = common::short_config(WorkloadKind::named("kv").unwrap(), 8);
    config.log = LogKind::File;
    config.nemesis = vec![kind];
    config
}

/// Run `config` on `seed` with its harness-side parts, require a valid verdict, and return
/// the output.
fn valid_run(config: &TestConfig, seed: u64) -> RunOutput {
    let plugins = Plugins::for_config(config).expect("harness-side parts");
    common::valid_run(config, seed, &plugins)
}

/// Every node-log line of `output`, without its time and node.
fn lines(output: &RunOutput) -> Vec<String> {
    let all = output.node_logs.values().flatten();
    all.map(|line| {
        line.trim_start()
            .splitn(3, ' ')
            .nth(2)
            .unwrap_or("")
            .to_owned()
    })
    .collect()
}

/// What a power cut's note says it found unsynced: writes, length changes, directory changes.
fn pending(line: &str) -> Option<(u64, u64, u64)> {
    let found = line.strip_prefix("power cut ")?;
    let (_, found) = found.split_once(": ")?;
    let numbers: Vec<u64> = found
        .split(|c: char| !c.is_ascii_digit())
        .filter(|part| !part.is_empty())
        .filter_map(|part| part.parse().ok())
        .collect();
    // "W unsynced writes (B bytes), L unsynced length changes, D unsynced directory changes"
    Some((numbers[0], numbers[2], numbers[3]))
}

/// The interrupted operation a fail-stop's note names, as the log reported it: `append`,
/// `save hard state`, `truncate`, `create` (a segment roll or a truncation's seal), `remove`,
/// `open` (recovery, at boot), ...
fn interrupted(line: &str) -> Option<String> {
    if !line.contains("the disk froze") {
        return None;
    }
    if line.starts_with("cannot open log") || line.starts_with("cannot start") {
        return Some("recovery at boot".into());
    }
    let (_, what) = line.split_once("log I/O error: ")?;
    let words: Vec<&str> = what.split(' ').take(3).collect();
    Some(match words[..] {
        ["save", "hard", _] => "save hard state".into(),
        [first, ..] => first.to_owned(),
        [] => return None,
    })
}

/// Counts over runs of what the power cuts did.
#[derive(Debug, Default)]
struct Evidence {
    cuts_inside: usize,
    cuts_between: usize,
    cuts_finding_unsynced: usize,
    torn_writes: usize,
    lost_writes: usize,
    recovery_cuts: usize,
    interrupted: BTreeMap<String, usize>,
}

impl Evidence {
    fn add(&mut self, output: &RunOutput) {
        for line in lines(output) {
            if let Some((writes, lengths, entries)) = pending(&line) {
                if line.starts_with("power cut inside") {
                    self.cuts_inside += 1;
                } else {
                    self.cuts_between += 1;
                }
                if writes + lengths + entries > 0 {
                    self.cuts_finding_unsynced += 1;
                }
            }
            if line.starts_with("after the power cut") {
                self.torn_writes += usize::from(line.contains(": torn ("));
                self.lost_writes += usize::from(line.contains(": lost"));
            }
            if line.starts_with("recovery: cut ") {
                self.recovery_cuts += 1;
            }
            if let Some(operation) = interrupted(&line) {
                *self.interrupted.entry(operation).or_default() += 1;
            }
        }
    }
}

/// The cuts land inside operations: they find unsynced writes and directory changes, tear
/// writes, interrupt appends, hard-state saves and recoveries, and the next boot's recovery
/// cuts the torn or open batch off; every run stays valid (nothing acknowledged is lost).
#[test]
fn power_cuts_land_inside_disk_operations_and_recovery_cuts_what_they_tore() {
    let config = config(FaultKind::named("power-mid-write").unwrap());
    let mut evidence = Evidence::default();
    for seed in 1..=6 {
        evidence.add(&valid_run(&config, seed));
    }
    eprintln!("{evidence:#?}");
    assert!(evidence.cuts_inside >= 12, "{evidence:#?}");
    assert!(evidence.cuts_finding_unsynced >= 6, "{evidence:#?}");
    assert!(evidence.torn_writes >= 2, "{evidence:#?}");
    assert!(evidence.lost_writes >= 1, "{evidence:#?}");
    assert!(evidence.recovery_cuts >= 2, "{evidence:#?}");
    for operation in ["append", "recovery at boot"] {
        assert!(
            evidence.interrupted.get(operation).is_some_and(|&n| n >= 1),
            "no {operation} interrupted: {evidence:#?}"
        );
    }
}

/// Over more seeds the cuts also interrupt hard-state saves (a vote or term in flight).
#[test]
fn power_cuts_interrupt_hard_state_saves_too() {
    let config = config(FaultKind::named("power-mid-write").unwrap());
    let mut evidence = Evidence::default();
    for seed in 1..=12 {
        evidence.add(&valid_run(&config, seed));
    }
    let saves = evidence.interrupted.get("save hard state").copied();
    assert!(saves.unwrap_or(0) >= 1, "{evidence:#?}");
}

/// The `power` nemesis cuts between simulation steps: FileLog has synced everything by then,
/// so its cuts find nothing unsynced, tear nothing, and recovery cuts nothing (why
/// `power-mid-write` exists). Fails if that changes, so the two kinds' docs stay true.
#[test]
fn power_cuts_between_steps_find_nothing_unsynced_in_a_file_log() {
    let config = config(FaultKind::named("power").unwrap());
    let mut evidence = Evidence::default();
    for seed in 1..=3 {
        evidence.add(&valid_run(&config, seed));
    }
    assert!(evidence.cuts_between >= 6, "{evidence:#?}");
    assert_eq!(evidence.cuts_inside, 0, "{evidence:#?}");
    assert_eq!(evidence.cuts_finding_unsynced, 0, "{evidence:#?}");
    assert_eq!(
        evidence.torn_writes + evidence.recovery_cuts,
        0,
        "{evidence:#?}"
    );
}

/// The same seed freezes the same disk at the same operation and tears the same way.
#[test]
fn power_cuts_inside_operations_are_reproducible() {
    let config = config(FaultKind::named("power-mid-write").unwrap());
    let first = valid_run(&config, 2);
    let second = valid_run(&config, 2);
    let mut evidence = Evidence::default();
    evidence.add(&first);
    assert!(evidence.cuts_inside >= 1, "{evidence:#?}");
    assert_eq!(first.node_logs, second.node_logs);
    assert_eq!(first.nemesis_log, second.nemesis_log);
    assert!(common::history_bytes(&first) == common::history_bytes(&second));
}
