//! etcd as a [`RealTarget`]: the one file that points the harness at a Raft system nobody here
//! wrote. It finds `etcd` on the PATH (it installs nothing; Debian: `apt-get install
//! etcd-server`), starts a 3- or 5-member cluster on 127.0.0.1 with every member's data in the
//! run's directory, and drives etcd's v3 JSON gateway (`/v3/kv/put`, `/v3/kv/range`,
//! `/v3/kv/txn`, keys and values in base64) over HTTP/1.1.
//!
//! **Peer links.** An etcd member advertises one peer URL, the same for every other member, so
//! the proxy has one listener per member ([`FaultProxy::bind_per_destination`]): the URL each
//! member advertises (and `--initial-cluster` names) is its listener, which relays to the
//! member's real peer port. The proxy learns which member dialled each connection from the
//! `X-PeerURLs` header etcd puts on its peer requests, so partitions, one-way partitions,
//! latency and clogs act per pair of members exactly as for rafty's nodes. etcd's peer health
//! probes name no sender and cross every fault (they carry no Raft message).
//!
//! **Settings.** etcd's defaults (100 ms heartbeat, 1 s election timeout) plus `--pre-vote`;
//! a run allows it [`RECOVERY`] after each fault before judging liveness.
//!
//! **Client operations.** A write is a put; a read a range, linearizable (etcd's ReadIndex)
//! unless the deliberately wrong setting asks for `serializable` (the member's local state,
//! possibly stale: recorded as if linearizable, so the checker must catch it); a
//! compare-and-set a txn comparing the value (`succeeded` absent or false: the cas failed, a
//! definite `fail`). A client talks to one member (client `i` starts at member `i mod n`) and
//! moves to the next only when it cannot connect (a killed member). A connection
//! refused is a definite `fail` (nothing was sent); a timeout, a broken connection or an error
//! answer to a write is `info` (etcd may have proposed it); an error answer to a read is a
//! `fail` (a read has no effect). The register and kv workloads run on it; append does not.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use nix::sys::signal::Signal;
use rafty::{NodeId, ReadConsistency};
use rafty_checkers::Value;
use rafty_workloads::{ClientOp, OpResult};
use serde_json::{Value as Json, json};
use tokio::process::{Child, Command};

use super::process::{Supervised, guard, signal};
use super::proxy::FaultProxy;
use super::target::RealTarget;
use crate::sim::client::KvApi;
use crate::sim::clock;

/// How long a member may take to accept client connections after it is spawned.
const START_WAIT: Duration = Duration::from_secs(20);
/// How many times a restart retries (a port can linger briefly after a kill).
const START_ATTEMPTS: u32 = 10;
/// The time a run allows etcd to recover after each fault before liveness is judged (and
/// before the final reads): three of its default election timeouts (1 s, kept: a shorter one
/// elects spuriously on a loaded machine), where rafty's real runs allow 1 s for 0.3-0.6 s.
pub const RECOVERY: Duration = Duration::from_secs(3);
/// How long one HTTP request to a member may take before the client gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1500);

/// The `etcd` executable on the PATH, or an error saying how to install it.
pub fn find_etcd() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("etcd"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            "`etcd` is not on the PATH: install it (Debian and Ubuntu: `apt-get install \
             etcd-server`, which the README names) or add its directory to PATH"
                .to_owned()
        })
}

/// One etcd member process: its command line (the same at every start), its client address.
struct EtcdMember {
    id: NodeId,
    program: PathBuf,
    args: Vec<OsString>,
    client_addr: String,
    log_file: PathBuf,
    process: Supervised,
}

