//! `peers_provider::run_all` on rafty's file provider (passes the suite and the chaos run) and
//! on it with a bug planted (a dropped peer, a stale list after a change): each caught by the
//! chaos run, with a message naming the cause.

use std::panic::{AssertUnwindSafe, catch_unwind};

use rafty::testing::peers_provider_suite::{BrokenFilePeers, FilePeers, PeersDefect};
use rafty_testing::peers_provider::{Options, run_all, run_all_with};

/// The chaos run's failure lines of the one call on a provider with `defect` (which must
/// fail).
fn chaos_failures(defect: PeersDefect) -> (String, Vec<String>) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        run_all_with(BrokenFilePeers(defect), Options::default())
    }));
    let message = match outcome {
        Ok(verdict) => panic!("the planted bug {defect:?} was not caught: {verdict:?}"),
        Err(panic) => *panic.downcast::<String>().expect("a message"),
    };
    let chaos = message
        .lines()
        .filter(|line| line.starts_with("FAIL chaos:"))
        .map(str::to_owned)
        .collect();
    (message, chaos)
}

#[test]
fn the_file_peers_provider_passes_the_suite_and_the_chaos_run() {
    let verdict = run_all(FilePeers);
    assert!(verdict.passed());
    assert_eq!(verdict.suites[0].cases.len(), 6, "{verdict:?}");
    assert_eq!(verdict.chaos.len(), 1, "{verdict:?}");
}

#[test]
fn a_provider_that_drops_a_peer_is_caught_by_the_chaos_run() {
    let (message, chaos) = chaos_failures(PeersDefect::DropsAPeer);
    assert_eq!(chaos.len(), 1, "{message}");
    assert!(chaos[0].contains("peers-provider-answers"), "{message}");
    assert!(chaos[0].contains("is missing"), "{message}");
}

#[test]
fn a_provider_stale_after_a_change_is_caught_by_the_chaos_run() {
    let (message, chaos) = chaos_failures(PeersDefect::StaleAfterAChange);
    assert_eq!(chaos.len(), 1, "{message}");
    assert!(chaos[0].contains("peers-provider-answers"), "{message}");
    assert!(chaos[0].contains("a stale list"), "{message}");
    assert!(
        message.contains("reproduce: RAFTY_SEED=1 cargo test"),
        "{message}"
    );
}
