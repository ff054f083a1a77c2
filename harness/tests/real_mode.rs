//! `rafty test --real`: a short run against real `rafty node` processes is judged valid with
//! its faults applied to the processes, and an interrupted run leaves no process or data behind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn rafty() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rafty"))
}

/// The single run folder under `store/<test>/`.
fn run_dir(store: &Path, test: &str) -> std::path::PathBuf {
    let mut runs: Vec<_> = std::fs::read_dir(store.join(test))
        .unwrap_or_else(|error| panic!("{test} in the store: {error}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("results.json").exists())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.remove(0)
}

#[test]
fn a_short_real_run_is_valid_with_its_faults_applied_to_the_processes() {
    let scratch = tempfile::tempdir().unwrap();
    let store = scratch.path().join("store");
    let data = scratch.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let output = rafty()
        .args([
            "test",
            "--real",
            "--nodes",
            "3",
            "--seed",
            "1",
            "--time-limit",
            "6s",
        ])
        .args([
            "--nemesis-interval",
            "1s",
            "--nemesis",
            "kill,pause,partition",
        ])
        .arg("--store")
        .arg(&store)
        .arg("--real-data-dir")
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let dir = run_dir(&store, "real-kv-3n-partition+kill+pause-file");
    let text = std::fs::read_to_string(dir.join("results.json")).unwrap();
    let results: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(results["valid"], true, "{text}");
    assert_eq!(results["checks"]["linearizability"]["valid"], true);
    assert!(
        results["ops"]["ok"].as_u64().unwrap() > 50,
        "{}",
        results["ops"]
    );
    let real = &results["real"];
    assert_eq!(real["deterministic"], false);
    let faults = real["faults"].as_array().unwrap();
    assert!(faults.len() >= 2, "{faults:?}");
    for fault in faults {
        assert!(fault["error"].is_null(), "{fault}");
        assert!(
            fault["stop_unix_ms"].as_u64() > fault["start_unix_ms"].as_u64(),
            "{fault}"
        );
        // A kill is a real SIGKILL: the node's log shows a second start after it.
        if fault["kind"] == "kill" {
            let node = fault["target"].as_str().unwrap();
            let log =
                std::fs::read_to_string(dir.join("nodes").join(format!("{node}.log"))).unwrap();
            let starts = log.matches("starting with peers").count();
            assert!(
                starts >= 2,
                "{node} killed but started {starts} time(s):\n{log}"
            );
        }
    }
    let kinds: Vec<&str> = faults.iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"kill"),
        "seed 1 draws a kill within 6s: {kinds:?}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.txt")).unwrap();
    assert!(summary.contains("not deterministic"), "{summary}");
    // The nodes' data directory is gone.
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
}

/// The children of `parent`, from /proc.
fn children(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the command's closing parenthesis: state, then the parent's pid.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        if fields.get(1).and_then(|ppid| ppid.parse::<u32>().ok()) == Some(parent) {
            found.push(pid);
        }
    }
    found
}

/// Whether `pid` still runs (a zombie waiting to be reaped does not).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn an_interrupted_real_run_leaves_no_node_process_and_no_data() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut harness = rafty()
        .args([
            "test",
            "--real",
            "--nodes",
            "3",
            "--seed",
            "1",
            "--time-limit",
            "60s",
        ])
        .arg("--store")
        .arg(scratch.path().join("store"))
        .arg("--real-data-dir")
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let nodes = loop {
        let nodes = children(harness.id());
        if nodes.len() == 3 {
            break nodes;
        }
        assert!(Instant::now() < deadline, "the three nodes never started");
        std::thread::sleep(Duration::from_millis(100));
    };
    // Mid-way: the clients and the nemesis are at work.
    std::thread::sleep(Duration::from_secs(3));
    kill(Pid::from_raw(harness.id() as i32), Signal::SIGINT).unwrap();
    let status = harness.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(harness.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("SIGINT: stopped"), "{stderr}");
    for pid in nodes {
        assert!(
            !alive(pid),
            "node process {pid} survived the interrupted run"
        );
    }
    // Nor any node restarted since (every node's command line names the data directory).
    let marker = data.to_string_lossy().into_owned();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&marker) {
            assert!(!alive(pid), "a node process ({pid}) of the run survived it");
        }
    }
    let left: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "data left behind: {left:?}");
}

#[test]
fn a_fault_kind_a_real_run_cannot_apply_is_refused_naming_why() {
    let output = rafty()
        .args(["test", "--real", "--log", "file", "--no-store"])
        .args(["--nemesis", "kill,power-mid-write"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--nemesis power-mid-write is not available with --real"),
        "{stderr}"
    );
    assert!(stderr.contains("simulation's disk"), "{stderr}");
}

#[test]
fn rafty_node_refuses_bad_flags_naming_them() {
    let scratch = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--peer", "2=127.0.0.1"], "--peer: `2=127.0.0.1`"),
        (&["--peer", "1=127.0.0.1:7001"], "this node's own id"),
        (&["--raft", "127.0.0.1"], "--raft `127.0.0.1`"),
    ];
    for (flags, expected) in cases {
        let output = rafty()
            .args(["node", "--id", "1", "--data-dir"])
            .arg(scratch.path())
            .args(flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(expected), "{flags:?}: {stderr}");
    }
}
