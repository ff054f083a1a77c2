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

/// `--store FILE` names the problem: FILE is not a directory (not "File exists").
#[test]
fn a_store_that_is_a_regular_file_is_not_a_directory() {
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let file = scratch.path().join("store");
    std::fs::write(&file, b"a file, not a folder\n").expect("write the file");
    let output = Command::new(env!("CARGO_BIN_EXE_rafty"))
        .args(["test", "--seed", "1", "--time-limit", "1s", "--store"])
        .arg(&file)
        .output()
        .expect("rafty runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let expected = format!("--store {}: is not a directory", file.display());
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("File exists"), "{stderr}");
}

/// `--nodes -1`, `--seed -1`, `--jobs -3`, `--concurrency -1`: a range error naming the flag,
/// not clap's "unexpected argument".
#[test]
fn negative_numbers_are_range_errors_naming_the_flag() {
    refused(
        &["--nodes", "-1"],
        &["--nodes", "the cluster must have 3, 5 or 7 nodes"],
    );
    refused(&["--seed", "-1"], &["--seed", "-1", "from 0 to"]);
    refused(&["--jobs", "-3"], &["--jobs", "-3", "from 1 to 64"]);
    refused(
        &["--concurrency", "-1"],
        &["--concurrency", "from 1 to 1000"],
    );
}

/// The same command twice in the same second (the same seed, the same test): two run folders,
/// two invocation folders for junit.xml and summary.json, nothing overwritten; and the printed
/// line says what the simulated time beyond the time limit was.
#[test]
fn runs_of_the_same_test_and_seed_never_overwrite_each_other() {
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let store = scratch.path().join("store");
    let run = || {
        let output = Command::new(env!("CARGO_BIN_EXE_rafty"))
            .args(["test", "--seed", "1", "--time-limit", "1s", "--nodes", "3"])
            .args(["--nemesis", "kill", "--store"])
            .arg(&store)
            .output()
            .expect("rafty runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(output.status.code(), Some(0), "{stdout}");
        stdout
    };
    let (first, second) = (run(), run());
    assert!(
        first.contains("s simulated = 1.0s time limit + ")
            && first.contains("s recovery and final reads, in "),
        "{first}"
    );
    let folder = |stdout: &str| {
        let line = stdout
            .lines()
            .find(|line| line.starts_with("seed 1:"))
            .unwrap();
        std::path::PathBuf::from(line.rsplit_once(" -> ").expect("a stored run").1)
    };
    let (first, second) = (folder(&first), folder(&second));
    assert_ne!(first, second);
    let test = store.join("kv-3n-kill-memory");
    for dir in [&first, &second] {
        assert_eq!(dir.parent(), Some(test.as_path()), "{}", dir.display());
        assert!(dir.join("results.json").is_file(), "{}", dir.display());
    }
    let suites: Vec<_> = std::fs::read_dir(test.join("suites"))
        .expect("the suites folder")
        .map(|entry| entry.expect("an entry").path())
        .collect();
    assert_eq!(suites.len(), 2, "{suites:?}");
    for suite in &suites {
        assert!(suite.join("junit.xml").is_file() && suite.join("summary.json").is_file());
    }
}
