//! Each refusal of mutual TLS, over an in-memory duplex, with its reason; certificates are made
//! here with rcgen (a CA, node and client certificates, a foreign CA), never stored.

use std::io;
use std::sync::Mutex;

use rcgen::{BasicConstraints, Certificate, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::DuplexStream;

use super::acceptor::secure;
use super::*;
use crate::tcp::frame::{encode_frame, read_frame};
use crate::tcp::handshake::{Hello, Protocol};
use crate::tcp::stream::Connector;

const CLUSTER: u64 = 1;

/// A certificate authority that signs certificates for the names given.
struct Authority {
    cert: Certificate,
    key: KeyPair,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        Authority { cert, key }
    }

    /// An identity named `name`, signed by this CA, trusting `trusted`.
    fn identity(&self, name: &str, trusted: &Authority) -> TlsIdentity {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        TlsIdentity::from_der(vec![cert.der().clone()], key, vec![trusted.der()]).unwrap()
    }

    fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }
}

/// Dials by handing over one end of a duplex.
struct Duplex(Mutex<Option<DuplexStream>>);

impl Connector for Duplex {
    type Stream = DuplexStream;

    async fn connect(&self, _: &str) -> io::Result<DuplexStream> {
        Ok(self.0.lock().unwrap().take().expect("dialled once"))
    }
}

/// The server side's outcome and the caller's, for a caller presenting `caller` and sending
/// `hello`, meaning to reach node `to`, and a server presenting `server`.
async fn connect(
    caller: &TlsIdentity,
    to: u64,
    hello: Hello,
    server: &TlsIdentity,
) -> (Result<Hello, String>, io::Result<()>) {
    let (near, far) = tokio::io::duplex(1 << 16);
    let acceptor = tokio_rustls::TlsAcceptor::from(server.server_config().unwrap());
    let serving = tokio::spawn(async move {
        let mut stream = secure(&acceptor, far, CLUSTER).await?;
        // The hello checked is replayed to whatever reads the connection next.
        let hello: Hello = read_frame(&mut stream, 1024)
            .await
            .map_err(|e| e.to_string())?;
        Ok(hello)
    });
    let connector = TlsConnector::new(Duplex(Mutex::new(Some(near))), caller, CLUSTER, to).unwrap();
    let calling = async {
        let mut stream = connector.connect("node").await?;
        let frame = encode_frame(&hello, 1024).unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, &frame).await?;
        tokio::io::AsyncWriteExt::flush(&mut stream).await?;
        Ok(stream)
    };
    let called: io::Result<_> = calling.await;
    // The caller's end stays open until the server has judged it.
    let served = serving.await.unwrap();
    (served, called.map(drop))
}

fn hello_from(node: Option<u64>, cluster: u64) -> Hello {
    Hello::new(Protocol::Raft, cluster, node, Some(1))
}

#[tokio::test]
async fn a_node_with_its_own_certificate_is_accepted_and_its_hello_replayed() {
    let ca = Authority::new("cluster CA");
    let server = ca.identity(&node_name(CLUSTER, 1), &ca);
    let caller = ca.identity(&node_name(CLUSTER, 2), &ca);
    let hello = hello_from(Some(2), CLUSTER);
    let (served, called) = connect(&caller, 1, hello.clone(), &server).await;
    called.unwrap();
    assert_eq!(served, Ok(hello));
}

#[tokio::test]
async fn a_client_with_a_client_certificate_is_accepted() {
    let ca = Authority::new("cluster CA");
    let server = ca.identity(&node_name(CLUSTER, 1), &ca);
    let caller = ca.identity(&client_name(CLUSTER), &ca);
    let hello = Hello::new(Protocol::Commands, CLUSTER, None, None);
    let (served, _) = connect(&caller, 1, hello.clone(), &server).await;
    assert_eq!(served, Ok(hello));
}

