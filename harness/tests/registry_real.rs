//! `rafty test-registry` and `rafty registry`: the service registry on real `rafty node
//! --registry` processes.

use std::process::{Command, Stdio};

fn rafty() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rafty"))
}

#[test]
fn a_short_registry_chaos_run_is_judged_valid_with_every_check_reported() {
    let scratch = tempfile::tempdir().unwrap();
    let store = scratch.path().join("store");
    let data = scratch.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let output = rafty()
        .args([
            "test-registry",
            "--seed",
            "3",
            "--time-limit",
            "8",
            "--nemesis",
            "kill,pause",
        ])
        .args(["--nemesis-interval-ms", "1500", "--clients", "3"])
        .arg("--store")
        .arg(&store)
        .arg("--data-root")
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("seed 3: valid"), "{stdout}");
    let test = store.join("real-registry-3n-kill+pause");
    let run = std::fs::read_dir(&test)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["valid"], "valid");
    assert_eq!(results["registry"]["valid"], true);
    assert_eq!(results["config"]["valid"], "linearizable");
    assert!(
        results["registry"]["changes"].as_u64().unwrap() > 0,
        "{results}"
    );
    assert!(
        results["real"]["faults"].as_array().unwrap().len() >= 2,
        "{results}"
    );
    assert_eq!(results["watchers"], 6);
    // Nothing left behind: the nodes' data directory is gone.
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
}

#[test]
fn rafty_registry_rejects_a_bad_node_count_naming_the_flag() {
    let output = rafty()
        .args(["registry", "--nodes", "9", "--data", "/nonexistent/x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--nodes"), "{stderr}");
}