impl EtcdMember {
    /// Spawn it, and wait until it accepts client connections (retrying a lingering port).
    async fn start(&mut self) -> Result<(), String> {
        let mut last_error = String::new();
        for _ in 0..START_ATTEMPTS {
            match self.spawn().await {
                Ok(child) => {
                    self.process = Supervised::running(child);
                    return Ok(());
                }
                Err(error) => last_error = error,
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(last_error)
    }

    async fn spawn(&self) -> Result<Child, String> {
        let stderr = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_file)
            .map_err(|error| format!("cannot open {}: {error}", self.log_file.display()))?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr));
        guard(&mut command);
        let mut child = command.spawn().map_err(|error| {
            format!(
                "cannot spawn {} for member n{}: {error}",
                self.program.display(),
                self.id
            )
        })?;
        let deadline = Instant::now() + START_WAIT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&self.log_file).unwrap_or_default();
                let last = log.lines().last().unwrap_or("nothing");
                return Err(format!(
                    "etcd member n{} exited ({status}) at start; its log's last line: {last}",
                    self.id
                ));
            }
            if tokio::net::TcpStream::connect(&self.client_addr)
                .await
                .is_ok()
            {
                return Ok(child);
            }
            if Instant::now() >= deadline {
                signal(&child, Signal::SIGKILL);
                let _ = child.wait().await;
                return Err(format!(
                    "etcd member n{} did not listen on {} within {START_WAIT:?}",
                    self.id, self.client_addr
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn kill(&mut self) {
        self.process.kill().await;
    }

    fn pause(&mut self) {
        self.process.pause();
    }

    fn resume(&mut self) {
        self.process.resume();
    }

    async fn stop(&mut self) {
        self.process.stop().await;
    }
}

/// An etcd cluster behind the fault proxy, its data in a directory removed when it is dropped
/// (after its processes are killed: the fields drop in order).
pub struct EtcdCluster {
    members: BTreeMap<NodeId, EtcdMember>,
    proxy: FaultProxy,
    serializable_reads: bool,
    clients: std::cell::Cell<usize>,
    dir: tempfile::TempDir,
}

/// A free port on 127.0.0.1 (bound and released: another process could take it before etcd
/// does, and then the member's start fails and says so).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|error| format!("cannot find a free port on 127.0.0.1: {error}"))
}

impl EtcdCluster {
    /// Start members `ids` (named `n<id>`), their data in a new directory under `data_root`;
    /// `serializable_reads` makes every client read serializably (the wrong setting).
    pub async fn start(
        ids: &[NodeId],
        data_root: &Path,
        serializable_reads: bool,
    ) -> Result<EtcdCluster, String> {
        let program = find_etcd()?;
        let dir = tempfile::Builder::new()
            .prefix("rafty-etcd-")
            .tempdir_in(data_root)
            .map_err(|error| {
                format!(
                    "cannot create a data directory in {}: {error}",
                    data_root.display()
                )
            })?;
        let proxy = FaultProxy::bind_per_destination(ids)
            .await
            .map_err(|error| format!("cannot bind the fault proxy: {error}"))?;
        let initial_cluster: Vec<String> = ids
            .iter()
            .map(|&id| format!("n{id}=http://{}", proxy.destination(id)))
            .collect();
        let token = format!("rafty-{}-{}", std::process::id(), rand::random::<u32>());
        let mut members = BTreeMap::new();
        for &id in ids {
            let (peer_port, client_port) = (free_port()?, free_port()?);
            let client_addr = format!("127.0.0.1:{client_port}");
            proxy.set_target(id, format!("127.0.0.1:{peer_port}"));
            let args: Vec<OsString> = [
                format!("--name=n{id}"),
                format!("--data-dir={}", dir.path().join(format!("n{id}")).display()),
                format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"),
                format!(
                    "--initial-advertise-peer-urls=http://{}",
                    proxy.destination(id)
                ),
                format!("--listen-client-urls=http://{client_addr}"),
                format!("--advertise-client-urls=http://{client_addr}"),
                format!("--initial-cluster={}", initial_cluster.join(",")),
                "--initial-cluster-state=new".to_owned(),
                // Pre-vote, etcd's default from 3.5 (not in 3.4): without it a member cut off
                // by a partition or a clog comes back with a higher term and deposes a healthy
                // leader, stalling every client for an election (seen as liveness failures).
                "--pre-vote=true".to_owned(),
                format!("--initial-cluster-token={token}"),
                "--logger=zap".to_owned(),
                "--log-outputs=stderr".to_owned(),
            ]
            .into_iter()
            .map(OsString::from)
            .collect();
            let member = EtcdMember {
                id,
                program: program.clone(),
                args,
                client_addr,
                log_file: dir.path().join(format!("n{id}.log")),
                process: Supervised::default(),
            };
            members.insert(id, member);
        }
        let mut cluster = EtcdCluster {
            members,
            proxy,
            serializable_reads,
            clients: std::cell::Cell::new(0),
            dir,
        };
        for member in cluster.members.values_mut() {
            member.start().await?;
        }
        Ok(cluster)
    }

    fn member(&mut self, id: NodeId) -> &mut EtcdMember {
        self.members.get_mut(&id).expect("a member of the cluster")
    }
}

#[async_trait(?Send)]
impl RealTarget for EtcdCluster {
    fn name(&self) -> &'static str {
        "etcd"
    }

    fn ids(&self) -> Vec<NodeId> {
        self.members.keys().copied().collect()
    }

    fn pids(&self) -> Vec<u32> {
        self.members
            .values()
            .filter_map(|member| member.process.pid())
            .collect()
    }

    fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    fn proxy(&self) -> &FaultProxy {
        &self.proxy
    }

    /// Reads are linearizable whatever `_reads` says (rafty's read modes have no etcd
    /// counterpart), serializable until `reads_until` with the wrong setting.
    /// etcd's reads are made as its own flag says, and it has no client sessions: `reads`
    /// and `sessions` are not used.
    fn client(
        &self,
        _reads: ReadConsistency,
        reads_until: Duration,
        _sessions: bool,
    ) -> Box<dyn KvApi> {
        let members: Vec<(NodeId, String)> = self
            .members
            .values()
            .map(|member| (member.id, member.client_addr.clone()))
            .collect();
        let index = self.clients.get();
        self.clients.set(index + 1);
        Box::new(EtcdApi::new(members, self.serializable_reads, reads_until).starting_at(index))
    }

    async fn kill(&mut self, node: NodeId) -> Result<(), String> {
        self.member(node).kill().await;
        Ok(())
    }

    async fn restart(&mut self, node: NodeId) -> Result<(), String> {
        let member = self.member(node);
        if member.process.is_running() {
            return Ok(());
        }
        member.start().await
    }

    fn pause(&mut self, node: NodeId) {
        self.member(node).pause();
    }

    fn resume(&mut self, node: NodeId) {
        self.member(node).resume();
    }

    async fn stop(&mut self) -> BTreeMap<NodeId, Vec<String>> {
        let mut logs = BTreeMap::new();
        for (&id, member) in &mut self.members {
            member.stop().await;
            let lines = std::fs::read_to_string(&member.log_file)
                .map(|text| text.lines().map(str::to_owned).collect())
                .unwrap_or_else(|error| {
                    vec![format!(
                        "(cannot read {}: {error})",
                        member.log_file.display()
                    )]
                });
            logs.insert(id, lines);
        }
        logs
    }

    fn not_checked(&self) -> Vec<String> {
        vec![
            "invariants: etcd reports nothing to the harness (no observations), so election \
             safety, state machine safety and Raft's rules on the wire are not checked"
                .to_owned(),
            "durability: no ledger of applied entries; the final reads of every key, checked \
             for linearizability with the rest of the history, stand for it"
                .to_owned(),
        ]
    }
}

