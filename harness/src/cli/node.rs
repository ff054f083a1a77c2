//! `rafty node`: run one reference node as an OS process (see [`crate::real::node`]).
//!
//! ```text
//! rafty node --id 1 --data-dir data/n1 --raft 127.0.0.1:7001 --kv 127.0.0.1:7101 \
//!     --peer 2=127.0.0.1:7002 --peer 3=127.0.0.1:7003
//! rafty node --config n1.toml --raft 127.0.0.1:7011     # the file, one field overridden
//! ```
//!
//! Every flag may instead be a field of the `--config` file ([`crate::real::node_file`]); a
//! flag overrides the file.
//!
//! Exit code: 0 after a graceful stop (SIGTERM or SIGINT), 2 when the flags are bad or the
//! node cannot run (the message names the flag, file or line).

use std::path::PathBuf;
use std::time::Duration;

use rafty::tcp::tls::ClientAuth;

use crate::cli::number::whole_number;
use crate::real::node::{self, NodeConfig, RegistryHttp, TlsFiles};
use crate::real::node_args;
use crate::real::node_file::NodeFile;

/// The cluster id of `rafty node` and `rafty admin` when `--cluster-id` is not given.
pub const DEFAULT_CLUSTER_ID: u64 = 1;

/// How often a peers file is re-read when `--peers-poll-ms` is not given.
pub const DEFAULT_PEERS_POLL_MS: u64 = 1000;

/// Arguments of `rafty node`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// A TOML file of any of these flags' fields (`data_dir = "..."`, `[settings]`...); the
    /// flags given override it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// The node's id (from 1), unique in its cluster. Required, here or in --config.
    #[arg(long, value_parser = whole_number(1, u64::MAX), allow_hyphen_values = true)]
    pub id: Option<u64>,
    /// The node's data directory: its file log and snapshots (created when missing).
    /// Required, here or in --config.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where to listen for Raft calls from the other nodes (HOST:PORT; port 0: any free port,
    /// printed on stdout) [default: 127.0.0.1:0].
    #[arg(long)]
    pub raft: Option<String>,
    /// Where to serve the key-value service to clients [default: 127.0.0.1:0].
    #[arg(long)]
    pub kv: Option<String>,
    /// Where to serve the membership admin service (none when not given).
    #[arg(long)]
    pub admin: Option<String>,
    /// Another node of the cluster, as ID=HOST:PORT (its Raft address); once per peer.
    #[arg(long = "peer", value_name = "ID=HOST:PORT")]
    pub peers: Vec<String>,
    /// A TOML file of the members (`[[member]]` tables of `id` and `address`; this node's own
    /// entry is skipped), re-read when it changes; instead of --peer.
    #[arg(long, conflicts_with = "peers")]
    pub peers_file: Option<PathBuf>,
    /// How often the peers file is re-read, in milliseconds [default: 1000].
    #[arg(long, value_parser = whole_number(1, 86_400_000))]
    pub peers_poll_ms: Option<u64>,
    /// The cluster id every connection's handshake carries (the same on every node)
    /// [default: 1].
    #[arg(long, value_parser = whole_number(0, u64::MAX), allow_hyphen_values = true)]
    pub cluster_id: Option<u64>,
    /// Raft settings: a JSON object of rafty::Config fields (the others keep their defaults).
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// Where to serve Prometheus metrics over HTTP, at /metrics (none when not given).
    #[arg(long)]
    pub metrics_addr: Option<String>,
    /// This node's certificate chain (PEM), naming it as node-ID.cluster-CLUSTER.rafty
    /// (`rafty certs` makes one): mutual TLS on the Raft, client and admin ports, HTTPS on the
    /// registry's. Needs --tls-key and --tls-ca.
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// The certificate authority of the cluster (PEM): every peer and client must present a
    /// certificate it signed.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Serve the service registry's HTTP+JSON API here (HOST:PORT; port 0: any); the node's
    /// state machine is then the registry instead of the key-value store.
    #[arg(long, value_name = "HOST:PORT")]
    pub registry: Option<String>,
    /// Another node's registry HTTP address, as ID=HOST:PORT, so that reads a follower cannot
    /// serve are redirected (307) to the leader; once per peer. Needs --registry.
    #[arg(long = "registry-peer", value_name = "ID=HOST:PORT")]
    pub registry_peers: Vec<String>,
    /// With TLS, whether the registry's HTTPS clients must present a client certificate of
    /// the cluster (`required`) or may present none (`optional`; one presented is still
    /// checked) [default: required].
    #[arg(long, value_name = "required|optional")]
    pub registry_client_auth: Option<ClientAuth>,
    /// Keep the log's and snapshots' unsynced writes in this process's memory until synced
    /// (LazyFs), so that SIGUSR1 is a power cut: the node loses them, cuts its files back to
    /// their synced lengths and exits at once (status 86). For power faults in tests; slower
    /// than the page cache. Given, it turns on `lazy_fs` whatever --config says.
    #[arg(long)]
    pub lazy_fs: bool,
    /// With --lazy-fs, cut the power inside the node's Nth sync (from 1), after the sync's
    /// writes reach the file and before its fsync: a cut that loses a batch, for tests.
    #[arg(long, value_name = "N", value_parser = whole_number(1, u64::MAX))]
    pub power_cut_at_sync: Option<u64>,
}

