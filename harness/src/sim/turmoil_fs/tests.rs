//! TurmoilFs and FileLogFactory under turmoil, driven by the nemesis's actions: synced writes
//! survive a power loss, unsynced ones do not, and a killed and restarted process keeps them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::{Entry, FileLogOptions, HardState, Payload};

use super::*;
use crate::nemesis::{Action, Network};
use crate::sim::cluster::{PauseSwitches, ProcessGate};
use crate::sim::control::{SimNetwork, node_name};
use crate::sim::observe::Observations;

fn entries(first: u64, count: u64) -> Vec<Entry> {
    (first..first + count)
        .map(|index| Entry {
            term: 2,
            index,
            payload: Payload::Command(vec![index as u8; 700]),
        })
        .collect()
}

const VOTE: HardState = HardState {
    current_term: 2,
    voted_for: Some(1),
};

/// What one boot of the host found on its disk: the entries and hard state of the synced
/// log, and how many entries the log without fsync still had.
#[derive(Clone, Debug, PartialEq)]
struct Boot {
    synced: Vec<Entry>,
    hard_state: HardState,
    unsynced_last_index: u64,
}

/// A host that opens both logs, reports what it found, and on its first boot appends six
/// entries (two batches) to each and saves a hard state (every write returned `Ok`); then
/// the nemesis powers the host off and on (`power_loss`) or kills and restarts its process.
/// Returns what each boot found.
fn boot_twice(power_loss: bool) -> Vec<Boot> {
    let mut builder = turmoil::Builder::new();
    builder.fs().block_size(512); // torn writes at 512-byte blocks on crash
    let mut sim = builder.build();
    let boots: Arc<Mutex<Vec<Boot>>> = Arc::default();
    let acknowledged = Arc::new(Mutex::new(false));
    let options = FileLogOptions {
        segment_size_bytes: 2048,
    };
    let factories = Arc::new((
        FileLogFactory::new(options.clone()),
        FileLogFactory::acknowledging_before_fsync(options).in_dir("/rafty/unsynced"),
    ));
    let (report, done) = (boots.clone(), acknowledged.clone());
    let gate = ProcessGate::new();
    let held = gate.clone();
    let shared = factories.clone();
    sim.host(node_name(1), move || {
        let (report, done, factories) = (report.clone(), done.clone(), shared.clone());
        let held = held.clone();
        async move {
            held.wait(1).await;
            let mut synced = factories.0.open(1)?;
            let mut unsynced = factories.1.open(1)?;
            let first_boot = synced.last_index() == 0;
            report.lock().unwrap().push(Boot {
                synced: synced.entries(1, synced.last_index() + 1)?,
                hard_state: synced.hard_state(),
                unsynced_last_index: unsynced.last_index(),
            });
            if first_boot {
                for log in [&mut synced, &mut unsynced] {
                    log.append(&entries(1, 3))?;
                    log.append(&entries(4, 3))?;
                    log.save_hard_state(VOTE)?;
                }
                *done.lock().unwrap() = true;
            }
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    let step_until = |sim: &mut turmoil::Sim<'_>, what: &str, ready: &dyn Fn() -> bool| {
        for _ in 0..100 {
            if ready() {
                return;
            }
            sim.step().expect("the simulation runs");
        }
        panic!("{what} did not happen within 100 steps");
    };
    step_until(&mut sim, "the first writes", &|| {
        *acknowledged.lock().unwrap()
    });
    let observations = Observations::new();
    let mut network = SimNetwork {
        sim: &mut sim,
        nodes: &[1],
        clients: &[],
        latency: (Duration::from_millis(1), Duration::from_millis(1)),
        observations: &observations,
        log_factory: &factories.0,
        gate: &gate,
        pauses: &PauseSwitches::new(&[1]),
        replays: &crate::sim::replay::ReplaySwitches::new(&[1]),
        admin: &Default::default(),
        clocks: &Default::default(),
    };
    let (stop, start) = if power_loss {
        (Action::PowerOff(1), Action::PowerOn(1))
    } else {
        (Action::Kill(1), Action::Restart(1))
    };
    network.apply(&stop);
    network.apply(&start);
    step_until(&mut sim, "the reboot", &|| boots.lock().unwrap().len() == 2);
    let boots = boots.lock().unwrap().clone();
    assert_eq!(boots[0].synced, vec![]);
    boots
}

#[test]
fn synced_writes_survive_power_loss_and_unsynced_ones_do_not() {
    let boots = boot_twice(true);
    assert_eq!(
        boots[1],
        Boot {
            synced: entries(1, 6),
            hard_state: VOTE,
            unsynced_last_index: 0,
        },
        "after power loss"
    );
}

#[test]
fn a_killed_process_keeps_unsynced_writes() {
    let boots = boot_twice(false);
    assert_eq!(boots[1].synced, entries(1, 6));
    assert_eq!(
        boots[1].unsynced_last_index, 6,
        "the page cache survives a kill"
    );
}

/// An injected disk fault fails the write that meets it (the node would fail-stop), and the
/// log reopens after the fault is switched off with everything acknowledged before it.
#[test]
fn disk_faults_fail_the_write_and_spare_acknowledged_data() {
    let mut sim = turmoil::Builder::new().build();
    let factory = Arc::new(FileLogFactory::new(FileLogOptions::default()));
    let result: Arc<Mutex<Option<(String, u64)>>> = Arc::default();
    let (shared, out) = (factory.clone(), result.clone());
    sim.client("node", async move {
        let mut log = shared.open(1)?;
        log.append(&entries(1, 2))?;
        shared.faults(1).fail_next(1);
        let error = log
            .append(&entries(3, 1))
            .expect_err("the fault fails the append");
        drop(log);
        let log = shared.open(1)?;
        *out.lock().unwrap() = Some((error.to_string(), log.last_index()));
        Ok(())
    });
    sim.run().expect("the simulation runs");
    let (error, last_index) = result.lock().unwrap().clone().expect("the client ran");
    assert!(error.contains("injected disk fault"), "{error}");
    assert_eq!(last_index, 2);
    assert_eq!(factory.faults(1).injected_count(), 1);
}
