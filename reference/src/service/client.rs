//! [`KvClient`]: finds the leader, bounds every request by a timeout, and tells definite
//! failures from indefinite ones.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::Mutex;
use std::time::Duration;

use crate::client::ReadConsistency;
use crate::kv::{KvCommand, KvResponse};
use crate::service::wire::{KvReply, ServiceError};
use crate::tcp::{CallError, Channel, ChannelTarget, Connector, Protocol, TransportConfig};
use crate::types::NodeId;

mod session;
use session::OpenSession;

/// How a [`KvClient`] behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvClientConfig {
    /// The transport's settings; its `cluster_id` must be the nodes'.
    pub transport: TransportConfig,
    /// The deadline of one request to one node (dialling included).
    pub request_timeout: Duration,
    /// The most requests one operation makes before giving up.
    pub max_attempts: u32,
    /// The pause before asking a node already asked during this operation (an election may be
    /// under way).
    pub retry_delay: Duration,
    /// Whether writes go through a client session (dissertation §6.3; the nodes' state
    /// machines must be wrapped in [`crate::session::Sessions`]): the client registers once,
    /// tags each write with its sequence number, and retries a write whose outcome is unknown
    /// until it learns it, since the cluster applies it at most once. Off by default.
    pub sessions: bool,
}

impl KvClientConfig {
    /// Defaults for `cluster_id`: 1 s per request, 10 attempts, 50 ms between rounds, no
    /// sessions.
    pub fn new(cluster_id: u64) -> KvClientConfig {
        KvClientConfig {
            transport: TransportConfig::new(cluster_id),
            request_timeout: Duration::from_secs(1),
            max_attempts: 10,
            retry_delay: Duration::from_millis(50),
            sessions: false,
        }
    }
}

/// Why a key-value operation did not succeed. [`KvError::is_definite`] says whether it
/// certainly did not take effect (Jepsen's `fail`) or may have (`info`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// Definite: the compare-and-set found another value; nothing changed.
    #[error("compare-and-set on {key:?} failed at node {node}: current value is {current:?}")]
    CasFailed {
        /// The node that answered.
        node: NodeId,
        /// The key.
        key: String,
        /// The value found.
        current: Option<String>,
    },
    /// Definite: the state machine refused the command; nothing changed.
    #[error("command refused as invalid by node {node}: {reason}")]
    Invalid {
        /// The node that answered.
        node: NodeId,
        /// Why.
        reason: String,
    },
    /// Definite: no node took the command within the attempts allowed; none of them can apply
    /// it (every attempt failed before the command reached Raft).
    #[error("no leader took the command after {attempts} attempts; last error: {last_error}")]
    Unavailable {
        /// The node asked last.
        node: NodeId,
        /// Requests made.
        attempts: u32,
        /// The last failure.
        last_error: String,
    },
    /// Definite: the client's session expired (dissertation §6.3) before the command was
    /// applied, and no earlier attempt of it may have been; the client registers anew.
    #[error("session {client_id} expired at node {node}; the command was not applied")]
    SessionExpired {
        /// The node that answered.
        node: NodeId,
        /// The expired session's client id.
        client_id: u64,
    },
    /// Indefinite: the command may have taken effect, or may yet, or never (a timeout, or a
    /// connection lost after sending).
    #[error("outcome unknown (node {node}): {reason}")]
    Indeterminate {
        /// The node asked last.
        node: NodeId,
        /// What happened.
        reason: String,
    },
}

impl KvError {
    /// True when the operation certainly did not and will not take effect.
    pub fn is_definite(&self) -> bool {
        !matches!(self, KvError::Indeterminate { .. })
    }

    /// The node that answered, or was asked last.
    pub fn node(&self) -> NodeId {
        match self {
            KvError::CasFailed { node, .. }
            | KvError::Invalid { node, .. }
            | KvError::Unavailable { node, .. }
            | KvError::SessionExpired { node, .. }
            | KvError::Indeterminate { node, .. } => *node,
        }
    }
}

/// A successful operation: the state machine's response and the node that answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    /// The node whose service answered (it may have forwarded to the leader).
    pub node: NodeId,
    /// The state machine's response.
    pub response: KvResponse,
}

/// What one attempt says about the operation.
enum Attempt {
    Done(KvResponse),
    /// Certainly not applied; try `next` (a leader hint) or the next node.
    Retry {
        next: Option<NodeId>,
        error: String,
    },
    /// May have been applied.
    Unknown(String),
}