impl Args {
    /// The node these flags (over the `--config` file) describe, checked; the error names the
    /// flag or field, file or line.
    pub fn config(&self) -> Result<NodeConfig, String> {
        let file = match &self.config {
            Some(path) => NodeFile::read(path)?,
            None => NodeFile::default(),
        };
        let id = self
            .id
            .or(file.id)
            .ok_or("--id (or `id` in --config) is required")?;
        if id == 0 {
            return Err("`id` in --config: node ids start at 1".to_owned());
        }
        let (lazy_fs, power_cut_at_sync) = self.lazy_fs_fields(&file)?;
        let data_dir = self
            .data_dir
            .clone()
            .or(file.data_dir)
            .ok_or("--data-dir (or `data_dir` in --config) is required")?;
        // An error names the flag when the flag gave the value, else the file's field.
        let listen = |flag: &Option<String>, field: Option<String>, names: [&str; 2]| {
            let (addr, name) = match (flag, field) {
                (Some(addr), _) => (Some(addr.clone()), names[0].to_owned()),
                (None, Some(addr)) => (Some(addr), format!("`{}` in --config", names[1])),
                (None, None) => (None, String::new()),
            };
            if let Some(addr) = &addr {
                node_args::check_listen_address(addr, &name)?;
            }
            Ok::<_, String>(addr)
        };
        let raft = listen(&self.raft, file.raft, ["--raft", "raft"])?;
        let kv = listen(&self.kv, file.kv, ["--kv", "kv"])?;
        let admin = listen(&self.admin, file.admin, ["--admin", "admin"])?;
        let metrics = listen(
            &self.metrics_addr,
            file.metrics,
            ["--metrics-addr", "metrics"],
        )?;
        let peers_file = self.peers_file.clone().or(file.peers_file);
        let (peer_texts, peer_source) = if self.peers.is_empty() {
            (file.peers.unwrap_or_default(), "`peers` in --config")
        } else {
            (self.peers.clone(), "--peer")
        };
        if peers_file.is_some() && !peer_texts.is_empty() {
            return Err(
                "give the peers as --peer (`peers`) or --peers-file (`peers_file`), not both"
                    .to_owned(),
            );
        }
        let mut peers = Vec::new();
        for text in &peer_texts {
            peers.push(node_args::parse_peer(text, peer_source)?);
        }
        let peers = node_args::merge_peers(id, peers)?;
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(format!(
                "--data-dir {}: is not a directory",
                data_dir.display()
            ));
        }
        let settings = match (&self.settings, file.settings) {
            (Some(path), _) => node_args::read_settings(path)?,
            (None, Some(settings)) => settings,
            (None, None) => rafty::Config::default(),
        };
        let tls = tls_files(
            self.tls_cert.clone().or(file.tls_cert),
            self.tls_key.clone().or(file.tls_key),
            self.tls_ca.clone().or(file.tls_ca),
        )?;
        let poll_ms = self
            .peers_poll_ms
            .or(file.peers_poll_ms)
            .unwrap_or(DEFAULT_PEERS_POLL_MS);
        if poll_ms == 0 {
            return Err("`peers_poll_ms` in --config: must be at least 1".to_owned());
        }
        Ok(NodeConfig {
            id,
            data_dir,
            raft: raft.unwrap_or_else(|| "127.0.0.1:0".to_owned()),
            kv: kv.unwrap_or_else(|| "127.0.0.1:0".to_owned()),
            admin,
            peers,
            peers_file,
            peers_poll: Duration::from_millis(poll_ms),
            cluster_id: self
                .cluster_id
                .or(file.cluster_id)
                .unwrap_or(DEFAULT_CLUSTER_ID),
            settings,
            metrics,
            tls,
            registry: registry_http(
                self.registry.clone(),
                file.registry,
                self.registry_peers.clone(),
                file.registry_peers,
                self.registry_client_auth.or(file.registry_client_auth),
                id,
            )?,
            lazy_fs,
            power_cut_at_sync,
        })
    }

    /// `--lazy-fs` (`lazy_fs`) and `--power-cut-at-sync` (`power_cut_at_sync`), checked: the
    /// power cut needs the lazy filesystem, and counts syncs from 1.
    fn lazy_fs_fields(&self, file: &NodeFile) -> Result<(bool, Option<u64>), String> {
        let lazy_fs = self.lazy_fs || file.lazy_fs.unwrap_or(false);
        let (cut, name) = match (self.power_cut_at_sync, file.power_cut_at_sync) {
            (Some(sync), _) => (Some(sync), "--power-cut-at-sync"),
            (None, sync) => (sync, "`power_cut_at_sync` in --config"),
        };
        if cut == Some(0) {
            return Err(format!("{name}: must be at least 1 (the first sync is 1)"));
        }
        if cut.is_some() && !lazy_fs {
            return Err(format!(
                "{name} needs --lazy-fs (`lazy_fs = true` in --config): without it the kernel \
                 keeps the unsynced writes, so a power cut cannot be made"
            ));
        }
        Ok((lazy_fs, cut))
    }
}

