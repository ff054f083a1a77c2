//! A small client of the registry's HTTP API that knows every node's address, follows the
//! leader, and says of each failure whether the request may still take effect, which a
//! recorded history needs: [`Outcome::Fail`] certainly took no effect, [`Outcome::Info`] may
//! have.
//!
//! A read is retried on another node whenever an attempt fails (it changes nothing); a write
//! is retried only after a definite refusal (no connection, "not the leader"), never after a
//! timeout or a lost connection, so it applies at most once.

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use rafty::NodeId;
use serde_json::{Value as Json, json};

use crate::command::Response;

/// How a request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The registry answered (a refused compare-and-set or unknown lease included).
    Ok(Response),
    /// Certainly not applied: why.
    Fail(String),
    /// May or may not be applied: why.
    Info(String),
}

/// One attempt's failure.
enum Attempt {
    /// Nothing reached the node, or the node refused before doing anything (not the leader):
    /// try another, optionally the named one.
    Definite(String, Option<NodeId>),
    /// Bad input: stop.
    Refused(String),
    /// The request may have been acted on.
    Lost(String),
}

/// A client of a registry cluster, over TCP ([`HttpConnector`]) unless made with
/// [`RegistryClient::with_connector`].
#[derive(Clone)]
pub struct RegistryClient<C = HttpConnector> {
    http: HttpClient<C, Full<Bytes>>,
    nodes: BTreeMap<NodeId, String>,
    current: NodeId,
    /// How long one attempt may take.
    pub request_timeout: Duration,
    /// How many attempts a request makes at most.
    pub max_attempts: u32,
}

impl RegistryClient {
    /// A client of the nodes `nodes` (id and `host:port` of the HTTP API), starting at
    /// `first` (or the first node).
    pub fn new(nodes: BTreeMap<NodeId, String>, first: NodeId) -> RegistryClient {
        assert!(!nodes.is_empty(), "a registry client needs a node");
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_millis(500)));
        connector.set_nodelay(true);
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        RegistryClient::over(http, nodes, first)
    }
}

