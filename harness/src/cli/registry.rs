//! `rafty registry`: a local cluster of the service registry in one command, each node a
//! `rafty node --registry` process (the same process code the harness's real mode uses) with
//! its durable file log under `--data`:
//!
//! ```text
//! rafty registry --nodes 3 --data /tmp/registry
//! ```
//!
//! Node `i` listens for Raft on `BASE+i`, the key-value service on `BASE+100+i` and the
//! registry's HTTP API on `BASE+200+i` (`--base-port`, default 7000: http://127.0.0.1:7201 for
//! node 1). It prints each node's pid and addresses, restarts a node that exits (after
//! `--restart-after`, from its data directory, as a supervisor would), and stops them all on
//! Ctrl-C or SIGTERM. Started again on the same `--data`, the cluster keeps what it held.
//! With `--certs DIR` (`rafty certs --nodes 1,2,3 --out DIR`) the nodes talk mutual TLS and
//! serve the API over HTTPS. With `--lazy-fs` every node runs `rafty node --lazy-fs`: `kill
//! -USR1 PID` cuts that node's power (it loses its unsynced writes and dies; it is restarted
//! like any node that exits).

use std::path::PathBuf;
use std::time::Duration;

use rafty::NodeId;
use rafty::tcp::tls::ClientAuth;

use crate::cli::number::whole_number;
use crate::real::node::{RegistryHttp, TlsFiles};
use crate::real::process::{NodeProcess, NodeSpec};

/// Arguments of `rafty registry`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// How many nodes (1 to 7).
    #[arg(long, default_value_t = 3, value_parser = whole_number(1, 7))]
    pub nodes: u64,
    /// The cluster's data directory: each node's log and snapshots in `n<ID>/`, its log lines
    /// in `n<ID>.log` (created when missing; kept after the cluster stops).
    #[arg(long)]
    pub data: PathBuf,
    /// The ports' base: node i's Raft port is BASE+i, its key-value port BASE+100+i, its HTTP
    /// port BASE+200+i.
    #[arg(long, default_value_t = 7000, value_parser = whole_number(1, 65_000))]
    pub base_port: u64,
    /// How long after a node exits (killed, crashed) it is started again, in milliseconds
    /// (0: never).
    #[arg(long, default_value_t = 3000, value_parser = whole_number(0, 3_600_000))]
    pub restart_after_ms: u64,
    /// A directory of `rafty certs` files (`ca.pem`, `node-<ID>.pem`, `node-<ID>.key`): every
    /// node runs with mutual TLS between nodes and serves HTTPS.
    #[arg(long, value_name = "DIR")]
    pub certs: Option<PathBuf>,
    /// With --certs, whether HTTPS clients must present a client certificate of the cluster.
    #[arg(long, default_value = "required", value_name = "required|optional")]
    pub client_auth: ClientAuth,
    /// Run every node with `--lazy-fs`: its unsynced writes stay in its memory, and SIGUSR1
    /// cuts its power (see `rafty node --help`).
    #[arg(long)]
    pub lazy_fs: bool,
}

/// Run `rafty registry`; returns the exit code (0 after Ctrl-C or SIGTERM, 2 when a node could
/// not start).
pub fn run(args: &Args) -> u8 {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rafty registry: cannot build a runtime: {error}");
            return 2;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("rafty registry: {error}");
            2
        }
    }
}

/// Node `id`'s Raft, key-value and HTTP addresses.
fn addresses(base: u64, id: NodeId) -> [String; 3] {
    [0, 100, 200].map(|offset| format!("127.0.0.1:{}", base + offset + id))
}

