//! The bug catalogue: its entries are real (each core mutation changes what the core does)
//! and its runner reports a caught bug. The whole measurement (`rafty catalogue --run`,
//! minutes) runs in the nightly workflow, not here.

use std::time::Duration;

use rafty_harness::catalogue::search::{self, SearchOptions};
use rafty_harness::catalogue::{Plant, entries};

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

/// The runner stops at the first invalid run and names the seed and the check: a log that
/// forgets acknowledged writes on restart is lost to the durability check within a few seeds.
#[test]
fn the_runner_reports_a_caught_bug() {
    let entry = entries()
        .into_iter()
        .find(|entry| entry.name == CAUGHT_QUICKLY)
        .expect("catalogued");
    let (config, plugins) = search::setup(&entry).expect("a harness-side bug needs no feature");
    let options = SearchOptions {
        first_seed: 1,
        seeds: 20,
        jobs: 1,
        budget: Duration::from_secs(120),
    };
    let outcome = search::search(entry.name, &config, &plugins, &options);
    let caught = outcome
        .caught
        .unwrap_or_else(|| panic!("{} not caught: {outcome:?}", entry.name));
    assert_eq!(
        outcome.runs, caught.seeds_to_catch,
        "stopped at the first invalid run"
    );
    assert!(!caught.checks.is_empty(), "{caught:?}");
    eprintln!(
        "{} caught at seed {}: {:?}",
        entry.name, caught.seed, caught.checks
    );
}

/// A bug the default run catches within a few seeds (see CATALOGUE.md).
const CAUGHT_QUICKLY: &str = "log-forgets-on-restart";
