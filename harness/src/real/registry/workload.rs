//! The registry workload: what each client and watcher does, and how each operation is
//! recorded (the value shapes `rafty_checkers::registry` reads).
//!
//! A client draws each operation from its seeded generator: register an instance of one of
//! [`SERVICES`] under a fresh id (`p<process>-<n>`), with a long lease it keeps alive or a
//! short one it lets expire; deregister one of its instances; keep one alive; list a service;
//! read, write or compare-and-set one of [`CONFIG_KEYS`]. A watcher follows one service from
//! revision 1, each poll resuming after the last change it saw, until the run ends.
//!
//! | f            | key     | invoked with   | ok with                          |
//! |--------------|---------|----------------|----------------------------------|
//! | `register`   | service | `[id ttl_ms]`  | `[revision lease]`               |
//! | `deregister` | service | `id`           | `[revision existed]`             |
//! | `keepalive`  | service | `[id lease]`   | `[revision found]`               |
//! | `list`       | service | nil            | `[revision [ids]]`               |
//! | `watch`      | service | `from`         | `[revision [[revision version kind id lease]...]]` |
//! | `read`/`write`/`cas` | config key | cas-register conventions                   |

use std::time::Duration;

use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use rafty_checkers::{Op, OpType, Process, Value};
use rafty_registry::client::{Outcome, RegistryClient};
use rafty_registry::{ChangeKind, Response};
use rafty_workloads::OpResult;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::target::config_result;
use crate::sim::clock;
use crate::sim::recorder::Recorder;

/// The services the workload registers instances of.
pub const SERVICES: [&str; 3] = ["api", "db", "cache"];
/// The config keys it reads and writes.
pub const CONFIG_KEYS: [&str; 2] = ["config-a", "config-b"];
/// A kept lease's time to live (renewed by keepalives well within it).
pub const LONG_TTL_MS: u64 = 10_000;
/// A lease left to expire.
pub const SHORT_TTL_MS: u64 = 1_000;
/// The most instances a client holds at once.
const MAX_HELD: usize = 6;

/// One client process's part of the history.
pub struct Recording {
    /// The history.
    pub recorder: Recorder,
    /// The process.
    pub process: u64,
}

impl Recording {
    fn event(&self, kind: OpType, f: &str, key: &str, value: Value, node: Option<String>) {
        let op = Op::new(Process::Client(self.process), kind, f, value)
            .with_key(Value::String(key.to_owned()))
            .with_time(clock::now_ns());
        self.recorder.record(op, node);
    }

    /// Record the invocation of `f` on `key`.
    pub fn invoke(&self, f: &str, key: &str, value: Value) {
        self.event(OpType::Invoke, f, key, value, None);
    }

    /// Record how it ended: ok with `value`, fail or info (with the reason as the value).
    pub fn complete(&self, f: &str, key: &str, result: OpResult, node: Option<String>) {
        let (kind, value) = match result {
            OpResult::Ok(value) => (OpType::Ok, value),
            OpResult::Fail(why) => (OpType::Fail, Value::String(why)),
            OpResult::Info(why) => (OpType::Info, Value::String(why)),
        };
        self.event(kind, f, key, value, node);
    }
}

fn int(n: u64) -> Value {
    Value::Int(n as i64)
}

fn pair(a: Value, b: Value) -> Value {
    Value::List(vec![a, b])
}

/// One instance a client registered (lease known only when the registration was ok).
struct Held {
    service: &'static str,
    id: String,
    lease: Option<u64>,
    kept: bool,
}

/// A workload client: operations until `until` (run time; simulated time in a simulation).
pub struct Client<C = HttpConnector> {
    /// Its recording.
    pub recording: Recording,
    /// Its connection to the cluster (over real TCP, or a simulation's network).
    pub api: RegistryClient<C>,
    /// Its generator.
    pub rng: ChaCha8Rng,
    /// No operation starts after this.
    pub until: Duration,
}

