//! The registry's HTTP+JSON API (axum), served by every node:
//!
//! | method and path                               | does                                      |
//! |-----------------------------------------------|-------------------------------------------|
//! | `PUT /v1/services/{service}/instances/{id}`   | register (`{"address", "metadata", "ttl_ms"}`) |
//! | `DELETE /v1/services/{service}/instances/{id}`| deregister                                |
//! | `POST /v1/leases/{lease}/keepalive`           | renew a lease                             |
//! | `GET /v1/services/{service}`                  | list the instances                        |
//! | `GET /v1/services/{service}/watch?from=R`     | changes from revision R (long poll)       |
//! | `GET /v1/config/{key}`                        | read a config value                       |
//! | `PUT /v1/config/{key}`                        | write it (`{"value"}`)                    |
//! | `POST /v1/config/{key}/cas`                   | compare-and-set (`{"expected", "value"}`) |
//! | `GET /v1/status`                              | this node's role, term, leader, indices   |
//!
//! Reads are linearizable (ReadIndex, `Node::read`) unless `?consistency=log|lease|stale`
//! says otherwise. Writes go through the log; a follower forwards them to the leader. A
//! request the node cannot serve because it does not lead is answered `307` to the leader's
//! address when this node knows it (`curl -L` follows), else `503` with the leader's id.
//!
//! Every error is JSON `{"error", "definite", "leader"}`: `definite: true` means the request
//! certainly took no effect; `false` (a `504` timeout) that it may still take effect.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response as HttpResponse};
use axum::routing::{get, post, put};
use rafty::{ClientError, Node, NodeId, ReadConsistency};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::bug::{Bugs, RegistryBug};
use crate::clock::{RegistryClock, wall_clock};
use crate::command::{Command, Query, Response};

/// The longest and shortest lease a client may ask for.
pub const TTL_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=3_600_000;
/// The most changes one watch answer carries.
pub const WATCH_LIMIT: u64 = 1000;
/// The longest a watch waits for a change before answering with none.
pub const WATCH_WAIT_MAX: Duration = Duration::from_secs(30);

/// What the handlers share.
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
    /// `http` or `https`: the scheme of redirects to the leader.
    scheme: &'static str,
}

struct Inner {
    node: Node,
    peers_http: BTreeMap<NodeId, String>,
    applied: tokio::sync::watch::Receiver<u64>,
    clock: RegistryClock,
    bugs: Bugs,
}

impl Api {
    /// Serve `node`, whose registry state machine publishes its revision on `applied`;
    /// `peers_http` is where each other node serves this API (for redirects; may be empty).
    pub fn new(
        node: Node,
        applied: tokio::sync::watch::Receiver<u64>,
        peers_http: BTreeMap<NodeId, String>,
    ) -> Api {
        Api::with_clock(node, applied, peers_http, wall_clock())
    }

    /// [`Api::new`], stamping commands with `clock` instead of the wall clock (a simulation's).
    pub fn with_clock(
        node: Node,
        applied: tokio::sync::watch::Receiver<u64>,
        peers_http: BTreeMap<NodeId, String>,
        clock: RegistryClock,
    ) -> Api {
        Api {
            inner: Arc::new(Inner {
                node,
                peers_http,
                applied,
                clock,
                bugs: Bugs::default(),
            }),
            scheme: "http",
        }
    }

    /// The same API served over HTTPS: redirects to the leader say `https://`.
    pub fn https(self) -> Api {
        Api {
            scheme: "https",
            ..self
        }
    }

    /// Plant `bug` (the harness's catalogue; `mutations` only). Call before sharing the API.
    #[cfg(feature = "mutations")]
    pub fn planting(mut self, bug: RegistryBug) -> Api {
        let inner = Arc::get_mut(&mut self.inner).expect("planted before the API is shared");
        inner.bugs = Bugs::planting(bug);
        self
    }

    fn now_ms(&self) -> u64 {
        (self.inner.clock)()
    }

    /// The routes.
    pub fn router(self) -> Router {
        Router::new()
            .route(
                "/v1/services/{service}/instances/{id}",
                put(register).delete(deregister),
            )
            .route("/v1/leases/{lease}/keepalive", post(keepalive))
            .route("/v1/services/{service}", get(list))
            .route("/v1/services/{service}/watch", get(watch))
            .route("/v1/config/{key}", get(config_get).put(config_put))
            .route("/v1/config/{key}/cas", post(config_cas))
            .route("/v1/status", get(status))
            .with_state(self)
    }
}

/// Serve the API on `listener` until the future is dropped.
pub async fn serve(listener: tokio::net::TcpListener, api: Api) -> std::io::Result<()> {
    serve_on(listener, api).await
}

/// Serve the API on any axum [`Listener`](axum::serve::Listener) (a simulated network's)
/// until the future is dropped.
pub async fn serve_on<L>(listener: L, api: Api) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, api.router()).await
}

