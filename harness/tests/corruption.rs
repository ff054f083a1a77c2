//! The `corrupt` nemesis end to end (`rafty test --log file --nemesis corrupt`): a bit of a
//! durable record rots while a node is powered off; its `FileLog` refuses to open, naming the
//! damaged segment file and the record's offset; the node stays down serving nothing until the
//! record is restored; then it rejoins, and the run (linearizability, no acknowledged write
//! lost, Raft's invariants, the final reads after the heal) is valid.

mod common;

use rafty_harness::nemesis::FaultKind;
use rafty_harness::run::config::{LogKind, TestConfig};
use rafty_harness::run::plugins::Plugins;
use rafty_harness::run::runner::{self, RunOutput};
use rafty_workloads::WorkloadKind;

fn corrupt_config() -> TestConfig {
    let mut config = common::short_config(WorkloadKind::named("kv").unwrap(), 8);
    config.log = LogKind::File;
    config.nemesis = vec![FaultKind::named("corrupt").unwrap()];
    config
}

/// One bit rot as a node's log tells it: the damaged file and record offset, and the lines the
/// node logged from the rot until the restore (the restore's line excluded).
#[derive(Debug)]
struct Rot {
    node: u64,
    path: String,
    record_offset: u64,
    while_damaged: Vec<String>,
    after_restore: Vec<String>,
}

/// Every bit rot in `output`'s node logs.
fn rots(output: &RunOutput) -> Vec<Rot> {
    let mut rots = Vec::new();
    for (&node, lines) in &output.node_logs {
        for (at, line) in lines.iter().enumerate() {
            let Some((_, flip)) = line.split_once("bit rot while powered off: flipped ") else {
                continue;
            };
            let (_, rest) = flip.split_once(" of byte ").expect("bit B of byte X");
            let (_, rest) = rest.split_once(" of ").expect("X of PATH");
            let (path, rest) = rest
                .split_once(" (in the record")
                .expect("PATH (in the record");
            let (_, offset) = rest.split_once("at offset ").expect("at offset O");
            let record_offset = offset.trim_end_matches(')').parse().expect("an offset");
            let rest = &lines[at + 1..];
            let restored = rest
                .iter()
                .position(|line| line.contains("restored from a backup"))
                .unwrap_or_else(|| panic!("n{node}: the rot at {line} was never restored"));
            rots.push(Rot {
                node,
                path: path.to_owned(),
                record_offset,
                while_damaged: rest[..restored].to_vec(),
                after_restore: rest[restored + 1..].to_vec(),
            });
        }
    }
    rots
}

#[test]
fn a_rotten_record_is_detected_never_served_and_restored() {
    let config = corrupt_config();
    let plugins = Plugins::for_config(&config).expect("harness-side parts");
    let mut detected = 0;
    for seed in 1..=3 {
        let output = common::valid_run(&config, seed, &plugins);
        let starts = output.result.nemesis.iter();
        let faults = starts.filter(|event| event.f == "start-corrupt").count();
        assert!(faults >= 2, "seed {seed}: {faults} corrupt faults");
        for rot in rots(&output) {
            let (node, lines) = (rot.node, &rot.while_damaged);
            // The log refused to open, naming the file and the damaged record's offset.
            let refusal = format!(
                "cannot open log: log corrupted at {} at offset {}:",
                rot.path, rot.record_offset
            );
            assert!(
                lines.iter().any(|line| line.contains(&refusal)),
                "seed {seed} n{node}: no `{refusal}` in {lines:#?}"
            );
            // Nothing ran on the damaged log: no leadership, no commit, no undetected damage.
            let ran = ["BecameLeader", "Committed", "CorruptionUndetected"];
            assert!(
                !lines
                    .iter()
                    .any(|line| ran.iter().any(|word| line.contains(word))),
                "seed {seed} n{node} ran on a damaged log: {lines:#?}"
            );
            // Restored, it recovered its whole log and took part again.
            assert!(
                rot.after_restore
                    .iter()
                    .any(|line| line.contains("Committed")),
                "seed {seed} n{node} did not rejoin after the restore: {:#?}",
                rot.after_restore
            );
            detected += 1;
        }
    }
    assert!(
        detected >= 4,
        "only {detected} rots were detected in 3 seeds"
    );
}

/// The same seed rots the same bit of the same record, and gives the same history.
#[test]
fn bit_rot_is_reproducible() {
    let config = corrupt_config();
    let plugins = Plugins::for_config(&config).expect("harness-side parts");
    let first = runner::run(&config, 4, &plugins);
    let second = runner::run(&config, 4, &plugins);
    assert!(!rots(&first).is_empty(), "seed 4 rotted no record");
    assert_eq!(first.node_logs, second.node_logs);
    assert_eq!(first.nemesis_log, second.nemesis_log);
    assert!(common::history_bytes(&first) == common::history_bytes(&second));
}
