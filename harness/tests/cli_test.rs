//! `rafty test`'s argument errors, run as a user runs it: every bad value is refused before any
//! run starts, exit code 2, with an error that names the flag the user typed (never a
//! configuration field the user cannot see), and a seed range never wraps.

use std::process::{Command, Output};

/// `rafty test --no-store ARGS`: nothing is written even if a run did start.
fn rafty_test(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rafty"))
        .arg("test")
        .arg("--no-store")
        .args(args)
        .output()
        .expect("rafty runs")
}

/// Assert `args` are refused with exit code 2 before any run, the error naming each of
/// `names`; returns stderr.
fn refused(args: &[&str], names: &[&str]) -> String {
    let output = rafty_test(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}{stdout}");
    assert!(stdout.is_empty(), "{args:?} started runs: {stdout}");
    for name in names {
        assert!(stderr.contains(name), "{args:?}: no `{name}` in: {stderr}");
    }
    stderr
}

/// `--seed 18446744073709551615 --seeds 3` would run seeds u64::MAX, 0 and 1: the range wraps.
#[test]
fn a_seed_range_past_u64_max_is_refused_naming_seed_and_seeds() {
    let stderr = refused(
        &["--seed", "18446744073709551615", "--seeds", "3"],
        &["--seed", "--seeds", "overflows u64"],
    );
    assert!(stderr.contains("18446744073709551615"), "{stderr}");
    refused(
        &["--seed", "18446744073709551614", "--seeds", "3"],
        &["--seed", "--seeds", "overflows u64"],
    );
}

/// A zero `--time-limit` is named as the flag, not as `workload.time_limit` or `time-limit`.
#[test]
fn a_zero_time_limit_names_the_time_limit_flag() {
    for zero in ["0s", "0ms", "0"] {
        let stderr = refused(&["--time-limit", zero], &["--time-limit"]);
        assert!(!stderr.contains("workload"), "{stderr}");
    }
}

/// A time limit no simulation could reach (or whose end would overflow the clock) is
/// refused, naming the flag, instead of a run that never ends.
#[test]
fn an_absurd_time_limit_is_refused_naming_the_flag() {
    refused(
        &["--time-limit", "18446744073709549568s"],
        &["--time-limit"],
    );
    refused(&["--time-limit", "25h"], &["--time-limit", "24h"]);
}

/// Every other flag whose value the configuration check refuses is named as the flag.
#[test]
fn other_refused_values_name_their_flag() {
    refused(&["--nemesis-interval", "1ms"], &["--nemesis-interval"]);
    refused(&["--mix", "0,0,0"], &["--mix"]);
    refused(&["--workload", "append", "--mix", "0,0,4"], &["--mix"]);
    refused(&["--workload", "register", "--keys", "3"], &["--keys"]);
    refused(
        &["--variant", "acknowledge-before-fsync"],
        &["--variant", "--log file"],
    );
    refused(
        &["--variant", "forgetful-log", "--log", "file"],
        &["--variant", "--log memory"],
    );
}

/// Values clap refuses already name the flag; a `--seeds` count is bounded, so a typo of a
/// huge count is refused rather than listing seeds until memory runs out.
#[test]
fn flags_clap_checks_name_themselves() {
    refused(&["--seeds", "0"], &["--seeds"]);
    refused(&["--seeds", "18446744073709551615"], &["--seeds"]);
    refused(&["--concurrency", "0"], &["--concurrency"]);
    refused(&["--time-limit", "soon"], &["--time-limit"]);
}

/// A `--store` that cannot be written is refused before any run (exit code 2, naming the flag
/// and the path), never a suite that reports valid while its results went nowhere. The store
/// sits below a regular file, which even root cannot make a folder of.
#[test]
fn an_unwritable_store_is_refused_before_any_run() {
    let scratch = std::env::temp_dir().join(format!("rafty-cli-store-{}", std::process::id()));
    std::fs::write(&scratch, b"a file, not a folder\n").expect("write the scratch file");
    let store = scratch.join("store");
    let output = Command::new(env!("CARGO_BIN_EXE_rafty"))
        .args(["test", "--seeds", "1", "--time-limit", "1s", "--store"])
        .arg(&store)
        .output()
        .expect("rafty runs");
    std::fs::remove_file(&scratch).expect("remove the scratch file");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stderr}{stdout}");
    assert!(stdout.is_empty(), "runs started: {stdout}");
    assert!(stderr.contains("--store"), "{stderr}");
    assert!(stderr.contains(&*store.to_string_lossy()), "{stderr}");
}
