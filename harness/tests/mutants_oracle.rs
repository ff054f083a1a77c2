//! The chaos harness as the oracle of mutation testing (`cargo mutants`, CATALOGUE.md): the
//! default `rafty test` over seeds 1 to 20, two at a time, with the core's own assertions off
//! (as the catalogue runs), must find every run valid. A mutant of the core that makes one
//! run invalid, or the simulation fail, is killed. Ignored in normal test runs (the chaos
//! tests cover the reference); run it with
//!
//! ```text
//! cargo mutants --in-place --profile release --test-package rafty-harness \
//!     --file reference/src/core/quorum.rs -- --test mutants_oracle -- --ignored
//! ```

use std::time::Duration;

use rafty_harness::catalogue::search::{self, SearchOptions};
use rafty_harness::run::config::LogKind;

/// Seeds 1 to 20 of the default test, core assertions off: none is invalid or unknown.
#[test]
#[ignore = "the oracle of `cargo mutants`; the chaos tests cover the reference"]
fn twenty_seeds_of_the_default_test_are_valid() {
    let (config, plugins) = search::reference_setup(LogKind::Memory).expect("reference parts");
    let options = SearchOptions {
        first_seed: 1,
        seeds: 20,
        jobs: 2,
        budget: Duration::from_secs(24 * 60 * 60),
        from_outside: false,
    };
    let outcome = search::search("oracle", &config, &plugins, &options);
    assert!(
        outcome.caught.is_none() && outcome.unknown == 0,
        "the harness found this core broken: {outcome:?}"
    );
    assert_eq!(outcome.runs, 20, "every seed ran");
}