#[tokio::test]
async fn a_caller_whose_certificate_another_ca_signed_is_refused() {
    let (ca, foreign) = (Authority::new("cluster CA"), Authority::new("foreign CA"));
    let server = ca.identity(&node_name(CLUSTER, 1), &ca);
    let caller = foreign.identity(&node_name(CLUSTER, 2), &ca);
    let (served, _) = connect(&caller, 1, hello_from(Some(2), CLUSTER), &server).await;
    let reason = served.unwrap_err();
    assert!(reason.starts_with("TLS handshake failed"), "{reason}");
    assert!(reason.contains("UnknownIssuer"), "{reason}");
}

#[tokio::test]
async fn a_caller_without_a_certificate_is_refused() {
    let ca = Authority::new("cluster CA");
    let server = ca.identity(&node_name(CLUSTER, 1), &ca);
    let (near, far) = tokio::io::duplex(1 << 16);
    let acceptor = tokio_rustls::TlsAcceptor::from(server.server_config().unwrap());
    let serving = tokio::spawn(async move { secure(&acceptor, far, CLUSTER).await.map(|_| ()) });
    #[allow(deprecated)]
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der()).unwrap();
    let anonymous = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(node_name(CLUSTER, 1)).unwrap();
    let calling = tokio_rustls::TlsConnector::from(std::sync::Arc::new(anonymous))
        .connect(name, near)
        .await;
    // TLS 1.3 lets the caller finish before the server has judged its (absent) certificate.
    if let Ok(mut stream) = calling {
        let frame = encode_frame(&hello_from(Some(2), CLUSTER), 1024).unwrap();
        let _ = tokio::io::AsyncWriteExt::write_all(&mut stream, &frame).await;
    }
    let reason = serving.await.unwrap().unwrap_err();
    assert!(reason.starts_with("TLS handshake failed"), "{reason}");
    assert!(reason.contains("no certificates"), "{reason}");
}

#[tokio::test]
async fn a_node_claiming_another_node_id_is_refused() {
    let ca = Authority::new("cluster CA");
    let server = ca.identity(&node_name(CLUSTER, 1), &ca);
    let caller = ca.identity(&node_name(CLUSTER, 3), &ca);
    let (served, _) = connect(&caller, 1, hello_from(Some(2), CLUSTER), &server).await;
    let reason = served.unwrap_err();
    assert!(
        reason.contains("says it is node 2 of cluster 1, but its certificate does not name node-2.cluster-1.rafty"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_node_of_another_cluster_is_refused() {
    let ca = Authority::new("cluster CA");
    let server = ca.identity(&node_name(CLUSTER, 1), &ca);
    // Signed by the same CA, but for cluster 9, claiming to be of cluster 1.
    let caller = ca.identity(&node_name(9, 2), &ca);
    let (served, _) = connect(&caller, 1, hello_from(Some(2), CLUSTER), &server).await;
    let reason = served.unwrap_err();
    assert!(
        reason.contains("does not name node-2.cluster-1.rafty"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_client_certificate_cannot_pose_as_a_node() {
    let ca = Authority::new("cluster CA");
    let server = ca.identity(&node_name(CLUSTER, 1), &ca);
    let caller = ca.identity(&client_name(CLUSTER), &ca);
    let (served, _) = connect(&caller, 1, hello_from(Some(2), CLUSTER), &server).await;
    assert!(served.unwrap_err().contains("says it is node 2"));
}

#[tokio::test]
async fn a_server_that_is_not_the_node_dialled_is_refused_by_the_caller() {
    let ca = Authority::new("cluster CA");
    let server = ca.identity(&node_name(CLUSTER, 3), &ca);
    let caller = ca.identity(&node_name(CLUSTER, 2), &ca);
    let (_, called) = connect(&caller, 1, hello_from(Some(2), CLUSTER), &server).await;
    let error = called.unwrap_err().to_string();
    assert!(error.contains("not valid for name"), "{error}");
}

#[test]
fn a_missing_or_empty_pem_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let absent = dir.path().join("absent.pem");
    let error = TlsIdentity::load(&empty, &absent, &absent).unwrap_err();
    assert!(error.to_string().starts_with("certificate "), "{error}");
    assert!(
        error.to_string().contains("empty.pem: no certificate"),
        "{error}"
    );
}
