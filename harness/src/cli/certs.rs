//! `rafty certs`: the certificates of a cluster's mutual TLS, made with rcgen into a directory.
//!
//! ```text
//! rafty certs --cluster-id 1 --nodes 1,2,3 --clients admin --out certs/
//! ```
//!
//! writes `ca.pem` and `ca.key` (the cluster's certificate authority), `node-<ID>.pem` and
//! `node-<ID>.key` per node (a certificate naming `node-<ID>.cluster-<CLUSTER>.rafty`, the name
//! [`rafty::tcp::tls::node_name`] that peers check, and the `--hosts` names so that HTTPS
//! clients such as curl accept it) and `<NAME>.pem`, `<NAME>.key` per client (naming
//! `client.cluster-<CLUSTER>.rafty`, [`rafty::tcp::tls::client_name`]). Keys are written
//! readable by their owner only.
//!
//! Nothing is overwritten: when a file to be written exists, nothing is written and the error
//! names it. A directory that already holds `ca.pem` and `ca.key` (made by this command) keeps
//! its CA, which signs the new certificates: that is how a node is added to a running cluster.
//!
//! Exit code 0 when every file was written, 2 otherwise.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use rafty::NodeId;
use rafty::tcp::tls::{client_name, node_name};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The common name of every CA this command makes: children name their issuer by it, so a CA
/// read back from `ca.key` signs certificates that chain to the `ca.pem` written beside it.
pub const CA_COMMON_NAME: &str = "rafty cluster CA";

/// Arguments of `rafty certs`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The cluster id the certificates name (the nodes' `--cluster-id`).
    #[arg(long, default_value_t = super::node::DEFAULT_CLUSTER_ID)]
    pub cluster_id: u64,
    /// The nodes to certify, comma separated (`1,2,3`).
    #[arg(long, value_delimiter = ',', value_parser = node_id)]
    pub nodes: Vec<NodeId>,
    /// The clients to certify, comma separated (`admin,app`): each name is a file name
    /// (`admin.pem`, `admin.key`); every client certificate names this cluster's client.
    #[arg(long, value_delimiter = ',', value_parser = client_file_name)]
    pub clients: Vec<String>,
    /// Further names every node certificate carries (DNS names or IP addresses), for HTTPS
    /// clients that check the host they dialled (the registry's API, `curl`).
    #[arg(long, value_delimiter = ',', default_value = "localhost,127.0.0.1")]
    pub hosts: Vec<String>,
    /// The directory to write into (created when missing).
    #[arg(long)]
    pub out: PathBuf,
}

fn node_id(text: &str) -> Result<NodeId, String> {
    match text.parse::<NodeId>() {
        Ok(0) => Err("node ids start at 1".to_owned()),
        Ok(id) => Ok(id),
        Err(_) => Err(format!("`{text}` is not a node id (a positive integer)")),
    }
}

fn client_file_name(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if text.is_empty() || !text.chars().all(allowed) || text.starts_with("node-") || text == "ca" {
        return Err(format!(
            "`{text}` is not a client name: letters, digits, `-` and `_`, neither `ca` nor \
             starting with `node-`"
        ));
    }
    Ok(text.to_owned())
}

/// One file to write: its name in the directory and its PEM text.
struct Pem {
    name: String,
    text: String,
    private: bool,
}