/// A client of the key-value service of a cluster.
pub struct KvClient<C: Connector> {
    channels: BTreeMap<NodeId, Channel<C, KvCommand, KvReply>>,
    config: KvClientConfig,
    leader: Mutex<Option<NodeId>>,
    /// The open session, when [`KvClientConfig::sessions`] is on: held across a write, so
    /// the session's writes go one at a time (§6.3).
    session: tokio::sync::Mutex<Option<OpenSession>>,
}

impl<C: Connector + Clone> KvClient<C> {
    /// A client of the nodes `nodes` (id and service address each). It connects lazily.
    pub fn new(
        connector: C,
        nodes: impl IntoIterator<Item = (NodeId, String)>,
        config: KvClientConfig,
    ) -> Self {
        KvClient::per_node(|_| connector.clone(), nodes, config)
    }
}

impl<C: Connector> KvClient<C> {
    /// A client of `nodes` reaching each through the connector `connect` makes for its id: a
    /// [`crate::tcp::tls::TlsConnector`] (feature `tls`) checks that it reached that node.
    pub fn per_node(
        connect: impl Fn(NodeId) -> C,
        nodes: impl IntoIterator<Item = (NodeId, String)>,
        config: KvClientConfig,
    ) -> Self {
        let channels = nodes
            .into_iter()
            .map(|(id, addr)| {
                let target = ChannelTarget {
                    addr,
                    protocol: Protocol::Commands,
                    from: None,
                    to: Some(id),
                };
                (
                    id,
                    Channel::new(connect(id), target, config.transport.clone()),
                )
            })
            .collect();
        KvClient {
            channels,
            config,
            leader: Mutex::new(None),
            session: tokio::sync::Mutex::new(None),
        }
    }
}

