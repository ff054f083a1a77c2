//! A 3-node cluster over real TCP on 127.0.0.1 (MemoryLog + KvStateMachine, TcpPeer between
//! nodes, the key-value service for clients): a KvClient reads and writes, the leader is
//! killed, and the client goes on with the new leader.

use std::sync::Arc;
use std::time::Duration;

use rafty::core::Role;
use rafty::kv::KvCommand;
use rafty::node::{Node, NodeOptions};
use rafty::service::{KvClient, KvClientConfig, KvError, serve_kv};
use rafty::tcp::{
    ServerHandle, TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};
use rafty::{
    ClientError, Config, KvStateMachine, MemoryLog, NodeId, Peer, ReadConsistency, RpcHandler,
    StaticPeersProvider,
};

const CLUSTER: u64 = 3;
const IDS: [NodeId; 3] = [1, 2, 3];

struct Running {
    node: Node,
    raft_server: ServerHandle,
    kv_server: ServerHandle,
}

struct Cluster {
    nodes: Vec<Running>,
    kv_addrs: Vec<(NodeId, String)>,
}

impl Cluster {
    async fn start() -> Cluster {
        Cluster::start_with(Config::default()).await
    }

    async fn start_with(config: Config) -> Cluster {
        let mut raft_acceptors = Vec::new();
        let mut kv_acceptors = Vec::new();
        for _ in IDS {
            raft_acceptors.push(TokioAcceptor::bind("127.0.0.1:0").await.unwrap());
            kv_acceptors.push(TokioAcceptor::bind("127.0.0.1:0").await.unwrap());
        }
        let addr = |acceptor: &TokioAcceptor| acceptor.local_addr().unwrap().to_string();
        let raft_addrs: Vec<String> = raft_acceptors.iter().map(addr).collect();
        let kv_addrs: Vec<(NodeId, String)> =
            IDS.into_iter().zip(kv_acceptors.iter().map(addr)).collect();
        let mut nodes = Vec::new();
        let acceptors = raft_acceptors.into_iter().zip(kv_acceptors);
        for (id, (raft_acceptor, kv_acceptor)) in IDS.into_iter().zip(acceptors) {
            let peers: Vec<Arc<dyn Peer>> = IDS
                .into_iter()
                .zip(&raft_addrs)
                .filter(|(peer, _)| *peer != id)
                .map(|(peer, addr)| {
                    let tcp = TcpPeer::new(
                        TokioConnector,
                        id,
                        peer,
                        addr.clone(),
                        TransportConfig::new(CLUSTER),
                    );
                    Arc::new(tcp) as Arc<dyn Peer>
                })
                .collect();
            let options = NodeOptions {
                seed: 7,
                check_invariants: true,
                ..NodeOptions::default()
            };
            let node = Node::start(
                id,
                MemoryLog::new(),
                KvStateMachine::new(),
                Arc::new(StaticPeersProvider::new(peers)),
                Arc::new(config.clone()),
                options,
            )
            .await
            .unwrap();
            let handler: Arc<dyn RpcHandler> = Arc::new(node.clone());
            let raft_server = serve_raft(raft_acceptor, handler, id, TransportConfig::new(CLUSTER));
            let kv_server = serve_kv(
                kv_acceptor,
                Arc::new(node.clone()),
                id,
                TransportConfig::new(CLUSTER),
            );
            nodes.push(Running {
                node,
                raft_server,
                kv_server,
            });
        }
        Cluster { nodes, kv_addrs }
    }

    fn client(&self) -> KvClient<TokioConnector> {
        let config = KvClientConfig {
            // Longer than the nodes' command timeout (2 s), so their own answers come through.
            request_timeout: Duration::from_secs(3),
            max_attempts: 30,
            retry_delay: Duration::from_millis(100),
            ..KvClientConfig::new(CLUSTER)
        };
        KvClient::new(TokioConnector, self.kv_addrs.clone(), config)
    }

    /// A client of node `id` only, asking it once per operation.
    fn client_of(&self, id: NodeId) -> KvClient<TokioConnector> {
        let config = KvClientConfig {
            request_timeout: Duration::from_secs(3),
            max_attempts: 1,
            ..KvClientConfig::new(CLUSTER)
        };
        let addr = self.kv_addrs[id as usize - 1].clone();
        KvClient::new(TokioConnector, vec![addr], config)
    }