impl<C: Connect + Clone + Send + Sync + 'static> Client<C> {
    /// Run until `until`.
    pub async fn run(mut self) {
        let mut held: Vec<Held> = Vec::new();
        let mut next_id = 0u64;
        while clock::now() < self.until {
            match self.rng.random_range(0..100) {
                0..20 if held.len() < MAX_HELD => {
                    next_id += 1;
                    let id = format!("p{}-{next_id}", self.recording.process);
                    held.push(self.register(id).await);
                }
                0..30 => self.deregister(&mut held).await,
                30..55 => self.keepalive(&mut held).await,
                55..75 => {
                    let service = SERVICES[self.rng.random_range(0..SERVICES.len())];
                    self.list_once(service).await;
                }
                _ => self.config().await,
            }
            let pause = self.rng.random_range(5..25);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    }

    fn node(&self) -> Option<String> {
        Some(format!("n{}", self.api.current()))
    }

    async fn register(&mut self, id: String) -> Held {
        let service = SERVICES[self.rng.random_range(0..SERVICES.len())];
        let kept = self.rng.random_bool(0.7);
        let ttl = if kept { LONG_TTL_MS } else { SHORT_TTL_MS };
        let arg = pair(Value::String(id.clone()), int(ttl));
        self.recording.invoke("register", service, arg);
        let address = format!("10.0.{}.{}:80", self.recording.process, id.len());
        let (result, lease) = match self.api.register(service, &id, &address, ttl).await {
            Outcome::Ok(Response::Registered {
                revision, lease, ..
            }) => (OpResult::Ok(pair(int(revision), int(lease))), Some(lease)),
            other => (unexpected(other), None),
        };
        self.recording
            .complete("register", service, result, self.node());
        Held {
            service,
            id,
            lease,
            kept,
        }
    }

    async fn deregister(&mut self, held: &mut Vec<Held>) {
        let (service, id) = if held.is_empty() {
            let service = SERVICES[self.rng.random_range(0..SERVICES.len())];
            (service, format!("p{}-none", self.recording.process))
        } else {
            let instance = held.swap_remove(self.rng.random_range(0..held.len()));
            (instance.service, instance.id)
        };
        self.recording
            .invoke("deregister", service, Value::String(id.clone()));
        let result = match self.api.deregister(service, &id).await {
            Outcome::Ok(Response::Deregistered { revision, existed }) => {
                OpResult::Ok(pair(int(revision), Value::Bool(existed)))
            }
            other => unexpected(other),
        };
        self.recording
            .complete("deregister", service, result, self.node());
    }

    async fn keepalive(&mut self, held: &mut [Held]) {
        let kept: Vec<usize> = (0..held.len())
            .filter(|&i| held[i].kept && held[i].lease.is_some())
            .collect();
        if kept.is_empty() {
            return;
        }
        let instance = &held[kept[self.rng.random_range(0..kept.len())]];
        let (service, lease) = (instance.service, instance.lease.expect("filtered"));
        let arg = pair(Value::String(instance.id.clone()), int(lease));
        self.recording.invoke("keepalive", service, arg);
        let result = match self.api.keepalive(lease).await {
            Outcome::Ok(Response::KeptAlive { revision, .. }) => {
                OpResult::Ok(pair(int(revision), Value::Bool(true)))
            }
            Outcome::Ok(Response::LeaseNotFound { revision, .. }) => {
                OpResult::Ok(pair(int(revision), Value::Bool(false)))
            }
            other => unexpected(other),
        };
        self.recording
            .complete("keepalive", service, result, self.node());
    }

    /// List `service` once, recorded.
    pub async fn list_once(&mut self, service: &str) {
        self.recording.invoke("list", service, Value::Nil);
        let result = match self.api.list(service).await {
            Outcome::Ok(Response::Instances {
                revision,
                instances,
            }) => {
                let ids = instances.into_iter().map(|i| Value::String(i.id)).collect();
                OpResult::Ok(pair(int(revision), Value::List(ids)))
            }
            other => unexpected(other),
        };
        self.recording
            .complete("list", service, result, self.node());
    }

    async fn config(&mut self) {
        let key = CONFIG_KEYS[self.rng.random_range(0..CONFIG_KEYS.len())];
        let (f, arg, outcome) = match self.rng.random_range(0..3) {
            0 => ("read", Value::Nil, None),
            1 => {
                let value = self.rng.random_range(0..5);
                ("write", Value::Int(value), Some((None, value)))
            }
            _ => {
                let (expected, new) = (self.rng.random_range(0..5), self.rng.random_range(0..5));
                let arg = pair(Value::Int(expected), Value::Int(new));
                ("cas", arg, Some((Some(expected), new)))
            }
        };
        self.recording.invoke(f, key, arg.clone());
        let answer = match outcome {
            None => self.api.config_get(key).await,
            Some((None, value)) => self.api.config_put(key, &value.to_string()).await,
            Some((Some(expected), new)) => {
                let expected = expected.to_string();
                self.api
                    .config_cas(key, Some(&expected), &new.to_string())
                    .await
            }
        };
        let result = match config_result(answer) {
            // Writes and cas are recorded ok with the value they were invoked with.
            OpResult::Ok(_) if f != "read" => OpResult::Ok(arg),
            other => other,
        };
        self.recording.complete(f, key, result, self.node());
    }
}

