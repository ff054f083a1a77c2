//! `rafty test --real --target etcd`: the harness run against a Raft system nobody here wrote.
//! A deliberately wrong client setting (serializable reads, which an etcd member serves from
//! its own state, stale when it is cut off from the others) is caught as a linearizability
//! violation under partitions, and the same run with etcd's default linearizable reads is
//! valid.
//!
//! These tests need `etcd` on the PATH (Debian: `apt-get install etcd-server`). Without it
//! they are skipped with a message, except under CI (`RAFTY_CI` set, as `.ci/run` does, which
//! installs it), where its absence is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

fn rafty() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rafty"))
}

/// Whether etcd is installed; panics under CI when it is not, says why it skips otherwise.
fn etcd_installed(test: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| dir.join("etcd").is_file()) {
        return true;
    }
    assert!(
        std::env::var_os("RAFTY_CI").is_none(),
        "{test}: `etcd` is not on the PATH under CI (RAFTY_CI is set): .ci/run installs \
         etcd-server; install it (apt-get install etcd-server)"
    );
    eprintln!(
        "skipping {test}: `etcd` is not on the PATH (install it: apt-get install etcd-server)"
    );
    false
}

/// Run a 20-second register test against 3 etcd members under partitions; its exit code and
/// results.json.
fn run_etcd(scratch: &Path, extra: &[&str], test: &str) -> (Option<i32>, serde_json::Value) {
    let store = scratch.join("store");
    let data = scratch.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let output = rafty()
        .args(["test", "--real", "--target", "etcd", "--nodes", "3"])
        .args(["--workload", "register", "--nemesis", "partition"])
        .args([
            "--nemesis-interval",
            "4s",
            "--time-limit",
            "20s",
            "--seed",
            "4",
        ])
        .args(extra)
        .arg("--store")
        .arg(&store)
        .arg("--real-data-dir")
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let dir = run_dir(&store, test).unwrap_or_else(|| panic!("no run stored:\n{stdout}\n{stderr}"));
    let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
    // The members' data directory is gone.
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
    (output.status.code(), serde_json::from_str(&text).unwrap())
}

/// The single run folder under `store/<test>/`.
fn run_dir(store: &Path, test: &str) -> Option<PathBuf> {
    std::fs::read_dir(store.join(test))
        .ok()?
        .map(|entry| entry.unwrap().path())
        .find(|path| path.join("results.json").exists())
}

#[test]
fn serializable_reads_from_a_cut_off_etcd_member_are_caught_as_not_linearizable() {
    if !etcd_installed("serializable_reads_from_a_cut_off_etcd_member_are_caught") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (code, results) = run_etcd(
        scratch.path(),
        &["--etcd-serializable-reads"],
        "real-register-3n-partition-etcd-serializable",
    );
    assert_eq!(code, Some(1), "invalid: {results}");
    assert_eq!(results["valid"], false);
    assert_eq!(
        results["checks"]["linearizability"]["valid"], false,
        "{}",
        results["checks"]
    );
    assert_eq!(results["real"]["target"], "etcd");
    let partitions = results["real"]["faults"].as_array().unwrap();
    assert!(
        partitions.iter().any(|fault| fault["kind"] == "partition"),
        "{partitions:?}"
    );
}

#[test]
fn linearizable_reads_from_etcd_under_partitions_are_valid() {
    if !etcd_installed("linearizable_reads_from_etcd_under_partitions_are_valid") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let (code, results) = run_etcd(scratch.path(), &[], "real-register-3n-partition-etcd");
    assert_eq!(code, Some(0), "valid: {results}");
    assert_eq!(results["checks"]["linearizability"]["valid"], true);
    assert!(
        results["ops"]["ok"].as_u64().unwrap() > 50,
        "{}",
        results["ops"]
    );
    assert_eq!(results["real"]["deterministic"], false);
}

#[test]
fn a_missing_etcd_is_a_clear_error() {
    let output = rafty()
        .args(["test", "--real", "--target", "etcd", "--no-store"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`etcd` is not on the PATH") && stderr.contains("etcd-server"),
        "{stderr}"
    );
}

#[test]
fn the_append_workload_is_refused_for_etcd_naming_the_ones_it_runs() {
    if !etcd_installed("the_append_workload_is_refused_for_etcd") {
        return;
    }
    let output = rafty()
        .args(["test", "--real", "--target", "etcd", "--workload", "append"])
        .arg("--no-store")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("register and kv workloads"), "{stderr}");
}

/// The running processes (zombies aside) whose command line contains `needle`, from /proc.
fn processes_with(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|entry| {
            entry.file_name().to_string_lossy().parse::<u32>().is_ok()
                && std::fs::read(entry.path().join("cmdline"))
                    .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(needle))
                && std::fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
                    !stat
                        .rsplit_once(')')
                        .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
                })
        })
        .count()
}

#[test]
fn an_interrupted_etcd_run_leaves_no_member_and_no_data() {
    if !etcd_installed("an_interrupted_etcd_run_leaves_no_member_and_no_data") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut child = rafty()
        .args(["test", "--real", "--target", "etcd", "--nodes", "3"])
        .args([
            "--nemesis",
            "partition",
            "--time-limit",
            "30s",
            "--no-store",
        ])
        .arg("--real-data-dir")
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let needle = format!("--data-dir={}", data.display());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while processes_with(&needle) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "three etcd members never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    // SIGKILLed members may take the kernel a moment to tear down.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while processes_with(&needle) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        processes_with(&needle),
        0,
        "an etcd member outlived the run"
    );
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0, "data left");
}
