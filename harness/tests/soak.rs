//! The soak's findings, each on the seed that showed it (CATALOGUE.md, "Soak"): option
//! combinations no other test runs, under `all,membership,clock,depose` and overlapping faults.

mod common;

use std::time::Duration;

use rafty::ReadConsistency;
use rafty_harness::nemesis::list::parse_kind_list;
use rafty_harness::run::config::{LogKind, TestConfig};
use rafty_harness::run::plugins::Plugins;
use rafty_harness::sim::pinned::ClientRouting;
use rafty_workloads::WorkloadKind;

/// `workload` under `nemesis` (resolved for `log`), `overlap` faults at once, reads `reads`.
fn soak_config(
    workload: &str,
    nemesis: &str,
    overlap: usize,
    log: LogKind,
    reads: ReadConsistency,
) -> TestConfig {
    let mut config = TestConfig::new(WorkloadKind::named(workload).unwrap());
    config.log = log;
    config.nemesis = parse_kind_list(nemesis).unwrap().resolve(log);
    config.nemesis_overlap = overlap;
    config.reads = reads;
    config
}

/// Pinned clients ask only the initial configuration's nodes: at seed 24 every client ended
/// up on a `membership` spare (n6, n7) that refused everything NotLeader with no leader, and
/// no operation succeeded from 6.5 s to the time limit ("no progress in a healthy window").
#[test]
fn pinned_clients_with_membership_spares_make_progress() {
    let mut config = soak_config(
        "kv",
        "all,depose,membership",
        1,
        LogKind::Memory,
        ReadConsistency::Lease,
    );
    config.clients = ClientRouting::Pinned;
    config.raft.follower_reads = true;
    common::valid_run(&config, 24, &Plugins::reference());
}

/// Stale reads are recorded `info` even when served, so they are not counted as left
/// unanswered: seed 2 named every node ("n1 left 10 reads indeterminate and answered none").
#[test]
fn stale_reads_served_are_not_a_liveness_failure() {
    let mut config = soak_config(
        "kv",
        "all,membership,clock,depose",
        2,
        LogKind::Memory,
        ReadConsistency::Stale,
    );
    config.nodes = 3;
    config.clients = ClientRouting::Pinned;
    config.workload.time_limit = Duration::from_secs(10);
    common::valid_run(&config, 2, &Plugins::reference());
}
