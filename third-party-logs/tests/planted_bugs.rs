//! The bugs users make, planted in the redb and fjall logs: each is caught by the one-call
//! entry point, by the suites named here and no others, with a message that names the cause.
//! (Chaos runs are off here, to keep the file fast; the suites are what is measured.)

use std::panic::{AssertUnwindSafe, catch_unwind};

use rafty_testing::LogFactory;
use rafty_testing::log::{Options, run_all_with};
use rafty_third_party_logs::fjall_log::FjallOptions;
use rafty_third_party_logs::redb_log::RedbOptions;
use rafty_third_party_logs::{Bugs, FjallFactory, RedbFactory};

const SUITES: [&str; 3] = ["log_suite", "crash_suite", "process_crash_suite"];

/// The failure message of the one call on `factory` (which must fail).
fn failure<F>(factory: F) -> String
where
    F: LogFactory + Send + 'static,
    F::Store: Send,
{
    let options = Options {
        chaos_seeds: 0,
        ..Options::default()
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| run_all_with(factory, options)));
    match outcome {
        Ok(verdict) => panic!("the planted bug was not caught: {verdict:?}"),
        Err(panic) => match panic.downcast::<String>() {
            Ok(message) => *message,
            Err(_) => panic!("the failure is not a message"),
        },
    }
}

/// The suites with a failed case in `message`.
fn catchers(message: &str) -> Vec<&'static str> {
    SUITES
        .into_iter()
        .filter(|suite| message.contains(&format!("FAIL {suite}/")))
        .collect()
}

fn assert_caught(message: &str, by: &[&str], cause: &str) {
    assert_eq!(catchers(message), by, "{message}");
    assert!(
        message.contains(cause),
        "the cause `{cause}` is not named:\n{message}"
    );
    assert!(
        message.contains("reproduce: RAFTY_SEED=1 cargo test"),
        "{message}"
    );
}

#[test]
fn redb_missing_fsync_is_caught_by_the_power_loss_suite_only() {
    let message = failure(RedbFactory(RedbOptions {
        skip_fsync: true,
        ..RedbOptions::default()
    }));
    assert_caught(&message, &["crash_suite"], "acknowledged");
}

#[test]
fn redb_durability_none_is_caught() {
    let message = failure(RedbFactory(RedbOptions {
        durability_none: true,
        ..RedbOptions::default()
    }));
    assert_caught(
        &message,
        &["crash_suite", "process_crash_suite"],
        "Durability::None",
    );
}

#[test]
fn redb_truncation_that_does_not_remove_is_caught() {
    let message = failure(RedbFactory(RedbOptions {
        bugs: Bugs {
            truncation_does_not_remove: true,
            ..Bugs::default()
        },
        ..RedbOptions::default()
    }));
    assert_caught(&message, &SUITES, "truncat");
}

#[test]
fn redb_hard_state_written_after_the_reply_is_caught() {
    let message = failure(RedbFactory(RedbOptions {
        bugs: Bugs {
            hard_state_written_late: true,
            ..Bugs::default()
        },
        ..RedbOptions::default()
    }));
    assert_caught(&message, &SUITES, "hard state");
}

#[test]
fn fjall_without_persist_is_caught_by_the_process_crash_suite() {
    let message = failure(FjallFactory(FjallOptions {
        durability_none: true,
        ..FjallOptions::default()
    }));
    assert_caught(
        &message,
        &["process_crash_suite"],
        "returned Ok before the entries left the process",
    );
}