/// `--registry` (`registry`), its `--registry-peer`s (`registry_peers`) and
/// `--registry-client-auth` (`registry_client_auth`), each flag over its field, checked.
fn registry_http(
    flag: Option<String>,
    field: Option<String>,
    peer_flags: Vec<String>,
    peer_field: Option<Vec<String>>,
    client_auth: Option<ClientAuth>,
    id: u64,
) -> Result<Option<RegistryHttp>, String> {
    let (peer_texts, peer_source) = match (peer_flags.is_empty(), peer_field) {
        (false, _) => (peer_flags, "--registry-peer"),
        (true, Some(texts)) => (texts, "`registry_peers` in --config"),
        (true, None) => (Vec::new(), ""),
    };
    let (listen, name) = match (flag, field) {
        (Some(listen), _) => (listen, "--registry".to_owned()),
        (None, Some(listen)) => (listen, "`registry` in --config".to_owned()),
        (None, None) if !peer_texts.is_empty() => {
            return Err(format!(
                "{peer_source} needs --registry (`registry` in --config): where this node \
                 serves the registry"
            ));
        }
        (None, None) => return Ok(None),
    };
    node_args::check_listen_address(&listen, &name)?;
    let mut peers = Vec::new();
    for text in &peer_texts {
        peers.push(node_args::parse_peer(text, peer_source)?);
    }
    Ok(Some(RegistryHttp {
        listen,
        peers: node_args::merge_peers(id, peers)?,
        client_auth: client_auth.unwrap_or(ClientAuth::Required),
    }))
}

