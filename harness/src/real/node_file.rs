//! `rafty node --config FILE`: a node's configuration as one TOML file. Every field is
//! optional here; a flag given on the command line overrides the file's field of the same
//! name, and what neither gives keeps the flag's default. An error names the file, the line
//! and the field.
//!
//! ```toml
//! id = 1                           # --id: the node's id, from 1
//! data_dir = "data/n1"             # --data-dir: its file log and snapshots
//! raft = "10.0.0.1:7001"           # --raft: where it answers Raft calls
//! kv = "10.0.0.1:7101"             # --kv: where it serves the key-value service
//! admin = "127.0.0.1:7201"         # --admin: the membership admin service (none if absent)
//! cluster_id = 7                   # --cluster-id: every handshake carries it
//! peers = ["2=10.0.0.2:7001"]      # --peer: static peers, ID=HOST:PORT
//! peers_file = "peers.toml"        # --peers-file: peers from a watched TOML file
//! peers_poll_ms = 1000             # --peers-poll-ms: how often that file is re-read
//! metrics = "127.0.0.1:9100"       # --metrics-addr: Prometheus /metrics (none if absent)
//! tls_cert = "n1.pem"              # --tls-cert: this node's certificate chain (PEM)
//! tls_key = "n1.key"               # --tls-key: its private key (PEM)
//! tls_ca = "ca.pem"                # --tls-ca: the cluster's certificate authority (PEM)
//! registry = "10.0.0.1:7201"       # --registry: serve the service registry's HTTP API here
//! registry_peers = ["2=10.0.0.2:7201"]  # --registry-peer: the others' registry addresses
//! registry_client_auth = "optional"     # --registry-client-auth: required (default) or optional
//! lazy_fs = true                   # --lazy-fs: unsynced writes in memory; SIGUSR1 cuts power
//! power_cut_at_sync = 40           # --power-cut-at-sync: cut the power inside the 40th sync
//!
//! [settings]                       # --settings: rafty::Config fields; the rest default
//! max_append_entries = 256
//! heartbeat_interval = { secs = 0, nanos = 50000000 }
//! ```
//!
//! Relative paths in the file are taken from the file's own directory, so a config file and
//! the files it names travel together. `--lazy-fs` is a switch: given, it turns `lazy_fs` on
//! whatever the file says; not given, the file's `lazy_fs` holds (default `false`).

use std::path::{Path, PathBuf};

use rafty::Settings;
use serde::Deserialize;

/// The fields of a node config file, each optional (see the [module docs](self)).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// The node's id, from 1 (`--id`).
    pub id: Option<u64>,
    /// Its data directory (`--data-dir`).
    pub data_dir: Option<PathBuf>,
    /// Where it answers Raft calls, `HOST:PORT` (`--raft`).
    pub raft: Option<String>,
    /// Where it serves the key-value service (`--kv`).
    pub kv: Option<String>,
    /// Where it serves the admin service (`--admin`).
    pub admin: Option<String>,
    /// The cluster id (`--cluster-id`).
    pub cluster_id: Option<u64>,
    /// Static peers, each `ID=HOST:PORT` (`--peer`).
    pub peers: Option<Vec<String>>,
    /// A peers file, watched for changes (`--peers-file`).
    pub peers_file: Option<PathBuf>,
    /// How often the peers file is re-read, in milliseconds (`--peers-poll-ms`).
    pub peers_poll_ms: Option<u64>,
    /// Where to serve Prometheus metrics (`--metrics-addr`).
    pub metrics: Option<String>,
    /// This node's certificate chain, PEM (`--tls-cert`).
    pub tls_cert: Option<PathBuf>,
    /// Its private key, PEM (`--tls-key`).
    pub tls_key: Option<PathBuf>,
    /// The certificate authority every node's certificate is signed by, PEM (`--tls-ca`).
    pub tls_ca: Option<PathBuf>,
    /// Where to serve the service registry's HTTP API (`--registry`).
    pub registry: Option<String>,
    /// The other nodes' registry addresses, each `ID=HOST:PORT` (`--registry-peer`).
    pub registry_peers: Option<Vec<String>>,
    /// With TLS, whether registry clients must present a certificate
    /// (`--registry-client-auth`: `required` or `optional`).
    pub registry_client_auth: Option<rafty::tcp::tls::ClientAuth>,
    /// Keep unsynced writes in the process's memory, so that SIGUSR1 is a power cut
    /// (`--lazy-fs`): `true` or `false`.
    pub lazy_fs: Option<bool>,
    /// With `lazy_fs`, cut the power inside the Nth sync, from 1 (`--power-cut-at-sync`).
    pub power_cut_at_sync: Option<u64>,
    /// Raft settings (`--settings`): `rafty::Config` fields, the others default.
    pub settings: Option<rafty::Config>,
}

