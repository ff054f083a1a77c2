//! Power faults on real processes: `rafty node --lazy-fs` keeps its unsynced writes in its own
//! memory, and SIGUSR1 cuts its power (it loses them and exits with status 86). Raft's rule
//! under test: a server's persistent state (its log and hard state) is on stable storage before
//! it answers (Figure 2, "Persistent state on all servers ... updated on stable storage before
//! responding to RPCs"), so a write the cluster acknowledged survives a power cut.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rafty::file_log::fs::{LazyFs, StdFs, SyncedLengths};
use rafty::{Entry, FileLog, FileLogOptions, Log, Payload};
use rafty_harness::real::power_cut::cut_to_synced;
use rafty_harness::real::sync_hook::SyncHookFs;

fn rafty() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rafty"))
}

/// A one-node registry on `--lazy-fs` over `data`, and its HTTP address.
fn start_lazy_node(data: &Path, log: &Path) -> (Child, String) {
    start_lazy_node_with(data, log, &[])
}

/// [`start_lazy_node`] with more flags.
fn start_lazy_node_with(data: &Path, log: &Path, flags: &[&str]) -> (Child, String) {
    let mut all = vec!["--lazy-fs"];
    all.extend_from_slice(flags);
    start_node(data, log, &all)
}

/// A one-node registry over `data` with `flags`, its stderr appended to `log`, and its HTTP
/// address.
fn start_node(data: &Path, log: &Path, flags: &[&str]) -> (Child, String) {
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut child = rafty()
        .args(["node", "--id", "1", "--registry", "127.0.0.1:0"])
        .args(flags)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let listening: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|error| {
        panic!("the node printed {line:?}: {error}\n{}", read(log));
    });
    let http = listening["registry"].as_str().unwrap().to_owned();
    (child, http)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// One HTTP/1.1 request; the status code and the body.
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    try_http(addr, method, path, body).unwrap()
}

/// [`http`], or the I/O error that ended it (the node went away).
fn try_http(addr: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Ok((status, body.to_owned()))
}

/// Repeat `request` until it answers 200 (the one node elects itself first), at most 20 s.
fn until_ok(request: impl Fn() -> (u16, String)) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = request();
        if status == 200 {
            return body;
        }
        assert!(Instant::now() < deadline, "still {status}: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_acknowledged_write_survives_a_power_cut_of_a_lazy_node() {
    let scratch = tempfile::tempdir().unwrap();
    let (data, log) = (scratch.path().join("n1"), scratch.path().join("n1.log"));
    let (mut node, addr) = start_lazy_node(&data, &log);
    let body = r#"{"value":"acknowledged"}"#;
    until_ok(|| http(&addr, "PUT", "/v1/config/k", body));
    kill(Pid::from_raw(node.id() as i32), Signal::SIGUSR1).unwrap();
    let status = node.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(86),
        "a power cut's status\n{}",
        read(&log)
    );
    let text = read(&log);
    assert!(text.contains("(lazy fs)"), "{text}");
    let cut = text
        .lines()
        .find(|line| line.contains("power cut (SIGUSR1):"))
        .unwrap_or_else(|| panic!("no power cut in the log:\n{text}"));
    assert!(
        cut.contains("unsynced bytes lost (") && cut.ends_with("back to their synced length)"),
        "{cut}"
    );

    let (mut node, addr) = start_lazy_node(&data, &log);
    let value = until_ok(|| http(&addr, "GET", "/v1/config/k", ""));
    node.kill().unwrap();
    node.wait().unwrap();
    assert!(
        value.contains("\"acknowledged\""),
        "after the power cut: {value}"
    );
}

