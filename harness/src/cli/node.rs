//! `rafty node`: run one reference node as an OS process (see [`crate::real::node`]).
//!
//! ```text
//! rafty node --id 1 --data-dir data/n1 --raft 127.0.0.1:7001 --kv 127.0.0.1:7101 \
//!     --peer 2=127.0.0.1:7002 --peer 3=127.0.0.1:7003
//! ```
//!
//! Exit code: 0 after a graceful stop (SIGTERM or SIGINT), 2 when the flags are bad or the
//! node cannot run (the message names the flag, file or line).

use std::path::PathBuf;

use crate::cli::number::whole_number;
use crate::real::node::{self, NodeConfig};
use crate::real::node_args;

/// The cluster id of `rafty node` and `rafty admin` when `--cluster-id` is not given.
pub const DEFAULT_CLUSTER_ID: u64 = 1;

/// Arguments of `rafty node`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The node's id (from 1), unique in its cluster.
    #[arg(long, value_parser = whole_number(1, u64::MAX), allow_hyphen_values = true)]
    pub id: u64,
    /// The node's data directory: its file log and snapshots (created when missing).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Where to listen for Raft calls from the other nodes (HOST:PORT; port 0: any free port,
    /// printed on stdout).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub raft: String,
    /// Where to serve the key-value service to clients.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub kv: String,
    /// Where to serve the membership admin service (none when not given).
    #[arg(long)]
    pub admin: Option<String>,
    /// Another node of the cluster, as ID=HOST:PORT (its Raft address); once per peer.
    #[arg(long = "peer", value_name = "ID=HOST:PORT")]
    pub peers: Vec<String>,
    /// A file of peers, one ID=HOST:PORT a line (`#` starts a comment), with or instead of
    /// --peer.
    #[arg(long)]
    pub peers_file: Option<PathBuf>,
    /// The cluster id every connection's handshake carries (the same on every node).
    #[arg(long, default_value_t = DEFAULT_CLUSTER_ID, value_parser = whole_number(0, u64::MAX), allow_hyphen_values = true)]
    pub cluster_id: u64,
    /// Raft settings: a JSON object of rafty::Config fields (the others keep their defaults).
    #[arg(long)]
    pub settings: Option<PathBuf>,
}

impl Args {
    /// The node these flags describe, checked; the error names the flag, file or line.
    pub fn config(&self) -> Result<NodeConfig, String> {
        node_args::check_listen_address(&self.raft, "--raft")?;
        node_args::check_listen_address(&self.kv, "--kv")?;
        if let Some(admin) = &self.admin {
            node_args::check_listen_address(admin, "--admin")?;
        }
        let mut peers = Vec::new();
        for text in &self.peers {
            peers.push(node_args::parse_peer(text, "--peer")?);
        }
        if let Some(file) = &self.peers_file {
            peers.extend(node_args::read_peers_file(file)?);
        }
        let peers = node_args::merge_peers(self.id, peers)?;
        if self.data_dir.exists() && !self.data_dir.is_dir() {
            return Err(format!(
                "--data-dir {}: is not a directory",
                self.data_dir.display()
            ));
        }
        let settings = match &self.settings {
            Some(file) => node_args::read_settings(file)?,
            None => rafty::Config::default(),
        };
        Ok(NodeConfig {
            id: self.id,
            data_dir: self.data_dir.clone(),
            raft: self.raft.clone(),
            kv: self.kv.clone(),
            admin: self.admin.clone(),
            peers,
            cluster_id: self.cluster_id,
            settings,
        })
    }
}

/// Run `rafty node`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let config = match args.config() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("rafty node: {error}");
            return 2;
        }
    };
    match node::run(&config) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("rafty node {}: {error}", config.id);
            2
        }
    }
}
