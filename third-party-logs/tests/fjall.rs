//! The fjall log under every suite that reaches it, through the one call: conformance,
//! process crash (`kill -9`) and a chaos run of a 3-node cluster. fjall does its own file I/O,
//! so the power-loss suite cannot reach it (the verdict says so).

use rafty_third_party_logs::FjallFactory;

#[test]
fn fjall_log_passes_every_suite_that_reaches_it() {
    let verdict = rafty_testing::log::run_all(FjallFactory::default());
    assert!(
        verdict
            .not_run
            .iter()
            .any(|line| line.starts_with("crash_suite")),
        "{verdict:?}"
    );
}