impl NodeFile {
    /// Read and parse `path`; relative paths in it are made relative to its directory. The
    /// error names the file, the line, the line's text and what was wrong with it.
    pub fn read(path: &Path) -> Result<NodeFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("--config {}: {error}", path.display()))?;
        let mut file = NodeFile::parse(&text, path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for field in [
            &mut file.data_dir,
            &mut file.peers_file,
            &mut file.tls_cert,
            &mut file.tls_key,
            &mut file.tls_ca,
        ]
        .into_iter()
        .flatten()
        {
            if field.is_relative() {
                *field = base.join(&*field);
            }
        }
        Ok(file)
    }

    /// Parse a config file's text (`path` only names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<NodeFile, String> {
        let file: NodeFile = toml::from_str(text).map_err(|error| {
            let message = error.message().trim().to_owned();
            match error.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    let shown = text.lines().nth(line - 1).unwrap_or_default().trim();
                    format!("--config {}:{line}: `{shown}`: {message}", path.display())
                }
                None => format!("--config {}: {message}", path.display()),
            }
        })?;
        if let Some(settings) = &file.settings {
            settings
                .validate()
                .map_err(|error| format!("--config {}: [settings]: {error}", path.display()))?;
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<NodeFile, String> {
        NodeFile::parse(text, Path::new("n1.toml"))
    }

    #[test]
    fn every_field_of_the_documented_example_parses() {
        let example: String = include_str!("node_file.rs")
            .lines()
            .skip_while(|line| *line != "//! ```toml")
            .skip(1)
            .take_while(|line| *line != "//! ```")
            .map(|line| line.trim_start_matches("//!").trim_start().to_owned() + "\n")
            .collect();
        let file = parse(&example).unwrap();
        assert_eq!(file.id, Some(1));
        assert_eq!(file.peers_poll_ms, Some(1000));
        assert_eq!(file.tls_ca.as_deref(), Some(Path::new("ca.pem")));
        assert_eq!(file.registry.as_deref(), Some("10.0.0.1:7201"));
        assert_eq!(
            file.registry_peers,
            Some(vec!["2=10.0.0.2:7201".to_owned()])
        );
        assert_eq!(
            file.registry_client_auth,
            Some(rafty::tcp::tls::ClientAuth::Optional)
        );
        assert_eq!(file.lazy_fs, Some(true));
        assert_eq!(file.power_cut_at_sync, Some(40));
        let settings = file.settings.unwrap();
        assert_eq!(settings.max_append_entries, 256);
        assert_eq!(settings.heartbeat_interval.as_millis(), 50);
    }

    #[test]
    fn an_unknown_field_is_named_with_its_line() {
        let error = parse("id = 1\nrfat = \"h:1\"\n").unwrap_err();
        assert!(
            error.starts_with("--config n1.toml:2: `rfat = \"h:1\"`"),
            "{error}"
        );
        assert!(error.contains("rfat"), "{error}");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_with_its_line() {
        let error = parse("id = 1\n\nraft = 7001\n").unwrap_err();
        assert!(
            error.starts_with("--config n1.toml:3: `raft = 7001`"),
            "{error}"
        );
    }

    #[test]
    fn bad_settings_name_the_field() {
        let error = parse("[settings]\nmax_append_entries = 0\n").unwrap_err();
        assert!(error.contains("[settings]"), "{error}");
        assert!(error.contains("max_append_entries"), "{error}");
        let error = parse("[settings]\nmax_append_entriez = 3\n").unwrap_err();
        assert!(error.contains(":2:"), "{error}");
        assert!(error.contains("max_append_entriez"), "{error}");
    }

    #[test]
    fn relative_paths_are_taken_from_the_file_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n1.toml");
        std::fs::write(&path, "data_dir = \"data/n1\"\ntls_ca = \"/etc/ca.pem\"\n").unwrap();
        let file = NodeFile::read(&path).unwrap();
        assert_eq!(file.data_dir, Some(dir.path().join("data/n1")));
        assert_eq!(file.tls_ca, Some(PathBuf::from("/etc/ca.pem")));
    }
}
