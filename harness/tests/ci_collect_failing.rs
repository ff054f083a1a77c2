//! `reports/ci/collect-failing.sh`, run with bash as the nightly workflow runs it, on a store
//! holding valid, invalid and unknown runs, a run without results.json and one whose
//! results.json is not JSON: exactly the runs that are not valid are copied and named, the
//! JUnit files of every invocation are kept, and a missing store is an error, never
//! "0 failing run(s)".

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A results.json as `rafty test` writes it: the nested checks have `valid` fields too.
fn results(valid: &str, seed: u64) -> String {
    format!(
        r#"{{
  "test": "kv-5n-all-memory",
  "seed": {seed},
  "valid": {valid},
  "failure": "safety",
  "checks": {{
    "linearizability": {{ "valid": true }},
    "invariants": {{ "valid": true }},
    "simulation": {{ "valid": true }}
  }}
}}
"#
    )
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

/// The store: two tests, six runs, one invocation's JUnit files and a `latest` link.
fn store(root: &Path) -> PathBuf {
    let store = root.join("store");
    let run = |test: &str, run: &str| store.join(test).join(run);
    write(
        &run("kv-5n-all-memory", "20261126T070000Z-1").join("results.json"),
        &results("true", 1),
    );
    write(
        &run("kv-5n-all-memory", "20261126T070000Z-2").join("results.json"),
        &results("false", 2),
    );
    write(
        &run("kv-5n-all-memory", "20261126T070000Z-3").join("results.json"),
        &results("\"unknown\"", 3),
    );
    write(
        &run("kv-5n-all-memory", "20261126T070000Z-2").join("nodes/n1.log"),
        "a line\n",
    );
    fs::create_dir_all(run("kv-3n-kill-file", "20261126T080000Z-4")).unwrap();
    write(
        &run("kv-3n-kill-file", "20261126T080000Z-5").join("results.json"),
        "{\"valid\": true, \"seed\": 5, ",
    );
    write(
        &run("kv-3n-kill-file", "20261126T080000Z-5.2").join("results.json"),
        &results("true", 5),
    );
    let suite = store.join("kv-5n-all-memory/suites/20261126T070000Z");
    write(&suite.join("junit.xml"), "<testsuites/>\n");
    write(&suite.join("summary.json"), "{\"valid\": 1}\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        run("kv-5n-all-memory", "20261126T070000Z-2"),
        store.join("kv-5n-all-memory/latest"),
    )
    .unwrap();
    store
}

fn collect(store: &Path, out: &Path) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reports/ci/collect-failing.sh");
    Command::new("bash")
        .arg(script)
        .arg(store)
        .arg(out)
        .env("RAFTY", env!("CARGO_BIN_EXE_rafty"))
        .output()
        .expect("bash runs")
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn exactly_the_runs_that_are_not_valid_are_copied_and_named() {
    let scratch = tempfile::tempdir().unwrap();
    let store = store(scratch.path());
    let out = scratch.path().join("ci-artifacts");
    let output = collect(&store, &out);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert_eq!(
        names(&out.join("failing")),
        [
            "kv-3n-kill-file-20261126T080000Z-4",
            "kv-3n-kill-file-20261126T080000Z-5",
            "kv-5n-all-memory-20261126T070000Z-2",
            "kv-5n-all-memory-20261126T070000Z-3",
        ]
    );
    assert!(stdout.contains("4 failing run(s) copied"), "{stdout}");
    for named in [
        "failing: kv-5n-all-memory/20261126T070000Z-2 (invalid)",
        "failing: kv-5n-all-memory/20261126T070000Z-3 (unknown)",
        "failing: kv-3n-kill-file/20261126T080000Z-4 (unreadable: no results.json",
        "failing: kv-3n-kill-file/20261126T080000Z-5 (unreadable: results.json is not JSON",
    ] {
        assert!(stdout.contains(named), "no `{named}` in: {stdout}");
    }
    let copied = out.join("failing/kv-5n-all-memory-20261126T070000Z-2");
    assert_eq!(
        fs::read_to_string(copied.join("nodes/n1.log")).unwrap(),
        "a line\n"
    );
    let junit = out.join("junit/kv-5n-all-memory/suites/20261126T070000Z");
    assert_eq!(names(&junit), ["junit.xml", "summary.json"]);
}

#[test]
fn a_missing_store_is_an_error_not_zero_failing_runs() {
    let scratch = tempfile::tempdir().unwrap();
    let output = collect(&scratch.path().join("nope"), &scratch.path().join("out"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("no such store folder"), "{stderr}");
}
