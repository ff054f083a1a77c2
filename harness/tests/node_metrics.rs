//! `rafty node --metrics-addr`: a real node process serves Prometheus metrics at /metrics, and
//! the values are the node's (a single-node cluster elects itself and commits its no-op, timing
//! the append and its fsync); in a three-node cluster the leader alone reports each follower's
//! replication lag, which is 0 once they caught up.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
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
    for histogram in ["rafty_log_append_seconds", "rafty_log_fsync_seconds"] {
        let count = sample(&body, &format!("{histogram}_count")).unwrap_or(0.0);
        let sum = sample(&body, &format!("{histogram}_sum")).unwrap_or(-1.0);
        assert!(
            count >= 1.0,
            "{histogram}: the no-op's append at least: {body}"
        );
        assert!(
            sum > 0.0 && sum < count * 10.0,
            "{histogram}: seconds, each under 10: {body}"
        );
    }
    let append_sum = sample(&body, "rafty_log_append_seconds_sum").unwrap();
    let fsync_sum = sample(&body, "rafty_log_fsync_seconds_sum").unwrap();
    assert!(
        fsync_sum <= append_sum,
        "the fsync is part of the append: {body}"
    );
    let missing = scrape(&addr, "/nothing");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_leader_reports_each_followers_replication_lag_and_followers_report_none() {
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port(), free_port()];
    let mut nodes = Vec::new();
    for id in 1..=3usize {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rafty"));
        command
            .args([
                "node",
                "--id",
                &id.to_string(),
                "--metrics-addr",
                "127.0.0.1:0",
            ])
            .args(["--raft", &format!("127.0.0.1:{}", ports[id - 1])])
            .arg("--data-dir")
            .arg(dir.path().join(format!("n{id}")));
        for peer in (1..=3).filter(|peer| *peer != id) {
            command.args(["--peer", &format!("{peer}=127.0.0.1:{}", ports[peer - 1])]);
        }
        let child = command
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
        nodes.push((node, listening["metrics"].as_str().unwrap().to_owned()));
    }
    // Wait (bounded) for a leader whose followers both caught up; the values are checked.
    let lag = |body: &str, node: usize, peer: usize| {
        sample(
            body,
            &format!("rafty_replication_lag_entries{{node=\"{node}\",peer=\"{peer}\"}}"),
        )
    };
    let mut found = None;
    for _ in 0..400 {
        let bodies: Vec<String> = nodes
            .iter()
            .map(|(_, addr)| scrape(addr, "/metrics"))
            .collect();
        let leader = (1..=3).find(|id| {
            sample(&bodies[id - 1], &format!("rafty_role{{node=\"{id}\"}}")) == Some(3.0)
        });
        if let Some(leader) = leader {
            let peers: Vec<usize> = (1..=3).filter(|peer| *peer != leader).collect();
            if peers
                .iter()
                .all(|peer| lag(&bodies[leader - 1], leader, *peer) == Some(0.0))
            {
                found = Some((leader, bodies));
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (leader, bodies) = found.expect("a leader with both followers at lag 0 within 20 s");
    assert!(
        bodies[leader - 1].contains("# TYPE rafty_replication_lag_entries gauge"),
        "{}",
        bodies[leader - 1]
    );
    for follower in (1..=3).filter(|id| *id != leader) {
        let prefix = format!("rafty_replication_lag_entries{{node=\"{follower}\"");
        let values: Vec<&str> = bodies[follower - 1]
            .lines()
            .filter(|line| line.starts_with(&prefix))
            .filter_map(|line| line.rsplit(' ').next())
            .collect();
        assert!(
            values.iter().all(|value| *value == "NaN"),
            "a follower reports no lag (none, or NaN had it led before): {values:?}"
        );
    }
}