/// The three TLS files, all or none.
fn tls_files(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    ca: Option<PathBuf>,
) -> Result<Option<TlsFiles>, String> {
    match (cert, key, ca) {
        (None, None, None) => Ok(None),
        (Some(cert), Some(key), Some(ca)) => Ok(Some(TlsFiles { cert, key, ca })),
        (cert, key, ca) => {
            let missing: Vec<&str> = [
                (cert.is_none(), "--tls-cert (`tls_cert`)"),
                (key.is_none(), "--tls-key (`tls_key`)"),
                (ca.is_none(), "--tls-ca (`tls_ca`)"),
            ]
            .into_iter()
            .filter_map(|(missing, name)| missing.then_some(name))
            .collect();
            Err(format!(
                "TLS needs a certificate, its key and the CA: {} missing",
                missing.join(" and ")
            ))
        }
    }
}

/// What `rafty node` logs through `tracing` when `RUST_LOG` is not set: warnings (a refused
/// connection or TLS handshake, a refused peers file) and the peers file's changes.
pub const DEFAULT_LOG_FILTER: &str = "warn,rafty::peers_file=info";

/// Run `rafty node`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    // Fails only when a subscriber is already installed (a test calling this twice): keep it.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n1.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn flags_override_the_config_file() {
        let (dir, path) = config_file(
            "id = 1\ndata_dir = \"d\"\nraft = \"127.0.0.1:7001\"\ncluster_id = 9\n\
             peers = [\"2=127.0.0.1:7002\"]\n[settings]\nmax_append_entries = 7\n",
        );
        let args = Args {
            config: Some(path),
            raft: Some("127.0.0.1:7011".to_owned()),
            ..Args::default()
        };
        let config = args.config().unwrap();
        assert_eq!(config.raft, "127.0.0.1:7011", "the flag wins");
        assert_eq!(config.kv, "127.0.0.1:0", "neither: the default");
        assert_eq!(config.cluster_id, 9, "the file's");
        assert_eq!(config.data_dir, dir.path().join("d"));
        assert_eq!(config.peers, vec![(2, "127.0.0.1:7002".to_owned())]);
        assert_eq!(config.settings.max_append_entries, 7);
    }

    #[test]
    fn the_id_and_data_dir_are_required_from_one_or_the_other() {
        let error = Args::default().config().unwrap_err();
        assert!(error.contains("--id (or `id` in --config)"), "{error}");
        let (_dir, path) = config_file("id = 1\n");
        let args = Args {
            config: Some(path),
            ..Args::default()
        };
        let error = args.config().unwrap_err();
        assert!(error.contains("--data-dir (or `data_dir`"), "{error}");
    }

    #[test]
    fn a_bad_field_is_named() {
        let (_dir, path) = config_file("id = 1\ndata_dir = \"d\"\nraft = \"nowhere\"\n");
        let args = Args {
            config: Some(path),
            ..Args::default()
        };
        let error = args.config().unwrap_err();
        assert!(error.contains("`raft` in --config `nowhere`"), "{error}");
        let (_dir, path) = config_file("id = 0\n");
        let args = Args {
            config: Some(path),
            ..Args::default()
        };
        assert!(args.config().unwrap_err().contains("`id`"));
    }

    #[test]
    fn tls_needs_all_three_files() {
        let args = Args {
            id: Some(1),
            data_dir: Some("d".into()),
            tls_cert: Some("c.pem".into()),
            ..Args::default()
        };
        let error = args.config().unwrap_err();
        assert!(
            error.contains("--tls-key (`tls_key`) and --tls-ca (`tls_ca`) missing"),
            "{error}"
        );
    }

    fn file_args(text: &str) -> (tempfile::TempDir, Args) {
        let (dir, path) = config_file(&format!("id = 1\ndata_dir = \"d\"\n{text}"));
        let args = Args {
            config: Some(path),
            ..Args::default()
        };
        (dir, args)
    }

    #[test]
    fn the_registry_and_its_tls_mode_come_from_the_file_and_flags_override_them() {
        let (_dir, mut args) = file_args(
            "registry = \"127.0.0.1:7201\"\nregistry_peers = [\"2=127.0.0.1:7202\"]\n\
             registry_client_auth = \"optional\"\nmetrics = \"127.0.0.1:9100\"\n",
        );
        let registry = args.config().unwrap().registry.unwrap();
        assert_eq!(registry.listen, "127.0.0.1:7201");
        assert_eq!(registry.peers, vec![(2, "127.0.0.1:7202".to_owned())]);
        assert_eq!(registry.client_auth, ClientAuth::Optional);
        args.registry = Some("127.0.0.1:7301".to_owned());
        args.registry_peers = vec!["3=127.0.0.1:7303".to_owned()];
        args.registry_client_auth = Some(ClientAuth::Required);
        let config = args.config().unwrap();
        assert_eq!(config.metrics.as_deref(), Some("127.0.0.1:9100"));
        let registry = config.registry.unwrap();
        assert_eq!(registry.listen, "127.0.0.1:7301", "the flag wins");
        assert_eq!(registry.peers, vec![(3, "127.0.0.1:7303".to_owned())]);
        assert_eq!(registry.client_auth, ClientAuth::Required);
    }

    #[test]
    fn a_bad_registry_field_is_named() {
        let bad = [
            (
                "registry = \"nowhere\"\n",
                "`registry` in --config `nowhere`",
            ),
            (
                "registry = \"127.0.0.1:1\"\nregistry_peers = [\"x=h:1\"]\n",
                "`registry_peers` in --config",
            ),
            (
                "registry_peers = [\"2=127.0.0.1:7202\"]\n",
                "`registry_peers` in --config needs --registry",
            ),
            (
                "registry_client_auth = \"sometimes\"\n",
                ":3: `registry_client_auth = \"sometimes\"`",
            ),
            ("registry = 7201\n", ":3: `registry = 7201`"),
        ];
        for (text, named) in bad {
            let (_dir, args) = file_args(text);
            let error = args.config().unwrap_err();
            assert!(error.contains(named), "{text:?}: {error}");
        }
    }

    #[test]
    fn lazy_fs_comes_from_the_file_or_the_flag_and_a_bad_value_is_named() {
        let (_dir, mut args) = file_args("lazy_fs = true\npower_cut_at_sync = 7\n");
        let config = args.config().unwrap();
        assert!(config.lazy_fs);
        assert_eq!(config.power_cut_at_sync, Some(7));
        args.power_cut_at_sync = Some(9);
        assert_eq!(
            args.config().unwrap().power_cut_at_sync,
            Some(9),
            "the flag wins"
        );
        let (_dir, mut args) = file_args("lazy_fs = false\n");
        assert!(!args.config().unwrap().lazy_fs);
        args.lazy_fs = true;
        assert!(args.config().unwrap().lazy_fs, "the switch turns it on");
        let bad = [
            ("lazy_fs = \"yes\"\n", ":3: `lazy_fs = \"yes\"`"),
            ("lazy_fs = 1\n", ":3: `lazy_fs = 1`"),
            (
                "lazy_fs = true\npower_cut_at_sync = 0\n",
                "`power_cut_at_sync` in --config: must be at least 1",
            ),
            (
                "power_cut_at_sync = 3\n",
                "`power_cut_at_sync` in --config needs --lazy-fs",
            ),
            (
                "lazy_fs = true\npower_cut_at_sync = -1\n",
                ":4: `power_cut_at_sync = -1`",
            ),
        ];
        for (text, named) in bad {
            let (_dir, args) = file_args(text);
            let error = args.config().unwrap_err();
            assert!(error.contains(named), "{text:?}: {error}");
        }
    }

    #[test]
    fn peers_come_from_flags_or_a_file_not_both() {
        let (_dir, path) = config_file("peers_file = \"peers.toml\"\n");
        let args = Args {
            config: Some(path),
            id: Some(1),
            data_dir: Some("d".into()),
            peers: vec!["2=h:1".to_owned()],
            ..Args::default()
        };
        let error = args.config().unwrap_err();
        assert!(error.contains("not both"), "{error}");
    }
}
