//! The registry's HTTPS listener: a client certificate of the cluster is served; each refusal
//! (no client certificate when required, a certificate of another CA, one of another cluster)
//! closes the connection and is logged with its reason, at most once per client address per
//! interval; with client certificates optional, a client without one is served. Certificates
//! are made here with rcgen, never stored.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use rafty::tcp::tls::{ClientAuth, TlsIdentity, client_name, node_name};
use rafty_registry::https::HttpsListener;
use rcgen::{BasicConstraints, Certificate, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CLUSTER: u64 = 1;

struct Authority {
    cert: Certificate,
    key: KeyPair,
}

impl Authority {
    fn new() -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        Authority {
            cert: params.self_signed(&key).unwrap(),
            key,
        }
    }

    /// A certificate for `names` and its key, signed by this CA.
    fn issue(&self, names: &[&str]) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let params = CertificateParams::new(names).unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        (cert.der().clone(), key)
    }
}

/// Log lines written while a test runs (the runtime is current-thread: one subscriber sees
/// the listener's tasks too).
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Serve "ok" at `/` over HTTPS with a node certificate of the cluster; returns the address.
async fn serve(ca: &Authority, client_auth: ClientAuth) -> std::net::SocketAddr {
    let (cert, key) = ca.issue(&[&node_name(CLUSTER, 1), "localhost"]);
    let identity = TlsIdentity::from_der(vec![cert], key, vec![ca.cert.der().clone()]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let https = HttpsListener::new(listener, &identity, CLUSTER, client_auth).unwrap();
    let addr = axum::serve::Listener::local_addr(&https).unwrap();
    let router = Router::new().route("/", get(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(https, router).await });
    addr
}

/// GET / with `client` (a certificate and key, or none), trusting `ca`: the response, or the
/// error that ended the exchange.
async fn get_root(
    addr: std::net::SocketAddr,
    ca: &Authority,
    client: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>,
) -> Result<String, String> {
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.cert.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
        None => builder.with_no_client_auth(),
    };
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| e.to_string())?;
    let request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    if response.is_empty() {
        return Err("closed without an answer".to_owned());
    }
    Ok(response)
}

/// Run `test` with a subscriber capturing the log lines.
async fn logged<F: std::future::Future<Output = ()>>(lines: &Lines, test: F) {
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    test.await;
}

/// Poll (bounded) until the log holds `text`.
async fn wait_for_line(lines: &Lines, text: &str) {
    for _ in 0..200 {
        if lines.text().contains(text) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("no log line with {text:?}: {}", lines.text());
}

#[tokio::test]
async fn a_client_certificate_of_the_cluster_is_served() {
    let ca = Authority::new();
    let addr = serve(&ca, ClientAuth::Required).await;
    let response = get_root(addr, &ca, Some(ca.issue(&[&client_name(CLUSTER)])))
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
}

#[tokio::test]
async fn without_a_client_certificate_a_required_one_is_refused_and_logged() {
    let lines = Lines::default();
    logged(&lines, async {
        let ca = Authority::new();
        let addr = serve(&ca, ClientAuth::Required).await;
        let answer = get_root(addr, &ca, None).await;
        assert!(answer.is_err(), "{answer:?}");
        wait_for_line(&lines, "TLS connection refused").await;
    })
    .await;
    let text = lines.text();
    assert!(text.contains("TLS handshake failed"), "{text}");
    assert!(text.contains("no certificates"), "{text}");
}

#[tokio::test]
async fn with_client_certificates_optional_a_client_without_one_is_served() {
    let ca = Authority::new();
    let addr = serve(&ca, ClientAuth::Optional).await;
    let response = get_root(addr, &ca, None).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
}

#[tokio::test]
async fn a_client_certificate_of_another_ca_is_refused_even_when_optional() {
    let lines = Lines::default();
    logged(&lines, async {
        let (ca, foreign) = (Authority::new(), Authority::new());
        let addr = serve(&ca, ClientAuth::Optional).await;
        let answer = get_root(addr, &ca, Some(foreign.issue(&[&client_name(CLUSTER)]))).await;
        assert!(answer.is_err(), "{answer:?}");
        wait_for_line(&lines, "TLS connection refused").await;
    })
    .await;
    assert!(
        lines
            .text()
            .contains("TLS handshake failed: invalid peer certificate"),
        "{}",
        lines.text()
    );
}

#[tokio::test]
async fn a_client_certificate_of_another_cluster_is_refused_naming_the_one_expected() {
    let lines = Lines::default();
    logged(&lines, async {
        let ca = Authority::new();
        let addr = serve(&ca, ClientAuth::Required).await;
        let answer = get_root(addr, &ca, Some(ca.issue(&[&client_name(9)]))).await;
        assert!(answer.is_err(), "{answer:?}");
        wait_for_line(&lines, "TLS connection refused").await;
    })
    .await;
    let text = lines.text();
    assert!(
        text.contains("the client's certificate does not name client.cluster-1.rafty"),
        "{text}"
    );
}

#[tokio::test]
async fn refusals_from_one_address_are_logged_once_per_interval_with_a_count() {
    let lines = Lines::default();
    logged(&lines, async {
        let ca = Authority::new();
        let addr = serve(&ca, ClientAuth::Required).await;
        for _ in 0..5 {
            assert!(get_root(addr, &ca, None).await.is_err());
        }
        wait_for_line(&lines, "TLS connection refused").await;
        // The five refusals are handled concurrently: let the last ones finish.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    })
    .await;
    let text = lines.text();
    assert_eq!(
        text.matches("TLS connection refused").count(),
        1,
        "one line for five refusals from 127.0.0.1 within the interval: {text}"
    );
    assert!(text.contains("refusals=1"), "{text}");
}