/// Why a request to a member got no answer.
enum CallError {
    /// No connection could be made: the request was never sent.
    Unreachable(String),
    /// Sent, and then no answer in time or a broken connection: it may have taken effect.
    Lost(String),
    /// etcd answered with an error.
    Refused(String),
}

/// A workload client over etcd's JSON gateway.
pub struct EtcdApi {
    http: HttpClient<HttpConnector, Full<Bytes>>,
    members: Vec<(NodeId, String)>,
    current: usize,
    serializable: bool,
    reads_until: Duration,
}

impl EtcdApi {
    /// A client of `members` (id and client address), reading serializably until
    /// `reads_until` when `serializable`.
    pub fn new(members: Vec<(NodeId, String)>, serializable: bool, reads_until: Duration) -> Self {
        assert!(!members.is_empty(), "an etcd client needs a member");
        EtcdApi {
            http: HttpClient::builder(TokioExecutor::new()).build_http(),
            current: 0,
            members,
            serializable,
            reads_until,
        }
    }

    /// Start at member `index mod n` (spreads clients over the members).
    pub fn starting_at(mut self, index: usize) -> Self {
        self.current = index % self.members.len();
        self
    }

    fn node(&self) -> Option<String> {
        Some(format!("n{}", self.members[self.current].0))
    }