impl<C: Connector> KvClient<C> {
    /// Read `key`.
    pub async fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        let answered = self.execute(KvCommand::Get { key: key.into() }).await?;
        match answered.response {
            KvResponse::Value(value) => Ok(value),
            other => Err(unexpected(answered.node, &other)),
        }
    }

    /// Read `key` with the chosen consistency (dissertation §6.4).
    pub async fn read(
        &self,
        key: &str,
        consistency: ReadConsistency,
    ) -> Result<Option<String>, KvError> {
        let command = KvCommand::Read {
            key: key.into(),
            consistency,
        };
        let answered = self.execute(command).await?;
        match answered.response {
            KvResponse::Value(value) => Ok(value),
            other => Err(unexpected(answered.node, &other)),
        }
    }

    /// Set `key` to `value`.
    pub async fn put(&self, key: &str, value: &str) -> Result<(), KvError> {
        self.expect_done(KvCommand::Put {
            key: key.into(),
            value: value.into(),
        })
        .await
    }

    /// Remove `key`.
    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.expect_done(KvCommand::Delete { key: key.into() })
            .await
    }

    /// Set `key` to `new` if it holds `expected` (`None`: absent); else [`KvError::CasFailed`].
    pub async fn cas(&self, key: &str, expected: Option<&str>, new: &str) -> Result<(), KvError> {
        let command = KvCommand::Cas {
            key: key.into(),
            expected: expected.map(Into::into),
            new: new.into(),
        };
        self.expect_done(command).await
    }

    /// Append `value` to `key`'s value.
    pub async fn append(&self, key: &str, value: &str) -> Result<(), KvError> {
        self.expect_done(KvCommand::Append {
            key: key.into(),
            value: value.into(),
        })
        .await
    }

    /// The node that answered last, taken as the leader (or a node that reaches it).
    pub fn leader(&self) -> Option<NodeId> {
        *self
            .leader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn expect_done(&self, command: KvCommand) -> Result<(), KvError> {
        let answered = self.execute(command).await?;
        match answered.response {
            KvResponse::Done => Ok(()),
            other => Err(unexpected(answered.node, &other)),
        }
    }

    /// Run any command: ask the known leader first, follow `NotLeader` hints, otherwise go
    /// round the nodes, for at most `max_attempts` requests. A write whose outcome becomes
    /// unknown is not retried (it could apply twice) unless it goes through the client's
    /// session ([`KvClientConfig::sessions`]); a read is, since it changes nothing.
    /// A compare-and-set that fails and an invalid command are returned as errors.
    pub async fn execute(&self, command: KvCommand) -> Result<Answered, KvError> {
        if self.channels.is_empty() {
            return Err(no_nodes());
        }
        if self.config.sessions && is_write(&command) {
            return self.execute_in_session(command).await;
        }
        self.execute_attempts(command).await
    }

    /// [`KvClient::execute`] without a session: a command whose outcome becomes unknown is
    /// retried only if it is a read, a registration or already tagged with its session.
    async fn execute_attempts(&self, command: KvCommand) -> Result<Answered, KvError> {
        self.execute_tracking(command).await.0
    }

    /// [`KvClient::execute_attempts`], and whether some attempt's outcome was unknown (an
    /// answer that the command is not applied then says nothing of that attempt).
    async fn execute_tracking(&self, command: KvCommand) -> (Result<Answered, KvError>, bool) {
        let retry_unknown = !is_write(&command);
        if self.channels.is_empty() {
            return (Err(no_nodes()), false);
        }
        let mut node = self.first_node();
        let mut asked = BTreeSet::new();
        let mut unknown: Option<(NodeId, String)> = None;
        let mut last_error = String::from("max_attempts is 0");
        let mut last_node = node;
        for attempt in 1..=self.config.max_attempts {
            last_node = node;
            if !asked.insert(node) {
                tokio::time::sleep(self.config.retry_delay).await;
                asked = BTreeSet::from([node]);
            }
            let next = match self.attempt(node, command.clone()).await {
                Attempt::Done(response) => {
                    return (self.answered(node, &command, response), unknown.is_some());
                }
                Attempt::Retry { next, error } => {
                    last_error = format!("node {node}: {error}");
                    next
                }
                Attempt::Unknown(reason) if retry_unknown => {
                    last_error = format!("node {node}: {reason}");
                    unknown = Some((node, reason));
                    None
                }
                Attempt::Unknown(reason) => {
                    return (Err(KvError::Indeterminate { node, reason }), true);
                }
            };
            tracing::debug!(attempt, node, %last_error, "retrying");
            node = next
                .filter(|hint| self.channels.contains_key(hint))
                .unwrap_or_else(|| self.node_after(node));
        }
        match unknown {
            Some((node, reason)) => (Err(KvError::Indeterminate { node, reason }), true),
            None => (
                Err(KvError::Unavailable {
                    node: last_node,
                    attempts: self.config.max_attempts,
                    last_error,
                }),
                false,
            ),
        }
    }

    async fn attempt(&self, node: NodeId, command: KvCommand) -> Attempt {
        let Some(channel) = self.channels.get(&node) else {
            return Attempt::Retry {
                next: None,
                error: "unknown node".into(),
            };
        };
        match channel.call(command, self.config.request_timeout).await {
            Ok(Ok(response)) => Attempt::Done(response),
            Ok(Err(ServiceError::NotLeader { leader_hint })) => Attempt::Retry {
                next: leader_hint,
                error: ServiceError::NotLeader { leader_hint }.to_string(),
            },
            Ok(Err(error)) if error.is_definite() => Attempt::Retry {
                next: None,
                error: error.to_string(),
            },
            Ok(Err(error)) => Attempt::Unknown(error.to_string()),
            Err(error) => call_failed(error),
        }
    }

    fn answered(
        &self,
        node: NodeId,
        command: &KvCommand,
        response: KvResponse,
    ) -> Result<Answered, KvError> {
        *self
            .leader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(node);
        match response {
            KvResponse::CasFailed { current } => Err(KvError::CasFailed {
                node,
                key: command.key().into(),
                current,
            }),
            KvResponse::Invalid(reason) => Err(KvError::Invalid { node, reason }),
            response => Ok(Answered { node, response }),
        }
    }

    fn first_node(&self) -> NodeId {
        self.leader()
            .filter(|leader| self.channels.contains_key(leader))
            .or_else(|| self.channels.keys().next().copied())
            .unwrap_or_default()
    }

    fn node_after(&self, node: NodeId) -> NodeId {
        let later = self
            .channels
            .range((Bound::Excluded(node), Bound::Unbounded));
        let mut after = later.chain(self.channels.range(..=node));
        after.next().map(|(id, _)| *id).unwrap_or(node)
    }
}

fn no_nodes() -> KvError {
    KvError::Unavailable {
        node: NodeId::default(),
        attempts: 0,
        last_error: "no nodes configured".into(),
    }
}

/// Whether `command` changes the store (and so may not be retried blindly).
fn is_write(command: &KvCommand) -> bool {
    !matches!(
        command,
        KvCommand::Get { .. }
            | KvCommand::Read { .. }
            | KvCommand::RegisterSession
            | KvCommand::InSession { .. }
    )
}

fn call_failed(error: CallError) -> Attempt {
    if error.is_definite() {
        Attempt::Retry {
            next: None,
            error: error.to_string(),
        }
    } else {
        Attempt::Unknown(error.to_string())
    }
}

/// The service answered with a response of the wrong kind: the command was applied, but what
/// it did is unclear.
fn unexpected(node: NodeId, response: &KvResponse) -> KvError {
    KvError::Indeterminate {
        node,
        reason: format!("unexpected response {response:?}"),
    }
}
