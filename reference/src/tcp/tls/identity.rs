//! A node's (or client's) TLS identity: its certificate chain, its key and the cluster's CA,
//! and the rustls configurations made from them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Why TLS could not be set up: the file and what was wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or held nothing usable.
    #[error("{what} {}: {reason}", path.display())]
    File {
        /// Which file (`certificate`, `key`, `CA`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the configuration (a key that does not match its certificate, say).
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A certificate chain, its private key and the roots its peers must chain to.
#[derive(Debug)]
pub struct TlsIdentity {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    roots: Arc<RootCertStore>,
}

impl Clone for TlsIdentity {
    fn clone(&self) -> Self {
        TlsIdentity {
            certs: self.certs.clone(),
            key: self.key.clone_key(),
            roots: self.roots.clone(),
        }
    }
}

fn bad_file(what: &'static str, path: &Path, reason: impl ToString) -> TlsError {
    TlsError::File {
        what,
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

impl TlsIdentity {
    /// Read PEM files: `cert` (the chain, its own certificate first), `key` (PKCS#8, PKCS#1
    /// or SEC1) and `ca` (one or more CA certificates).
    pub fn load(cert: &Path, key: &Path, ca: &Path) -> Result<TlsIdentity, TlsError> {
        let read = |what, path: &Path| std::fs::read(path).map_err(|e| bad_file(what, path, e));
        let certs = parse_certs(&read("certificate", cert)?)
            .map_err(|reason| bad_file("certificate", cert, reason))?;
        let key = PrivateKeyDer::from_pem_slice(&read("key", key)?)
            .map_err(|error| bad_file("key", key, format!("no private key: {error}")))?;
        let ca_certs =
            parse_certs(&read("CA", ca)?).map_err(|reason| bad_file("CA", ca, reason))?;
        TlsIdentity::from_der(certs, key, ca_certs)
            .map_err(|error| bad_file("CA", ca, error.to_string()))
    }

    /// An identity from DER values already in memory.
    pub fn from_der(
        certs: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        ca_certs: Vec<CertificateDer<'static>>,
    ) -> Result<TlsIdentity, TlsError> {
        let mut roots = RootCertStore::empty();
        for ca in ca_certs {
            roots
                .add(ca)
                .map_err(|error| TlsError::Config(format!("a CA certificate: {error}")))?;
        }
        Ok(TlsIdentity {
            certs,
            key,
            roots: Arc::new(roots),
        })
    }

    /// The server side: present this identity, require a client certificate chaining to the
    /// CA.
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = provider();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(self.roots.clone(), provider.clone())
                .build()
                .map_err(|error| TlsError::Config(error.to_string()))?;
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Config(error.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.certs.clone(), self.key.clone_key())
            .map_err(|error| TlsError::Config(error.to_string()))?;
        Ok(Arc::new(config))
    }

    /// An HTTPS server's side (the service registry's API): present this identity, speak
    /// HTTP/1.1, and ask for a client certificate chaining to the CA, which `client_auth` says
    /// whether a client must present. Which name the certificate must carry is the server's
    /// to check ([`certificate_names`]).
    pub fn https_server_config(
        &self,
        client_auth: ClientAuth,
    ) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = provider();
        let builder =
            WebPkiClientVerifier::builder_with_provider(self.roots.clone(), provider.clone());
        let verifier = match client_auth {
            ClientAuth::Required => builder.build(),
            ClientAuth::Optional => builder.allow_unauthenticated().build(),
        }
        .map_err(|error| TlsError::Config(error.to_string()))?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Config(error.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.certs.clone(), self.key.clone_key())
            .map_err(|error| TlsError::Config(error.to_string()))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// The calling side: present this identity, require a server certificate chaining to the
    /// CA (the name it must carry is the connector's).
    pub fn client_config(&self) -> Result<Arc<ClientConfig>, TlsError> {
        let provider = provider();
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Config(error.to_string()))?
            .with_root_certificates(self.roots.clone())
            .with_client_auth_cert(self.certs.clone(), self.key.clone_key())
            .map_err(|error| TlsError::Config(error.to_string()))?;
        Ok(Arc::new(config))
    }
}

/// Whether a server requires its clients to present a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// A client without a certificate chaining to the CA is refused.
    Required,
    /// A client may present none; one it presents must still chain to the CA.
    Optional,
}

impl std::str::FromStr for ClientAuth {
    type Err = String;

    fn from_str(text: &str) -> Result<ClientAuth, String> {
        match text {
            "required" => Ok(ClientAuth::Required),
            "optional" => Ok(ClientAuth::Optional),
            other => Err(format!("`{other}` is neither `required` nor `optional`")),
        }
    }
}

/// Whether `certificate` carries the DNS name `name`; an error when it cannot be read.
pub fn certificate_names(certificate: &CertificateDer<'_>, name: &str) -> Result<bool, String> {
    let parsed = rustls::server::ParsedCertificate::try_from(certificate)
        .map_err(|error| format!("the certificate cannot be read: {error}"))?;
    let server_name = rustls::pki_types::ServerName::try_from(name)
        .map_err(|error| format!("`{name}`: {error}"))?
        .to_owned();
    Ok(rustls::client::verify_server_name(&parsed, &server_name).is_ok())
}

/// Every certificate of a PEM text; at least one.
fn parse_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("not a PEM certificate: {error}"))?;
    if certs.is_empty() {
        return Err("no certificate in it".to_owned());
    }
    Ok(certs)
}

/// The ring provider: it builds with a C compiler alone (aws-lc-rs needs cmake). rustls 0.23.48
/// deprecates it for lacking post-quantum key exchange; the classical suites it offers are the
/// ones TLS 1.3 deployments use today.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