    fn next_member(&mut self) {
        self.current = (self.current + 1) % self.members.len();
    }

    /// POST `body` to `path` of the current member; its JSON answer.
    async fn call(&self, path: &str, body: &Json) -> Result<Json, CallError> {
        let addr = &self.members[self.current].1;
        let request = hyper::Request::post(format!("http://{addr}{path}"))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a well-formed request");
        let exchange = async {
            let response = self.http.request(request).await.map_err(|error| {
                if error.is_connect() {
                    CallError::Unreachable(format!("cannot connect to {addr}: {error}"))
                } else {
                    CallError::Lost(format!("connection to {addr} lost: {error}"))
                }
            })?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|error| CallError::Lost(format!("answer from {addr} cut: {error}")))?
                .to_bytes();
            let json: Json = serde_json::from_slice(&bytes).map_err(|error| {
                CallError::Lost(format!("{addr} answered {status} with no JSON: {error}"))
            })?;
            if status.is_success() {
                Ok(json)
            } else {
                let message = json["error"]
                    .as_str()
                    .or(json["message"].as_str())
                    .unwrap_or("no message");
                Err(CallError::Refused(format!("{status}: {message}")))
            }
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(CallError::Lost(format!(
                    "no answer from {addr} within {REQUEST_TIMEOUT:?}"
                )))
            })
    }

    /// Call `path` on the current member, moving on to the next while none can be reached
    /// (one round of the members at most). A member that takes the request but does not
    /// answer keeps the client (as Jepsen binds a client to its node): a client of a member cut
    /// off from the others goes on reading from it, which is what exposes stale reads.
    async fn call_any(&mut self, path: &str, body: &Json) -> Result<Json, CallError> {
        let mut last = None;
        for _ in 0..self.members.len() {
            match self.call(path, body).await {
                Err(CallError::Unreachable(error)) => {
                    last = Some(CallError::Unreachable(error));
                    self.next_member();
                }
                other => return other,
            }
        }
        Err(last.expect("at least one member was tried"))
    }

    fn read_body(&self, key: &str) -> Json {
        let serializable = self.serializable && clock::now() < self.reads_until;
        json!({ "key": BASE64.encode(key), "serializable": serializable })
    }
}

/// A write's (or cas's) outcome for an error: a request never sent did not take effect.
fn write_error(error: CallError) -> OpResult {
    match error {
        CallError::Unreachable(error) => OpResult::Fail(error),
        CallError::Lost(error) | CallError::Refused(error) => OpResult::Info(error),
    }
}

/// A read's outcome for an error: a read has no effect, so it failed.
fn read_error(error: CallError) -> OpResult {
    match error {
        CallError::Unreachable(error) | CallError::Lost(error) | CallError::Refused(error) => {
            OpResult::Fail(error)
        }
    }
}

