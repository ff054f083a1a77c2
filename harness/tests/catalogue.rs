//! The bug catalogue: its entries are real (each core mutation changes what the core does)
//! and its runner reports a caught bug. The whole measurement (`rafty catalogue --run`,
//! minutes) runs in the nightly workflow, not here.

use std::sync::Arc;
use std::time::Duration;

use rafty_harness::catalogue::search::{self, SearchOptions};
use rafty_harness::catalogue::{Plant, entries};
use rafty_harness::run::plugins::Plugins;

#[test]
fn the_catalogue_lists_at_least_twenty_bugs_with_distinct_names() {
    let entries = entries();
    assert!(entries.len() >= 20, "{} entries", entries.len());
    let mut names: Vec<&str> = entries.iter().map(|entry| entry.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), entries.len(), "duplicate names");
}

/// An entry can never be a no-op: each core mutation changes the core's actions or state in
/// its scenario (rafty's `mutations` feature is on for the harness's tests).
#[test]
fn every_core_mutation_entry_changes_the_cores_behaviour() {
    for entry in entries() {
        if let Plant::Core(mutation) = entry.plant {
            let witness = rafty::core::mutation::witness(mutation);
            assert!(
                witness.changes_behaviour(),
                "{}: {mutation:?} changed nothing:\n{}",
                entry.name,
                witness.reference
            );
        }
    }
}

/// The runner stops at the first invalid run and names the seed and the check: a core that
/// grants two votes in a term is caught by the harness's own observers (the protocol check
/// one-vote-per-term on its answers, or election safety on who became leader), with
/// the core's assertions off (seed 32 is its first invalid run in the first measurement, see
/// CATALOGUE.md; the search starts just before it to stay short).
#[test]
fn the_runner_reports_a_caught_bug() {
    let entry = entries()
        .into_iter()
        .find(|entry| entry.name == "vote-twice-in-term")
        .expect("catalogued");
    let Plant::Core(mutation) = entry.plant else {
        panic!("a core mutation")
    };
    // As `search::setup` plants it with the harness's `mutations` feature; here rafty's own
    // feature (on for the harness's tests) is reached directly.
    let (config, plugins) = search::reference_setup(entry.log).expect("reference parts");
    let inner = plugins.node_hook.clone();
    let plugins = Plugins {
        node_hook: Some(Arc::new(move |id, options| {
            if let Some(inner) = &inner {
                inner(id, options);
            }
            assert!(!options.check_invariants, "core assertions must be off");
            options.mutations = vec![mutation];
        })),
        ..plugins
    };
    let options = SearchOptions {
        first_seed: 30,
        seeds: 10,
        jobs: 1,
        budget: Duration::from_secs(120),
        from_outside: false,
    };
    let outcome = search::search(entry.name, &config, &plugins, &options);
    let caught = outcome
        .caught
        .clone()
        .unwrap_or_else(|| panic!("{} not caught: {outcome:?}", entry.name));
    assert_eq!(
        outcome.runs, caught.seeds_to_catch,
        "stopped at the first invalid run"
    );
    assert!(
        caught
            .checks
            .iter()
            .any(|check| check == "invariant election-safety"
                || check == "invariant one-vote-per-term"),
        "{caught:?}"
    );
    eprintln!(
        "{} caught at seed {}: {:?}",
        entry.name, caught.seed, caught.checks
    );
}