/// Serve the API over HTTPS ([`crate::https`]) until the future is dropped.
pub async fn serve_tls(listener: crate::https::HttpsListener, api: Api) -> std::io::Result<()> {
    axum::serve(listener, api.router()).await
}

/// An error answer: status and JSON body.
struct Failure {
    status: StatusCode,
    error: String,
    definite: bool,
    leader: Option<NodeId>,
    location: Option<String>,
}

impl Failure {
    fn bad_request(error: String) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            error,
            definite: true,
            leader: None,
            location: None,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> HttpResponse {
        let body = json!({
            "error": self.error,
            "definite": self.definite,
            "leader": self.leader,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(location) = self.location
            && let Ok(value) = location.parse()
        {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    }
}

type Answer = Result<HttpResponse, Failure>;

impl Api {
    /// Turn a node's refusal into an answer (a redirect to the leader when its address is
    /// known).
    fn refusal(&self, error: ClientError, uri: &Uri) -> Failure {
        let definite = error.is_definite();
        match error {
            ClientError::NotLeader { leader_hint } => {
                let address = leader_hint.and_then(|id| self.inner.peers_http.get(&id));
                Failure {
                    status: if address.is_some() {
                        StatusCode::TEMPORARY_REDIRECT
                    } else {
                        StatusCode::SERVICE_UNAVAILABLE
                    },
                    error: "not the leader".to_owned(),
                    definite,
                    leader: leader_hint,
                    location: address.map(|addr| format!("{}://{addr}{uri}", self.scheme)),
                }
            }
            ClientError::Timeout => Failure {
                status: StatusCode::GATEWAY_TIMEOUT,
                error: error.to_string(),
                definite,
                leader: None,
                location: None,
            },
            other => Failure {
                status: StatusCode::SERVICE_UNAVAILABLE,
                error: other.to_string(),
                definite,
                leader: None,
                location: None,
            },
        }
    }

    async fn submit(&self, command: Command, uri: &Uri) -> Result<Response, Failure> {
        let bytes = (self.inner.node.submit(command.encode()).await)
            .map_err(|error| self.refusal(error, uri))?;
        decoded(&bytes)
    }

    async fn read(
        &self,
        query: &Query,
        consistency: ReadConsistency,
        uri: &Uri,
    ) -> Result<Response, Failure> {
        let bytes = (self.inner.node.read(query.encode(), consistency).await)
            .map_err(|error| self.refusal(error, uri))?;
        decoded(&bytes)
    }
}

fn decoded(bytes: &[u8]) -> Result<Response, Failure> {
    Response::decode(bytes).map_err(|error| Failure {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        error: error.to_string(),
        definite: false,
        leader: None,
        location: None,
    })
}

/// A successful answer: 200 with the response as JSON, or `status` for the refusals a state
/// machine makes (a failed compare-and-set, an unknown lease, a compacted revision).
fn answer(response: Response) -> Answer {
    let status = match &response {
        Response::CasFailed { .. } => StatusCode::CONFLICT,
        Response::LeaseNotFound { .. } => StatusCode::NOT_FOUND,
        Response::Compacted { .. } => StatusCode::GONE,
        Response::Invalid { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    Ok((status, axum::Json(response)).into_response())
}

/// Read a JSON body, naming what was wrong and where.
fn body<T: for<'a> Deserialize<'a>>(bytes: &Bytes) -> Result<T, Failure> {
    serde_json::from_slice(bytes).map_err(|error| Failure::bad_request(format!("body: {error}")))
}

/// The read consistency a request asks for.
#[derive(Deserialize)]
struct ReadParams {
    consistency: Option<String>,
}

fn consistency(params: &ReadParams) -> Result<ReadConsistency, Failure> {
    match params.consistency.as_deref() {
        None | Some("linearizable") => Ok(ReadConsistency::Linearizable),
        Some("log") => Ok(ReadConsistency::Log),
        Some("lease") => Ok(ReadConsistency::Lease),
        Some("stale") => Ok(ReadConsistency::Stale),
        Some(other) => Err(Failure::bad_request(format!(
            "consistency `{other}`: expected linearizable, log, lease or stale"
        ))),
    }
}

/// A registration's body.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Where the instance is reached.
    pub address: String,
    /// Its labels.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Its lease's time to live.
    pub ttl_ms: u64,
}

async fn register(
    State(api): State<Api>,
    Path((service, id)): Path<(String, String)>,
    uri: Uri,
    bytes: Bytes,
) -> Answer {
    let request: RegisterBody = body(&bytes)?;
    if !TTL_RANGE_MS.contains(&request.ttl_ms) {
        return Err(Failure::bad_request(format!(
            "body: ttl_ms {} is outside {}..={}",
            request.ttl_ms,
            TTL_RANGE_MS.start(),
            TTL_RANGE_MS.end()
        )));
    }
    let command = Command::Register {
        service,
        id,
        address: request.address,
        metadata: request.metadata,
        ttl_ms: request.ttl_ms,
        now_ms: api.now_ms(),
    };
    answer(api.submit(command, &uri).await?)
}

async fn deregister(
    State(api): State<Api>,
    Path((service, id)): Path<(String, String)>,
    uri: Uri,
) -> Answer {
    let command = Command::Deregister {
        service,
        id,
        now_ms: api.now_ms(),
    };
    answer(api.submit(command, &uri).await?)
}

async fn keepalive(State(api): State<Api>, Path(lease): Path<String>, uri: Uri) -> Answer {
    let lease = lease
        .parse()
        .map_err(|_| Failure::bad_request(format!("lease `{lease}` is not a whole number")))?;
    let command = Command::KeepAlive {
        lease,
        now_ms: api.now_ms(),
    };
    answer(api.submit(command, &uri).await?)
}

async fn list(
    State(api): State<Api>,
    Path(service): Path<String>,
    UrlQuery(params): UrlQuery<ReadParams>,
    uri: Uri,
) -> Answer {
    let query = Query::List { service };
    let mut consistency = consistency(&params)?;
    if api.inner.bugs.breaks(RegistryBug::StaleFollowerList) {
        consistency = ReadConsistency::Stale;
    }
    answer(api.read(&query, consistency, &uri).await?)
}

/// A watch's parameters.
#[derive(Deserialize)]
struct WatchParams {
    from: Option<u64>,
    timeout_ms: Option<u64>,
    consistency: Option<String>,
}

/// Changes of a service from revision `from` (default 1): answered at once when there are
/// some (or the revision was compacted: 410), else when the first arrives, or with none after
/// `timeout_ms` (default 10 s, at most [`WATCH_WAIT_MAX`]). Resume from the last change's
/// revision + 1.
async fn watch(
    State(api): State<Api>,
    Path(service): Path<String>,
    UrlQuery(params): UrlQuery<WatchParams>,
    uri: Uri,
) -> Answer {
    let consistency = consistency(&ReadParams {
        consistency: params.consistency.clone(),
    })?;
    let wait = Duration::from_millis(params.timeout_ms.unwrap_or(10_000)).min(WATCH_WAIT_MAX);
    let deadline = tokio::time::Instant::now() + wait;
    let query = Query::Watch {
        service,
        from: params.from.unwrap_or(1).max(1),
        limit: WATCH_LIMIT,
    };
    let mut applied = api.inner.applied.clone();
    loop {
        applied.mark_unchanged();
        let response = api.read(&query, consistency, &uri).await?;
        let done = match &response {
            Response::Changes { changes, .. } => !changes.is_empty(),
            _ => true,
        };
        if done || tokio::time::Instant::now() >= deadline {
            return answer(response);
        }
        // Wait for the next applied command (or the deadline), then read again.
        if tokio::time::timeout_at(deadline, applied.changed())
            .await
            .is_err()
        {
            return answer(api.read(&query, consistency, &uri).await?);
        }
    }
}

async fn config_get(
    State(api): State<Api>,
    Path(key): Path<String>,
    UrlQuery(params): UrlQuery<ReadParams>,
    uri: Uri,
) -> Answer {
    let query = Query::ConfigGet { key };
    answer(api.read(&query, consistency(&params)?, &uri).await?)
}

/// A config write's body.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PutBody {
    /// The new value.
    pub value: String,
}

async fn config_put(
    State(api): State<Api>,
    Path(key): Path<String>,
    uri: Uri,
    bytes: Bytes,
) -> Answer {
    let request: PutBody = body(&bytes)?;
    let command = Command::ConfigPut {
        key,
        value: request.value,
    };
    answer(api.submit(command, &uri).await?)
}

/// A config compare-and-set's body.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CasBody {
    /// The value the key must hold (`null`: absent).
    pub expected: Option<String>,
    /// The new value.
    pub value: String,
}

async fn config_cas(
    State(api): State<Api>,
    Path(key): Path<String>,
    uri: Uri,
    bytes: Bytes,
) -> Answer {
    let request: CasBody = body(&bytes)?;
    let command = Command::ConfigCas {
        key,
        expected: request.expected,
        value: request.value,
    };
    answer(api.submit(command, &uri).await?)
}

async fn status(State(api): State<Api>, _headers: HeaderMap) -> Answer {
    let status = api.inner.node.status();
    let body = json!({
        "id": status.id,
        "role": format!("{:?}", status.role),
        "term": status.term,
        "leader": status.leader,
        "commit_index": status.commit_index,
        "last_applied": status.last_applied,
        "revision": *api.inner.applied.borrow(),
    });
    Ok(axum::Json(body).into_response())
}
