//! `rafty certs` end to end: real `rafty node` processes started with the files it wrote talk
//! over mutual TLS (elect a leader, commit), including a node certified later by the same CA,
//! and a node holding a certificate of another cluster is refused with the reason in the log.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
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

fn rafty(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rafty"))
        .args(args)
        .output()
        .unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scrape(addr: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
}

fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

/// Node `id` on `raft_ports`, with `cert`/`key` from `certs`, logging to `log`; returns it and
/// its metrics address.
fn start_node(
    id: u64,
    raft_ports: &[u16; 3],
    certs: &Path,
    stem: &str,
    data: &Path,
    log: &Path,
) -> (Killed, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rafty"));
    command
        .args([
            "node",
            "--id",
            &id.to_string(),
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .args([
            "--raft",
            &format!("127.0.0.1:{}", raft_ports[id as usize - 1]),
        ])
        .arg("--data-dir")
        .arg(data.join(format!("n{id}")))
        .arg("--tls-cert")
        .arg(certs.join(format!("{stem}.pem")))
        .arg("--tls-key")
        .arg(certs.join(format!("{stem}.key")))
        .arg("--tls-ca")
        .arg(certs.join("ca.pem"));
    for peer in 1..=3u64 {
        if peer != id {
            let port = raft_ports[peer as usize - 1];
            command.args(["--peer", &format!("{peer}=127.0.0.1:{port}")]);
        }
    }
    let child = command
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut node = Killed(child);
    let mut line = String::new();
    BufReader::new(node.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let listening: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|_| {
        panic!(
            "node {id} printed {line:?}: {:?}",
            std::fs::read_to_string(log)
        )
    });
    (node, listening["metrics"].as_str().unwrap().to_owned())
}

#[test]
fn nodes_with_rafty_certs_files_talk_and_another_clusters_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (certs, foreign) = (dir.path().join("certs"), dir.path().join("foreign"));
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let made = rafty(&[
        "certs",
        "--cluster-id",
        "1",
        "--nodes",
        "1",
        "--clients",
        "admin",
        "--out",
        &path(&certs),
    ]);
    assert!(made.status.success(), "{made:?}");
    // Node 2 is certified later, by the CA the directory already holds.
    let made = rafty(&[
        "certs",
        "--cluster-id",
        "1",
        "--nodes",
        "2",
        "--out",
        &path(&certs),
    ]);
    assert!(made.status.success(), "{made:?}");
    let again = rafty(&[
        "certs",
        "--cluster-id",
        "1",
        "--nodes",
        "2",
        "--out",
        &path(&certs),
    ]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("node-2.pem exists"));
    // Node 3's certificate is of cluster 9, signed by the same CA.
    std::fs::create_dir(&foreign).unwrap();
    for name in ["ca.pem", "ca.key"] {
        std::fs::copy(certs.join(name), foreign.join(name)).unwrap();
    }
    let made = rafty(&[
        "certs",
        "--cluster-id",
        "9",
        "--nodes",
        "3",
        "--out",
        &path(&foreign),
    ]);
    assert!(made.status.success(), "{made:?}");

    let ports = [free_port(), free_port(), free_port()];
    let logs: Vec<_> = (1..=3)
        .map(|id| dir.path().join(format!("n{id}.log")))
        .collect();
    let (_n1, metrics1) = start_node(1, &ports, &certs, "node-1", dir.path(), &logs[0]);
    let (_n2, metrics2) = start_node(2, &ports, &certs, "node-2", dir.path(), &logs[1]);
    let (_n3, _) = start_node(3, &ports, &foreign, "node-3", dir.path(), &logs[2]);

    // Bounded waits; what is asserted is the state reached, not the time it took.
    let mut talked = false;
    for _ in 0..400 {
        let (one, two) = (scrape(&metrics1), scrape(&metrics2));
        let leaders = [&one, &two]
            .iter()
            .zip(["1", "2"])
            .filter(|(body, id)| sample(body, &format!("rafty_role{{node=\"{id}\"}}")) == Some(3.0))
            .count();
        let committed = sample(&one, "rafty_commit_index{node=\"1\"}") >= Some(1.0)
            && sample(&two, "rafty_commit_index{node=\"2\"}") >= Some(1.0);
        if leaders == 1 && committed {
            talked = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = |i: usize| std::fs::read_to_string(&logs[i]).unwrap_or_default();
    assert!(
        talked,
        "nodes 1 and 2 elect and commit over TLS: {}\n{}",
        log(0),
        log(1)
    );
    let reason = "says it is node 3 of cluster 1, but its certificate does not name \
                  node-3.cluster-1.rafty";
    let mut refused = false;
    for _ in 0..400 {
        if log(0).contains(reason) || log(1).contains(reason) {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        refused,
        "node 3 refused, saying why: {}\n{}",
        log(0),
        log(1)
    );
}
