//! The catalogue's caught bugs stay caught: each bug recorded in `harness/catalogue-seeds.tsv`
//! (refreshed by `rafty catalogue --run --record harness/catalogue-seeds.tsv`) is planted and
//! run at its recorded first failing seed only, the default `rafty test` with the core's own
//! assertions off, as `rafty catalogue --run` does. A harness change that loses a catch, or
//! changes which check makes it, fails here. The full search over many seeds is the nightly
//! workflow's (`.github/workflows/nightly-chaos.yml`).
#![cfg(feature = "mutations")]

use std::time::Duration;

use rafty_harness::catalogue::entries;
use rafty_harness::catalogue::recorded::{RECORDED, parse};
use rafty_harness::catalogue::search::{self, SearchOptions};

#[test]
fn every_recorded_catch_is_still_caught_at_its_seed() {
    let recorded = parse(RECORDED).expect("the committed table reads");
    assert!(
        recorded.len() >= 12,
        "only {} recorded catches",
        recorded.len()
    );
    let mut lost = Vec::new();
    for catch in &recorded {
        let entry = entries()
            .into_iter()
            .find(|entry| entry.name == catch.name)
            .unwrap_or_else(|| panic!("{} is not catalogued", catch.name));
        let (config, plugins) = search::setup(&entry).expect("the bug plants");
        let options = SearchOptions {
            first_seed: catch.seed,
            seeds: 1,
            jobs: 1,
            // One run: the budget only bounds when a new run may start.
            budget: Duration::from_secs(24 * 60 * 60),
            from_outside: false,
        };
        let outcome = search::search(entry.name, &config, &plugins, &options);
        match &outcome.caught {
            None => lost.push(format!(
                "{} is no longer caught at seed {}",
                catch.name, catch.seed
            )),
            Some(caught) if !caught.checks.contains(&catch.checks[0]) => lost.push(format!(
                "{} at seed {}: {:?} no longer fires (now {:?})",
                catch.name, catch.seed, catch.checks[0], caught.checks
            )),
            Some(_) => {}
        }
    }
    assert!(lost.is_empty(), "{}", lost.join("\n"));
}