/// The bytes cut and the files they were cut from, as the power cut's line says them.
fn cut_bytes_and_files(line: &str) -> (u64, u64) {
    let numbers: Vec<u64> = line
        .split_once("lost (")
        .map_or("", |(_, rest)| rest)
        .split(' ')
        .filter_map(|word| word.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// A power cut that lands inside a sync, after the batch's writes reached the file and before
/// its fsync (`--power-cut-at-sync`), cuts the batch off the file, as a real cut may; the node
/// restarts from what it had synced, and every write it acknowledged is there (Figure 2:
/// persistent state is on stable storage before a server answers).
#[test]
fn a_power_cut_inside_a_sync_loses_the_batch_and_every_acknowledged_write_survives() {
    let scratch = tempfile::tempdir().unwrap();
    let (data, log) = (scratch.path().join("n1"), scratch.path().join("n1.log"));
    let (mut node, addr) = start_lazy_node_with(&data, &log, &["--power-cut-at-sync", "40"]);
    let mut acknowledged = Vec::new();
    for key in 0..10_000 {
        let body = format!(r#"{{"value":"v{key}"}}"#);
        match try_http(&addr, "PUT", &format!("/v1/config/k{key}"), &body) {
            Ok((200, _)) => acknowledged.push(key),
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => break,
        }
    }
    let status = node.wait().unwrap();
    let text = read(&log);
    assert_eq!(status.code(), Some(86), "a power cut's status\n{text}");
    assert!(
        !acknowledged.is_empty(),
        "no write acknowledged before the cut\n{text}"
    );
    let cut = text
        .lines()
        .find(|line| line.contains("power cut (SIGUSR1):"))
        .unwrap_or_else(|| panic!("no power cut in the log:\n{text}"));
    let (bytes, files) = cut_bytes_and_files(cut);
    assert!(
        bytes > 0 && files > 0,
        "the batch inside the sync was cut off: {cut}"
    );

    let (mut node, addr) = start_lazy_node(&data, &log);
    for key in &acknowledged {
        let value = until_ok(|| http(&addr, "GET", &format!("/v1/config/k{key}"), ""));
        assert!(
            value.contains(&format!("\"v{key}\"")),
            "k{key} was acknowledged before the cut: {value}"
        );
    }
    node.kill().unwrap();
    node.wait().unwrap();
}

/// The entries of indexes `first..first + count`, 40 bytes each.
fn entries(first: u64, count: u64) -> Vec<Entry> {
    (first..first + count)
        .map(|index| Entry {
            term: 1,
            index,
            payload: Payload::Command(vec![index as u8; 40]),
        })
        .collect()
}

/// Each file under `dir` and its length on the disk.
fn lengths_on_disk(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut lengths = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            lengths.insert(path.clone(), std::fs::metadata(&path).unwrap().len());
        }
    }
    lengths
}

/// The power cut's cut-back, run where the signal would land: inside `FileLog`'s sync of a
/// batch over `LazyFs`, after the batch reached the segment file. Every file is left at its
/// synced length, so the log reopens with exactly the entries it acknowledged before (Figure
/// 2: an entry is acknowledged only once on stable storage), the batch gone.
#[test]
fn the_cut_back_leaves_every_file_at_its_synced_length_and_the_log_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let armed = Arc::new(AtomicBool::new(false));
    let lengths: Arc<OnceLock<Arc<SyncedLengths>>> = Arc::default();
    let found = Arc::new(Mutex::new(None));
    let hook = {
        let (armed, lengths, found) = (armed.clone(), lengths.clone(), found.clone());
        Arc::new(move || {
            if armed.swap(false, Ordering::SeqCst) {
                let cut = cut_to_synced(lengths.get().expect("set before the log opens"));
                *found.lock().unwrap() = Some(cut);
            }
        })
    };
    let fs = LazyFs::new(SyncHookFs::new(StdFs, hook));
    lengths.set(fs.synced_lengths()).unwrap();
    let mut log = FileLog::open_with(fs, dir.path(), FileLogOptions::default()).unwrap();
    log.append(&entries(1, 10)).unwrap();
    let acknowledged = lengths_on_disk(dir.path());
    armed.store(true, Ordering::SeqCst);
    // The cut lands inside this append's sync; here the process goes on, as if it had died.
    log.append(&entries(11, 10)).unwrap();
    drop(log);
    let (files, bytes) = found.lock().unwrap().expect("the hook ran inside a sync");
    assert_eq!(files, 1, "the segment the batch went to");
    assert!(bytes >= 10 * 40, "the whole batch was cut: {bytes} bytes");
    assert_eq!(
        lengths_on_disk(dir.path()),
        acknowledged,
        "every file at its synced length"
    );
    let reopened = FileLog::open(dir.path()).expect("the log recovers");
    assert_eq!(
        reopened.last_index(),
        10,
        "what it acknowledged, not the batch"
    );
}

#[test]
fn a_node_without_lazy_fs_ignores_the_power_cut_signal_naming_why() {
    let scratch = tempfile::tempdir().unwrap();
    let log = scratch.path().join("n1.log");
    let (mut node, _http) = start_node(&scratch.path().join("n1"), &log, &[]);
    let pid = Pid::from_raw(node.id() as i32);
    kill(pid, Signal::SIGUSR1).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !read(&log).contains("SIGUSR1 ignored") {
        assert!(Instant::now() < deadline, "{}", read(&log));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(node.try_wait().unwrap().is_none(), "it still runs");
    kill(pid, Signal::SIGTERM).unwrap();
    assert_eq!(node.wait().unwrap().code(), Some(0));
    assert!(read(&log).contains("needs --lazy-fs"), "{}", read(&log));
}

#[test]
fn a_real_run_with_power_cuts_is_valid_and_its_nodes_lose_power_and_restart() {
    let scratch = tempfile::tempdir().unwrap();
    let store = scratch.path().join("store");
    let data = scratch.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let output = rafty()
        .args(["test", "--real", "--nodes", "3", "--seed", "2"])
        .args(["--time-limit", "8s", "--nemesis-interval", "1s"])
        .args(["--nemesis", "power"])
        .arg("--store")
        .arg(&store)
        .arg("--real-data-dir")
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let test = store.join("real-kv-3n-power-file");
    let dir = std::fs::read_dir(&test)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.join("results.json").exists())
        .unwrap();
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["valid"], true, "{results}");
    // The final reads of every key, checked with the rest of the history, stand for
    // durability: an acknowledged write lost to a cut makes them non-linearizable.
    assert_eq!(results["checks"]["linearizability"]["valid"], true);
    let faults = results["real"]["faults"].as_array().unwrap();
    assert!(faults.len() >= 2, "{faults:?}");
    let mut cuts = 0;
    for fault in faults {
        assert_eq!(fault["kind"], "power", "{fault}");
        assert!(fault["error"].is_null(), "{fault}");
        for node in fault["target"].as_str().unwrap().split(',') {
            cuts += 1;
            let log = read(&dir.join("nodes").join(format!("{node}.log")));
            assert!(log.contains("power cut (SIGUSR1)"), "{node}:\n{log}");
            assert!(
                log.matches("(lazy fs)").count() >= 2,
                "{node} restarted:\n{log}"
            );
        }
    }
    assert!(cuts >= 3, "{faults:?}");
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), 0);
}