impl<C: Connect + Clone + Send + Sync + 'static> RegistryClient<C> {
    /// A client of the nodes `nodes` dialling through `connector` (a simulated network's),
    /// starting at `first`. It keeps no idle connection (one connection per request), so a
    /// simulation stays deterministic: a pool's idle connections sit in a hash map, and
    /// dropping the client would close them in that map's random order; nor does it read a
    /// clock to decide anything.
    pub fn with_connector(
        connector: C,
        nodes: BTreeMap<NodeId, String>,
        first: NodeId,
    ) -> RegistryClient<C> {
        assert!(!nodes.is_empty(), "a registry client needs a node");
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(None)
            .pool_max_idle_per_host(0)
            .build(connector);
        RegistryClient::over(http, nodes, first)
    }

    /// A client of the nodes `nodes` dialling through `connector` (a TLS connector, for the
    /// HTTPS API), starting at `first`, keeping idle connections for 30 s as
    /// [`RegistryClient::new`] does. Outside a simulation only (see [`Self::with_connector`]).
    pub fn pooled(connector: C, nodes: BTreeMap<NodeId, String>, first: NodeId) -> Self {
        assert!(!nodes.is_empty(), "a registry client needs a node");
        let http = HttpClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        RegistryClient::over(http, nodes, first)
    }

    fn over(
        http: HttpClient<C, Full<Bytes>>,
        nodes: BTreeMap<NodeId, String>,
        first: NodeId,
    ) -> RegistryClient<C> {
        let current = if nodes.contains_key(&first) {
            first
        } else {
            *nodes.keys().next().expect("not empty")
        };
        RegistryClient {
            http,
            nodes,
            current,
            request_timeout: Duration::from_secs(2),
            max_attempts: 6,
        }
    }

    /// The node the next request goes to first.
    pub fn current(&self) -> NodeId {
        self.current
    }

    /// Register `id` of `service` at `address` with a lease of `ttl_ms`.
    pub async fn register(
        &mut self,
        service: &str,
        id: &str,
        address: &str,
        ttl_ms: u64,
    ) -> Outcome {
        let body = json!({ "address": address, "ttl_ms": ttl_ms });
        let path = format!("/v1/services/{service}/instances/{id}");
        self.request(Method::PUT, &path, Some(body), true).await
    }

    /// Deregister `id` of `service`.
    pub async fn deregister(&mut self, service: &str, id: &str) -> Outcome {
        let path = format!("/v1/services/{service}/instances/{id}");
        self.request(Method::DELETE, &path, None, true).await
    }

    /// Renew `lease`.
    pub async fn keepalive(&mut self, lease: u64) -> Outcome {
        let path = format!("/v1/leases/{lease}/keepalive");
        self.request(Method::POST, &path, None, true).await
    }

    /// The instances of `service` (linearizable).
    pub async fn list(&mut self, service: &str) -> Outcome {
        let path = format!("/v1/services/{service}");
        self.request(Method::GET, &path, None, false).await
    }

    /// Changes of `service` from revision `from`, waiting up to `wait` for the first.
    pub async fn watch(&mut self, service: &str, from: u64, wait: Duration) -> Outcome {
        let path = format!(
            "/v1/services/{service}/watch?from={from}&timeout_ms={}",
            wait.as_millis()
        );
        self.request(Method::GET, &path, None, false).await
    }

    /// Config `key` (linearizable).
    pub async fn config_get(&mut self, key: &str) -> Outcome {
        self.request(Method::GET, &format!("/v1/config/{key}"), None, false)
            .await
    }

    /// Set config `key`.
    pub async fn config_put(&mut self, key: &str, value: &str) -> Outcome {
        let body = json!({ "value": value });
        self.request(Method::PUT, &format!("/v1/config/{key}"), Some(body), true)
            .await
    }

    /// Compare-and-set config `key`.
    pub async fn config_cas(&mut self, key: &str, expected: Option<&str>, value: &str) -> Outcome {
        let body = json!({ "expected": expected, "value": value });
        let path = format!("/v1/config/{key}/cas");
        self.request(Method::POST, &path, Some(body), true).await
    }

    /// Send a request, following the leader; `write`: retried only after definite failures.
    async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Json>,
        write: bool,
    ) -> Outcome {
        let mut last = String::from("no attempt");
        for _ in 0..self.max_attempts {
            match self.attempt(&method, path, body.as_ref()).await {
                Ok(response) => return Outcome::Ok(response),
                Err(Attempt::Refused(why)) => return Outcome::Fail(why),
                Err(Attempt::Lost(why)) if write => return Outcome::Info(why),
                Err(Attempt::Lost(why)) => {
                    last = why;
                    self.next_node(None);
                }
                Err(Attempt::Definite(why, leader)) => {
                    last = why;
                    if leader.is_none() {
                        // No leader known: give the election a moment.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    self.next_node(leader);
                }
            }
        }
        if write {
            Outcome::Fail(format!(
                "{} attempts, none applied: {last}",
                self.max_attempts
            ))
        } else {
            Outcome::Fail(format!("{} attempts: {last}", self.max_attempts))
        }
    }

    fn next_node(&mut self, leader: Option<NodeId>) {
        if let Some(leader) = leader.filter(|id| self.nodes.contains_key(id) && *id != self.current)
        {
            self.current = leader;
            return;
        }
        let after = self.nodes.range(self.current + 1..).next();
        let next = after.or_else(|| self.nodes.iter().next());
        self.current = *next.expect("not empty").0;
    }

    async fn attempt(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Json>,
    ) -> Result<Response, Attempt> {
        let addr = &self.nodes[&self.current];
        let bytes = body.map_or_else(Bytes::new, |body| Bytes::from(body.to_string()));
        let request = hyper::Request::builder()
            .method(method.clone())
            .uri(format!("http://{addr}{path}"))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(bytes))
            .map_err(|error| {
                // A name or key that cannot be in a URI (a space, a control character), or a
                // node address that is not one: refused before anything is sent.
                Attempt::Refused(format!("cannot request http://{addr}{path}: {error}"))
            })?;
        let exchange = async {
            let response = self.http.request(request).await.map_err(|error| {
                if error.is_connect() {
                    Attempt::Definite(format!("cannot connect to {addr}: {error}"), None)
                } else {
                    Attempt::Lost(format!("connection to {addr} lost: {error}"))
                }
            })?;
            let status = response.status();
            let bytes = (response.into_body().collect().await)
                .map_err(|error| Attempt::Lost(format!("answer from {addr} cut: {error}")))?
                .to_bytes();
            classify(addr, status, &bytes)
        };
        tokio::time::timeout(self.request_timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(Attempt::Lost(format!(
                    "no answer from {addr} within {:?}",
                    self.request_timeout
                )))
            })
    }
}

/// What an HTTP answer means.
fn classify(addr: &str, status: StatusCode, bytes: &[u8]) -> Result<Response, Attempt> {
    if let Ok(response) = Response::decode(bytes) {
        return Ok(response);
    }
    let json: Json = serde_json::from_slice(bytes).map_err(|error| {
        Attempt::Lost(format!("{addr} answered {status} with no JSON: {error}"))
    })?;
    let error = json["error"].as_str().unwrap_or("no message");
    let why = format!("{addr}: {status}: {error}");
    if status == StatusCode::BAD_REQUEST {
        return Err(Attempt::Refused(why));
    }
    if json["definite"].as_bool() == Some(true) {
        let leader = json["leader"].as_u64();
        return Err(Attempt::Definite(why, leader));
    }
    Err(Attempt::Lost(why))
}
