//! Jepsen's client routing: each client process talks to one node, whatever its role, and a
//! process whose operation ended indeterminate is replaced by one on the next node
//! ([`ClientRouting::Pinned`]). A node that is not the leader forwards a write to the leader
//! it knows and refuses a ReadIndex or lease read (`NotLeader`, recorded `fail`), unless
//! follower reads are on (`--follower-reads`): then it asks the leader for the read index and
//! serves once it applied that far (dissertation §6.4). So some
//! clients keep talking to a deposed leader while others' writes commit at its successor:
//! the moment a read that skips a step of §6.4 goes stale.

use std::time::Duration;

use async_trait::async_trait;
use rafty::ReadConsistency;
use rafty::service::KvClientConfig;
use rafty_workloads::{ClientOp, OpResult};
use serde::{Deserialize, Serialize};

use super::client::KvApi;
use super::clock;
use super::kv_api::ServiceApi;

/// How workload clients choose the node they ask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientRouting {
    /// Each client follows the leader: the node that answered last first, then `NotLeader`
    /// hints, else round the nodes (rafty's `KvClient`; every recorded catalogue seed).
    #[default]
    Leader,
    /// Each client process asks one node only, once per operation (client `i` starts on the
    /// `i`-th node); after an indeterminate operation its next process asks the next node.
    /// The final reads follow the leader, so every key gets one.
    Pinned,
}

/// The command-line names of the routings.
pub const ROUTINGS: [(ClientRouting, &str); 2] = [
    (ClientRouting::Leader, "leader"),
    (ClientRouting::Pinned, "pinned"),
];

impl ClientRouting {
    /// Parse a `--clients` name.
    pub fn parse(text: &str) -> Result<ClientRouting, String> {
        ROUTINGS
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(routing, _)| *routing)
            .ok_or_else(|| format!("unknown clients `{text}`; expected leader or pinned"))
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        ROUTINGS
            .iter()
            .find(|(routing, _)| *routing == self)
            .map_or("?", |(_, name)| name)
    }
}

/// How long a pinned client waits for one request: about an election timeout (the settings
/// draw 50 to 150 ms minimums). A deposed leader answers reads only until its check-quorum
/// (one or two minimum election timeouts after it was cut off), so a client stuck longer on
/// a write forwarded to it would never write at the successor within that window.
pub const PINNED_REQUEST_TIMEOUT: Duration = Duration::from_millis(100);

/// A client pinned to one node at a time (see [`ClientRouting::Pinned`]).
pub struct PinnedApi {
    /// One single-node way in per node, in node order.
    pinned: Vec<ServiceApi>,
    /// The node asked now (an index into `pinned`).
    current: usize,
    /// The leader-following way in, for the final reads.
    free: ServiceApi,
    /// From here on (the time limit) the client follows the leader.
    pinned_until: Duration,
}

impl PinnedApi {
    /// Client number `index`, pinned to one of `members` at a time until `until`, then
    /// following the leader among `nodes` (on `port`), its reads made consistent as `reads`
    /// says; `config` is the leader-following client's.
    ///
    /// `members` are the initial configuration's nodes, never the `membership` nemesis's
    /// spare hosts: a spare outside the configuration knows no leader and refuses every
    /// operation definitely, and a definite refusal never moves a client on, so a client
    /// pinned to it would fail until the time limit (the soak's seed 24 of `--reads lease
    /// --clients pinned --follower-reads --nemesis all,depose,membership`: every client
    /// ended up on n6 or n7, and no operation succeeded from 6.5 s on).
    pub fn new(
        index: u64,
        (members, nodes): (&[rafty::NodeId], &[rafty::NodeId]),
        port: u16,
        config: &KvClientConfig,
        reads: ReadConsistency,
        until: Duration,
    ) -> PinnedApi {
        assert!(!members.is_empty(), "a pinned client needs a node");
        // One request per operation: a refusal is a `fail`, as a Jepsen client's would be;
        // and a request that is not answered soon is given up (`info`), so that a client whose
        // node forwarded a write to a leader cut off moves on within an election.
        let once = KvClientConfig {
            max_attempts: 1,
            request_timeout: PINNED_REQUEST_TIMEOUT,
            ..config.clone()
        };
        let pinned = members
            .iter()
            .map(|&node| ServiceApi::new(&[node], port, once.clone()).with_reads(reads, until))
            .collect();
        PinnedApi {
            pinned,
            current: index as usize % members.len(),
            free: ServiceApi::new(nodes, port, config.clone()).with_reads(reads, until),
            pinned_until: until,
        }
    }
}

