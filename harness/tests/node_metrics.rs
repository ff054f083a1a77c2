//! `rafty node --metrics-addr`: a real node process serves Prometheus metrics at /metrics, and
//! the values are the node's (a single-node cluster elects itself and commits its no-op).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the node however the test ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scrape(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// The value of the sample `series` in a Prometheus text body.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[test]
fn a_real_node_serves_its_term_role_and_indexes_at_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_rafty"))
        .args([
            "node",
            "--id",
            "1",
            "--metrics-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path().join("n1"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut node = Killed(child);
    let mut line = String::new();
    BufReader::new(node.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let listening: serde_json::Value = serde_json::from_str(&line).unwrap();
    let addr = listening["metrics"].as_str().unwrap().to_owned();
    // Wait (bounded) for the node to elect itself; the values are then checked, not the time.
    let mut body = String::new();
    for _ in 0..200 {
        body = scrape(&addr, "/metrics");
        if sample(&body, "rafty_role{node=\"1\"}") == Some(3.0) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert_eq!(sample(&body, "rafty_role{node=\"1\"}"), Some(3.0), "{body}");
    assert_eq!(sample(&body, "rafty_term{node=\"1\"}"), Some(1.0), "{body}");
    assert!(
        sample(&body, "rafty_commit_index{node=\"1\"}") >= Some(1.0),
        "{body}"
    );
    assert!(
        sample(&body, "rafty_applied_index{node=\"1\"}") >= Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "rafty_leader_changes_total{node=\"1\"}"),
        Some(1.0),
        "{body}"
    );
    assert!(body.contains("# TYPE rafty_term gauge"), "{body}");
    let missing = scrape(&addr, "/nothing");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}