    /// The id and term of the one running leader with the highest term, waiting up to 10 s.
    async fn leader(&self) -> (NodeId, u64) {
        for _ in 0..200 {
            let leader = self
                .nodes
                .iter()
                .map(|running| running.node.status())
                .filter(|status| status.running && status.role == Role::Leader)
                .max_by_key(|status| status.term);
            if let Some(status) = leader {
                return (status.id, status.term);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no leader elected within 10 s");
    }

    async fn kill(&self, id: NodeId) {
        let running = &self.nodes[id as usize - 1];
        running.kv_server.shutdown();
        running.raft_server.shutdown();
        running.node.stop().await;
    }

    async fn stop(&self) {
        for id in IDS {
            self.kill(id).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_reads_and_writes_and_survives_the_leader_being_killed() {
    let cluster = Cluster::start().await;
    let client = cluster.client();
    let (old_leader, old_term) = cluster.leader().await;

    client.put("x", "1").await.unwrap();
    assert_eq!(client.get("x").await, Ok(Some("1".into())));
    client.cas("x", Some("1"), "2").await.unwrap();
    let failed = client.cas("x", Some("1"), "3").await.unwrap_err();
    assert!(
        matches!(failed, KvError::CasFailed { ref current, .. } if current.as_deref() == Some("2")),
        "{failed:?}"
    );
    assert!(failed.is_definite());
    client.append("log", "a").await.unwrap();
    client.append("log", "b").await.unwrap();
    assert_eq!(client.get("log").await, Ok(Some("ab".into())));
    client.put("gone", "soon").await.unwrap();
    client.delete("gone").await.unwrap();
    assert_eq!(client.get("gone").await, Ok(None));

    cluster.kill(old_leader).await;
    let (new_leader, new_term) = cluster.leader().await;
    assert_ne!(new_leader, old_leader);
    assert!(new_term > old_term, "term {new_term} after {old_term}");

    assert_eq!(
        client.get("x").await,
        Ok(Some("2".into())),
        "committed writes survive"
    );
    client.append("log", "c").await.unwrap();
    client.cas("x", Some("2"), "4").await.unwrap();
    assert_eq!(client.get("log").await, Ok(Some("abc".into())));
    assert_eq!(client.get("x").await, Ok(Some("4".into())));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_issued_as_the_leader_dies_is_retried_until_a_new_leader_answers() {
    let cluster = Cluster::start().await;
    let client = cluster.client();
    let (old_leader, _) = cluster.leader().await;
    client.put("x", "1").await.unwrap();

    cluster.kill(old_leader).await;
    // No waiting for the election: reads change nothing, so the client retries them through
    // refused connections, stale hints and failed forwards until a new leader answers.
    assert_eq!(client.get("x").await, Ok(Some("1".into())));
    assert_ne!(client.leader(), Some(old_leader));
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_to_a_killed_leader_is_definite_and_never_applies() {
    let cluster = Cluster::start().await;
    let client = cluster.client();
    let (old_leader, _) = cluster.leader().await;
    client.put("x", "1").await.unwrap();
    let follower = IDS.into_iter().find(|id| *id != old_leader).unwrap();

    cluster.kill(old_leader).await;
    let killed = &cluster.nodes[old_leader as usize - 1].raft_server;
    while !killed.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Let the follower's transport see its connection to the old leader close.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let command = KvCommand::Put {
        key: "k".into(),
        value: "lost".into(),
    };
    let node = &cluster.nodes[follower as usize - 1].node;
    let term_and_leader = |status: rafty::node::Status| (status.term, status.leader);
    let before = term_and_leader(node.status());
    let outcome = node.submit(command.encode().unwrap()).await;
    let after = term_and_leader(node.status());
    // The dial to the dead leader is refused before a byte of the command is sent (or the
    // follower already lost the leader): proposed nowhere, definite.
    let Err(error @ ClientError::NotLeader { leader_hint }) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(error.is_definite());
    // When the follower knew the old leader, in one term, from before the submit to after its
    // answer, it forwarded the command there: only the `NotSent` path answers `NotLeader`
    // hinting at the leader the forward went to (a dead leader answers nothing itself).
    if before == after && after.1 == Some(old_leader) {
        assert_eq!(leader_hint, Some(old_leader), "the forward was not NotSent");
    }
    assert_eq!(client.get("k").await, Ok(None));
    assert_ne!(client.leader(), Some(old_leader));
    cluster.stop().await;
}

/// Dissertation §6.4 (follower reads) through the key-value service: with `follower_reads`
/// on, a client that asks only a follower gets linearizable and lease reads served there (the
/// follower asks the leader for the read index over TCP), and they see a write the leader
/// acknowledged just before, whether or not the follower had applied it yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_serves_linearizable_reads_through_the_service() {
    let config = Config {
        follower_reads: true,
        lease_read_margin: Some(Duration::from_millis(30)),
        ..Config::default()
    };
    let cluster = Cluster::start_with(config).await;
    let client = cluster.client();
    let (leader, _) = cluster.leader().await;
    let follower = IDS.into_iter().find(|id| *id != leader).unwrap();
    let at_follower = cluster.client_of(follower);
    for (round, consistency) in [ReadConsistency::Linearizable, ReadConsistency::Lease]
        .into_iter()
        .enumerate()
    {
        let value = round.to_string();
        client.put("x", &value).await.unwrap();
        assert_eq!(
            at_follower.read("x", consistency).await,
            Ok(Some(value)),
            "{consistency:?} at follower {follower}"
        );
    }
    let role = cluster.nodes[follower as usize - 1].node.status().role;
    assert_eq!(role, Role::Follower, "the reads were served by a follower");
    cluster.stop().await;
}