#[async_trait(?Send)]
impl KvApi for PinnedApi {
    async fn execute(&mut self, op: &ClientOp) -> (OpResult, Option<String>) {
        if clock::now() >= self.pinned_until {
            return self.free.execute(op).await;
        }
        let done = self.pinned[self.current].execute(op).await;
        if matches!(done.0, OpResult::Info(_)) {
            // The client moves on as a new process (client.rs): on the next node.
            self.current = (self.current + 1) % self.pinned.len();
        }
        done
    }
}

/// A workload client's way in, routed as [`ClientRouting`] says.
pub enum RoutedApi {
    /// Following the leader.
    Leader(ServiceApi),
    /// Pinned to one node at a time.
    Pinned(PinnedApi),
}

impl RoutedApi {
    /// Client number `index`'s way into the nodes `nodes` (on `port`), routed by `routing`
    /// (pinned clients only to `members`, the initial configuration's: see
    /// [`PinnedApi::new`]), with `config` (the leader-following client's) and `reads` (the
    /// consistency, and the time from which stale reads give way and pinned clients follow
    /// the leader).
    pub fn new(
        routing: ClientRouting,
        index: u64,
        (members, nodes): (&[rafty::NodeId], &[rafty::NodeId]),
        port: u16,
        config: &KvClientConfig,
        reads: (ReadConsistency, Duration),
    ) -> RoutedApi {
        let (consistency, until) = reads;
        match routing {
            ClientRouting::Leader => RoutedApi::Leader(
                ServiceApi::new(nodes, port, config.clone()).with_reads(consistency, until),
            ),
            ClientRouting::Pinned => RoutedApi::Pinned(PinnedApi::new(
                index,
                (members, nodes),
                port,
                config,
                consistency,
                until,
            )),
        }
    }
}

#[async_trait(?Send)]
impl KvApi for RoutedApi {
    async fn execute(&mut self, op: &ClientOp) -> (OpResult, Option<String>) {
        match self {
            RoutedApi::Leader(api) => api.execute(op).await,
            RoutedApi::Pinned(api) => api.execute(op).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pinned clients are spread over the initial configuration's nodes, never over the
    /// `membership` nemesis's spare hosts (which answer nothing but NotLeader with no leader,
    /// definitely, so a client pinned there would never move on); their final reads may ask
    /// any node.
    #[test]
    fn pinned_clients_are_pinned_to_members_only() {
        let (members, nodes) = ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6, 7]);
        let config = KvClientConfig::new(1);
        for index in 0..20 {
            let api = PinnedApi::new(
                index,
                (&members, &nodes),
                7000,
                &config,
                ReadConsistency::Linearizable,
                Duration::from_secs(10),
            );
            assert_eq!(api.pinned.len(), members.len());
            assert_eq!(api.current, index as usize % members.len());
        }
    }

    #[test]
    fn every_routing_parses_back_from_its_name_and_others_are_named_in_the_error() {
        for (routing, name) in ROUTINGS {
            assert_eq!(ClientRouting::parse(name), Ok(routing));
            assert_eq!(routing.name(), name);
        }
        let error = ClientRouting::parse("sticky").unwrap_err();
        assert!(
            error.contains("sticky") && error.contains("pinned"),
            "{error}"
        );
        assert_eq!(ClientRouting::default(), ClientRouting::Leader);
    }
}