/// Make the certificates `args` asks for and write them; returns the files written.
pub fn make(args: &Args) -> Result<Vec<PathBuf>, String> {
    if args.nodes.is_empty() && args.clients.is_empty() {
        return Err("nothing to make: give --nodes and/or --clients".to_owned());
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|error| format!("--out {}: {error}", args.out.display()))?;
    let (ca, ca_files) = authority(&args.out)?;
    let mut files = ca_files;
    for id in &args.nodes {
        let mut names = vec![node_name(args.cluster_id, *id)];
        names.extend(args.hosts.iter().cloned());
        let usages = [
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        files.extend(leaf(&ca, &format!("node-{id}"), names, &usages)?);
    }
    for client in &args.clients {
        let names = vec![client_name(args.cluster_id)];
        files.extend(leaf(
            &ca,
            client,
            names,
            &[ExtendedKeyUsagePurpose::ClientAuth],
        )?);
    }
    // Checked whole before anything is written: a refusal leaves the directory as it was.
    for file in &files {
        let path = args.out.join(&file.name);
        if path.exists() {
            return Err(format!(
                "{} exists: not overwriting it (remove it, or write to another --out)",
                path.display()
            ));
        }
    }
    let mut written = Vec::new();
    for file in &files {
        let path = args.out.join(&file.name);
        write_new(&path, &file.text, file.private)?;
        written.push(path);
    }
    Ok(written)
}

/// The CA of `dir`: read back from `ca.pem` and `ca.key` when both exist (no file to write),
/// else a new one and its two files.
fn authority(dir: &Path) -> Result<((Certificate, KeyPair), Vec<Pem>), String> {
    let (cert_path, key_path) = (dir.join("ca.pem"), dir.join("ca.key"));
    let existing = (cert_path.exists(), key_path.exists());
    let key = match existing {
        (true, true) => {
            let text = std::fs::read_to_string(&key_path)
                .map_err(|error| format!("{}: {error}", key_path.display()))?;
            KeyPair::from_pem(&text)
                .map_err(|error| format!("{}: not a private key: {error}", key_path.display()))?
        }
        (false, false) => KeyPair::generate().map_err(|error| format!("a CA key: {error}"))?,
        (true, false) | (false, true) => {
            return Err(format!(
                "{} holds one of ca.pem and ca.key: both are needed to sign with it",
                dir.display()
            ));
        }
    };
    let mut params =
        CertificateParams::new(Vec::<String>::new()).map_err(|error| format!("the CA: {error}"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params
        .self_signed(&key)
        .map_err(|error| format!("the CA: {error}"))?;
    let files = if existing == (true, true) {
        Vec::new()
    } else {
        vec![
            Pem {
                name: "ca.pem".to_owned(),
                text: cert.pem(),
                private: false,
            },
            Pem {
                name: "ca.key".to_owned(),
                text: key.serialize_pem(),
                private: true,
            },
        ]
    };
    Ok(((cert, key), files))
}

/// A certificate for `names`, signed by `ca`, as `<stem>.pem` and `<stem>.key`.
fn leaf(
    (ca, ca_key): &(Certificate, KeyPair),
    stem: &str,
    names: Vec<String>,
    usages: &[ExtendedKeyUsagePurpose],
) -> Result<Vec<Pem>, String> {
    let key = KeyPair::generate().map_err(|error| format!("{stem}: {error}"))?;
    let mut params = CertificateParams::new(names.clone())
        .map_err(|error| format!("{stem}: a name of {names:?}: {error}"))?;
    params
        .distinguished_name
        .push(DnType::CommonName, names[0].as_str());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = usages.to_vec();
    let cert = params
        .signed_by(&key, ca, ca_key)
        .map_err(|error| format!("{stem}: {error}"))?;
    Ok(vec![
        Pem {
            name: format!("{stem}.pem"),
            text: cert.pem(),
            private: false,
        },
        Pem {
            name: format!("{stem}.key"),
            text: key.serialize_pem(),
            private: true,
        },
    ])
}

/// Write `text` to a file that must not exist; a key is readable by its owner only.
fn write_new(path: &Path, text: &str, private: bool) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = OpenOptions::new();
    options
        .write(true)
        .create_new(true)
        .mode(if private { 0o600 } else { 0o644 });
    let mut file = options
        .open(path)
        .map_err(|error| format!("{}: {error}", path.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| format!("{}: {error}", path.display()))
}

/// Run `rafty certs`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    match make(args) {
        Ok(written) => {
            for path in written {
                println!("{}", path.display());
            }
            0
        }
        Err(error) => {
            eprintln!("rafty certs: {error}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rafty::tcp::tls::TlsIdentity;

    fn args(out: &Path, nodes: &[NodeId], clients: &[&str]) -> Args {
        Args {
            cluster_id: 7,
            nodes: nodes.to_vec(),
            clients: clients.iter().map(|c| c.to_string()).collect(),
            hosts: vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            out: out.to_owned(),
        }
    }

    #[test]
    fn every_file_is_written_and_loads_as_an_identity() {
        let dir = tempfile::tempdir().unwrap();
        let written = make(&args(dir.path(), &[1, 2], &["admin"])).unwrap();
        let names: Vec<_> = written
            .iter()
            .map(|path| path.file_name().unwrap().to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "ca.pem",
                "ca.key",
                "node-1.pem",
                "node-1.key",
                "node-2.pem",
                "node-2.key",
                "admin.pem",
                "admin.key"
            ]
        );
        let file = |name: &str| dir.path().join(name);
        for stem in ["node-1", "node-2", "admin"] {
            let identity = TlsIdentity::load(
                &file(&format!("{stem}.pem")),
                &file(&format!("{stem}.key")),
                &file("ca.pem"),
            )
            .unwrap();
            identity.server_config().unwrap();
            identity.client_config().unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file("node-1.key")).unwrap().permissions();
        assert_eq!(mode.mode() & 0o777, 0o600, "a key is its owner's only");
    }

    #[test]
    fn nothing_is_overwritten_and_a_refusal_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        make(&args(dir.path(), &[1], &[])).unwrap();
        let before = std::fs::read(dir.path().join("node-1.pem")).unwrap();
        let error = make(&args(dir.path(), &[2, 1], &[])).unwrap_err();
        assert!(
            error.contains("node-1.pem exists: not overwriting"),
            "{error}"
        );
        assert!(!dir.path().join("node-2.pem").exists(), "nothing written");
        assert_eq!(
            std::fs::read(dir.path().join("node-1.pem")).unwrap(),
            before
        );
    }

    #[test]
    fn a_directory_with_a_ca_keeps_it_for_new_nodes() {
        let dir = tempfile::tempdir().unwrap();
        make(&args(dir.path(), &[1], &[])).unwrap();
        let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
        let written = make(&args(dir.path(), &[4], &[])).unwrap();
        assert_eq!(written.len(), 2, "node-4's two files only: {written:?}");
        assert_eq!(std::fs::read(dir.path().join("ca.pem")).unwrap(), ca);
    }

    #[test]
    fn half_a_ca_and_bad_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "x").unwrap();
        let error = make(&args(dir.path(), &[1], &[])).unwrap_err();
        assert!(error.contains("both are needed"), "{error}");
        assert!(client_file_name("../x").is_err());
        assert!(client_file_name("ca").is_err());
        assert!(client_file_name("node-1").is_err());
        assert!(node_id("0").unwrap_err().contains("start at 1"));
        let empty = make(&args(dir.path(), &[], &[])).unwrap_err();
        assert!(empty.contains("nothing to make"), "{empty}");
    }
}