/// The value a range answer holds for its key: `Nil` when absent, an integer register's
/// value, or (bad input from etcd) an error naming what was wrong.
fn range_value(answer: &Json) -> Result<Value, String> {
    let Some(kv) = answer["kvs"].as_array().and_then(|kvs| kvs.first()) else {
        return Ok(Value::Nil);
    };
    let encoded = kv["value"].as_str().unwrap_or("");
    let bytes = BASE64
        .decode(encoded)
        .map_err(|error| format!("range answer: value {encoded:?} is not base64: {error}"))?;
    let text = String::from_utf8(bytes)
        .map_err(|error| format!("range answer: value is not UTF-8: {error}"))?;
    Ok(text.parse().map(Value::Int).unwrap_or(Value::String(text)))
}

#[async_trait(?Send)]
impl KvApi for EtcdApi {
    async fn execute(&mut self, op: &ClientOp) -> (OpResult, Option<String>) {
        let result = match op {
            ClientOp::Read { key } => {
                let body = self.read_body(key);
                match self.call_any("/v3/kv/range", &body).await {
                    Ok(answer) => range_value(&answer).map_or_else(OpResult::Info, OpResult::Ok),
                    Err(error) => read_error(error),
                }
            }
            ClientOp::Write { key, value } => {
                let body = json!({
                    "key": BASE64.encode(key),
                    "value": BASE64.encode(value.to_string()),
                });
                match self.call_any("/v3/kv/put", &body).await {
                    Ok(_) => OpResult::Ok(Value::Nil),
                    Err(error) => write_error(error),
                }
            }
            ClientOp::Cas { key, expected, new } => {
                let key = BASE64.encode(key);
                let body = json!({
                    "compare": [{
                        "key": key,
                        "target": "VALUE",
                        "result": "EQUAL",
                        "value": BASE64.encode(expected.to_string()),
                    }],
                    "success": [{
                        "request_put": { "key": key, "value": BASE64.encode(new.to_string()) },
                    }],
                });
                match self.call_any("/v3/kv/txn", &body).await {
                    Ok(answer) if answer["succeeded"].as_bool() == Some(true) => {
                        OpResult::Ok(Value::Nil)
                    }
                    Ok(_) => OpResult::Fail(format!("cas: the value was not {expected}")),
                    Err(error) => write_error(error),
                }
            }
            ClientOp::Append { .. } | ClientOp::Get { .. } => OpResult::Fail(
                "the append workload does not run on etcd (register and kv do)".to_owned(),
            ),
            ClientOp::Txn { .. } => OpResult::Fail(
                "the transactional workloads do not run on etcd yet (register and kv do)"
                    .to_owned(),
            ),
        };
        (result, self.node())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_answer_without_kvs_is_an_absent_key() {
        let answer = json!({ "header": { "revision": "3" } });
        assert_eq!(range_value(&answer), Ok(Value::Nil));
    }

    #[test]
    fn a_range_answer_holds_the_register_value_in_base64() {
        let answer =
            json!({ "kvs": [{ "key": BASE64.encode("k"), "value": BASE64.encode("42") }] });
        assert_eq!(range_value(&answer), Ok(Value::Int(42)));
    }

    #[test]
    fn a_range_answer_with_a_bad_value_is_an_error_naming_it() {
        let answer = json!({ "kvs": [{ "value": "%%%" }] });
        let error = range_value(&answer).unwrap_err();
        assert!(error.contains("\"%%%\" is not base64"), "{error}");
    }

    #[test]
    fn a_write_never_sent_failed_and_a_lost_one_is_indeterminate() {
        let unreachable = CallError::Unreachable("refused".into());
        assert_eq!(write_error(unreachable), OpResult::Fail("refused".into()));
        let lost = CallError::Lost("timeout".into());
        assert_eq!(write_error(lost), OpResult::Info("timeout".into()));
        let refused = CallError::Refused("leader changed".into());
        assert_eq!(
            write_error(refused),
            OpResult::Info("leader changed".into())
        );
        let read = CallError::Lost("timeout".into());
        assert_eq!(read_error(read), OpResult::Fail("timeout".into()));
    }
}