/// The specs of the cluster's nodes.
fn specs(args: &Args) -> Result<Vec<NodeSpec>, String> {
    std::fs::create_dir_all(&args.data)
        .map_err(|error| format!("--data {}: {error}", args.data.display()))?;
    let settings_file = args.data.join("settings.json");
    let settings = serde_json::to_string_pretty(&rafty::Config::default()).expect("serializable");
    std::fs::write(&settings_file, settings)
        .map_err(|error| format!("cannot write {}: {error}", settings_file.display()))?;
    let ids: Vec<NodeId> = (1..=args.nodes).collect();
    let others = |id: NodeId, which: usize| -> Vec<(NodeId, String)> {
        (ids.iter().filter(|&&peer| peer != id))
            .map(|&peer| (peer, addresses(args.base_port, peer)[which].clone()))
            .collect()
    };
    Ok(ids
        .iter()
        .map(|&id| {
            let [raft, kv, http] = addresses(args.base_port, id);
            NodeSpec {
                id,
                data_dir: args.data.join(format!("n{id}")),
                peers: others(id, 0),
                cluster_id: crate::cli::node::DEFAULT_CLUSTER_ID,
                settings_file: settings_file.clone(),
                log_file: args.data.join(format!("n{id}.log")),
                listen: (raft, kv),
                registry: Some(RegistryHttp {
                    listen: http,
                    peers: others(id, 2),
                    client_auth: args.client_auth,
                }),
                tls: args.certs.as_ref().map(|dir| TlsFiles {
                    cert: dir.join(format!("node-{id}.pem")),
                    key: dir.join(format!("node-{id}.key")),
                    ca: dir.join("ca.pem"),
                }),
                lazy_fs: args.lazy_fs,
            }
        })
        .collect())
}

async fn serve(args: &Args) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut nodes = Vec::new();
    for spec in specs(args)? {
        let log = spec.log_file.clone();
        let node = NodeProcess::start(spec).await?;
        let listening = node.listening();
        println!(
            "node {}: pid {}, {}://{} (raft {}, log {})",
            node.id(),
            node.pid().unwrap_or(0),
            if args.certs.is_some() {
                "https"
            } else {
                "http"
            },
            listening.registry.as_deref().unwrap_or("?"),
            listening.raft,
            log.display()
        );
        nodes.push(node);
    }
    println!("registry of {} nodes running; Ctrl-C stops it", nodes.len());
    let restart_after = Duration::from_millis(args.restart_after_ms);
    let mut watch = tokio::time::interval(Duration::from_millis(200));
    let mut exited: Vec<Option<tokio::time::Instant>> = vec![None; nodes.len()];
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = watch.tick() => {}
        }
        for (node, since) in nodes.iter_mut().zip(exited.iter_mut()) {
            if since.is_none() && node.exited() {
                println!("node {} exited", node.id());
                *since = Some(tokio::time::Instant::now());
            }
            let due = since.is_some_and(|at| at.elapsed() >= restart_after);
            if due && !restart_after.is_zero() {
                match node.restart().await {
                    Ok(()) => {
                        println!(
                            "node {} restarted: pid {}",
                            node.id(),
                            node.pid().unwrap_or(0)
                        );
                        *since = None;
                    }
                    Err(error) => println!("node {} did not restart: {error}", node.id()),
                }
            }
        }
    }
    println!("stopping");
    for node in &mut nodes {
        node.stop().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_node_gets_its_own_ports_and_the_others_as_peers() {
        let dir = tempfile::tempdir().unwrap();
        let args = Args {
            nodes: 3,
            data: dir.path().to_owned(),
            base_port: 9000,
            restart_after_ms: 0,
            certs: Some(dir.path().join("certs")),
            client_auth: ClientAuth::Optional,
            lazy_fs: true,
        };
        let specs = specs(&args).unwrap();
        assert!(
            specs.iter().all(|spec| spec.lazy_fs),
            "--lazy-fs reaches every node"
        );
        assert_eq!(specs.len(), 3);
        let second = &specs[1];
        assert_eq!(
            second.listen,
            ("127.0.0.1:9002".into(), "127.0.0.1:9102".into())
        );
        assert_eq!(
            second.peers,
            [(1, "127.0.0.1:9001".into()), (3, "127.0.0.1:9003".into())]
        );
        let http = second.registry.as_ref().unwrap();
        assert_eq!(http.listen, "127.0.0.1:9202");
        assert_eq!(
            http.peers,
            [(1, "127.0.0.1:9201".into()), (3, "127.0.0.1:9203".into())]
        );
        assert_eq!(http.client_auth, ClientAuth::Optional);
        let tls = second.tls.as_ref().unwrap();
        assert_eq!(tls.cert, dir.path().join("certs/node-2.pem"));
        assert_eq!(tls.key, dir.path().join("certs/node-2.key"));
        assert_eq!(tls.ca, dir.path().join("certs/ca.pem"));
        assert!(dir.path().join("settings.json").exists());
    }
}
