//! Randomized safety test: 3- and 5-node clusters of cores driven through a deterministic
//! simulation with message drops, delays, reorderings, partitions and crash-restarts that keep
//! only what was persisted. Every event is followed by checks of Election Safety (§5.2), Log
//! Matching (§5.3), Leader Completeness (§5.4) and State Machine Safety (§5.4.3).
//!
//! `RAFTY_SIM_SEEDS=<n>` runs n seeds per cluster size (default: 30 in release, 3 in debug);
//! `RAFTY_SIM_SEED=<seed>` runs just that seed, to reproduce a failure.

mod simulation;

use simulation::{Outcome, Scenario, Simulation};

fn seeds() -> Vec<u64> {
    if let Ok(seed) = std::env::var("RAFTY_SIM_SEED") {
        return vec![seed.parse().expect("RAFTY_SIM_SEED is a u64")];
    }
    let default = if cfg!(debug_assertions) { 3 } else { 30 };
    let count = std::env::var("RAFTY_SIM_SEEDS")
        .map(|count| count.parse().expect("RAFTY_SIM_SEEDS is a number"))
        .unwrap_or(default);
    (0..count).collect()
}

fn run(nodes: u64, seed: u64) -> Outcome {
    match Simulation::new(Scenario::new(nodes, seed)).run() {
        Ok(outcome) => outcome,
        Err(violation) => panic!(
            "{nodes} nodes, seed {seed}: {violation}\nreproduce: RAFTY_SIM_SEED={seed} cargo test \
             -p rafty --release --test randomized_cluster"
        ),
    }
}

fn run_all(nodes: u64) {
    let mut total = Outcome::default();
    for seed in seeds() {
        let outcome = run(nodes, seed);
        assert!(
            outcome.committed_in_quiet > 0,
            "{nodes} nodes, seed {seed}: nothing committed after the faults stopped: {outcome:?}"
        );
        total.events += outcome.events;
        total.committed += outcome.committed;
        total.committed_in_quiet += outcome.committed_in_quiet;
        total.leaders_elected += outcome.leaders_elected;
        total.crashes += outcome.crashes;
    }
    eprintln!("{nodes} nodes: {total:?}");
    assert!(total.crashes > 0, "the simulation never crashed a node");
    assert!(
        total.leaders_elected > seeds().len(),
        "no leader changes happened"
    );
}

#[test]
fn three_node_clusters_stay_safe_under_faults() {
    run_all(3);
}

#[test]
fn five_node_clusters_stay_safe_under_faults() {
    run_all(5);
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let first = format!("{:?}", run(3, 7));
    let second = format!("{:?}", run(3, 7));
    assert_eq!(first, second);
}

/// The checks have teeth: with a rule deliberately broken, some seed finds a violation (a
/// failed check, or a core invariant assertion).
#[cfg(feature = "mutations")]
fn finds_a_violation_with(mutation: rafty::core::Mutation, seeds: u64) -> Option<(u64, String)> {
    for seed in 0..seeds {
        let mut scenario = Scenario::new(3, seed);
        scenario.mutations = vec![mutation];
        let outcome = std::panic::catch_unwind(|| Simulation::new(scenario).run());
        match outcome {
            Ok(Ok(_)) => continue,
            Ok(Err(violation)) => return Some((seed, violation)),
            Err(panic) => {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                return Some((seed, format!("panic: {text}")));
            }
        }
    }
    None
}

#[cfg(feature = "mutations")]
#[test]
fn voting_without_the_log_check_is_caught() {
    let found = finds_a_violation_with(rafty::core::Mutation::VoteWithoutLogCheck, 200);
    eprintln!("{found:?}");
    assert!(found.is_some(), "no seed caught VoteWithoutLogCheck");
}

#[cfg(feature = "mutations")]
#[test]
fn committing_previous_terms_by_counting_is_caught() {
    let found = finds_a_violation_with(rafty::core::Mutation::CommitPreviousTermByCount, 200);
    eprintln!("{found:?}");
    assert!(found.is_some(), "no seed caught CommitPreviousTermByCount");
}