/// A refusal or an answer of the wrong kind, as recorded.
fn unexpected(outcome: Outcome) -> OpResult {
    match outcome {
        Outcome::Fail(why) => OpResult::Fail(why),
        Outcome::Info(why) => OpResult::Info(why),
        Outcome::Ok(other) => OpResult::Info(format!("unexpected answer {other:?}")),
    }
}

/// A watcher of one service, from revision 1, until `until`.
pub struct Watcher<C = HttpConnector> {
    /// Its recording.
    pub recording: Recording,
    /// Its connection to the cluster.
    pub api: RegistryClient<C>,
    /// The service.
    pub service: &'static str,
    /// No poll starts after this.
    pub until: Duration,
}

impl<C: Connect + Clone + Send + Sync + 'static> Watcher<C> {
    /// Poll until `until`, each poll from after the last change seen.
    pub async fn run(mut self) {
        let mut from = 1;
        while clock::now() < self.until {
            self.recording.invoke("watch", self.service, int(from));
            let wait = Duration::from_millis(500);
            let result = match self.api.watch(self.service, from, wait).await {
                Outcome::Ok(Response::Changes { revision, changes }) => {
                    if let Some(last) = changes.last() {
                        from = last.revision + 1;
                    }
                    let changes = changes.iter().map(change_value).collect();
                    OpResult::Ok(pair(int(revision), Value::List(changes)))
                }
                Outcome::Ok(Response::Compacted { revision, .. }) => {
                    let compacted = Value::Keyword("compacted".to_owned());
                    OpResult::Ok(pair(int(revision), compacted))
                }
                // A read that failed changed nothing: record it as a definite failure.
                Outcome::Info(why) | Outcome::Fail(why) => OpResult::Fail(why),
                Outcome::Ok(other) => OpResult::Fail(format!("unexpected answer {other:?}")),
            };
            let failed = matches!(result, OpResult::Fail(_));
            let node = Some(format!("n{}", self.api.current()));
            self.recording.complete("watch", self.service, result, node);
            if failed {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A change as a watch's recorded value holds it: `[revision version kind id lease]`.
fn change_value(change: &rafty_registry::Change) -> Value {
    let (kind, id, lease) = match &change.kind {
        ChangeKind::Put { instance } => ("put", instance.id.clone(), instance.lease),
        ChangeKind::Deregistered { id } => ("deregistered", id.clone(), 0),
        ChangeKind::Expired { id, lease } => ("expired", id.clone(), *lease),
    };
    Value::List(vec![
        int(change.revision),
        int(change.version),
        Value::String(kind.to_owned()),
        Value::String(id),
        int(lease),
    ])
}
