//! `rafty admin` against a real three-node cluster on loopback TCP (in this process): calls
//! made at a follower follow its "not the leader" hint to the leader, a change commits, a
//! transfer moves leadership (dissertation §3.10), refusals are reported as such, and a hint
//! to a node whose address was not given is an error that says what to add.

use std::sync::Arc;
use std::time::Duration;

use rafty::core::Role;
use rafty::node::{Node, NodeOptions};
use rafty::service::{AdminAnswer, serve_admin};
use rafty::tcp::{
    ServerHandle, TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};
use rafty::{
    Config, KvStateMachine, Membership, MemoryLog, NodeId, Peer, RpcHandler, StaticPeersProvider,
};
use rafty_harness::cli::admin::{Args, Call, Outcome, call, describe};

const CLUSTER: u64 = 41;

struct Cluster {
    nodes: Vec<Node>,
    admin: Vec<(NodeId, String)>,
    _servers: Vec<ServerHandle>,
}

async fn start_cluster() -> Cluster {
    let mut raft_acceptors = Vec::new();
    let mut raft_addrs = Vec::new();
    for _ in 0..3 {
        let acceptor = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
        raft_addrs.push(acceptor.local_addr().unwrap().to_string());
        raft_acceptors.push(acceptor);
    }
    let (mut nodes, mut admin, mut servers) = (Vec::new(), Vec::new(), Vec::new());
    for (i, raft_acceptor) in raft_acceptors.into_iter().enumerate() {
        let id = i as NodeId + 1;
        let peers: Vec<Arc<dyn Peer>> = (1..=3)
            .filter(|other| *other != id)
            .map(|other| {
                Arc::new(TcpPeer::new(
                    TokioConnector,
                    id,
                    other,
                    raft_addrs[other as usize - 1].clone(),
                    TransportConfig::new(CLUSTER),
                )) as Arc<dyn Peer>
            })
            .collect();
        let node = Node::start(
            id,
            MemoryLog::new(),
            KvStateMachine::new(),
            Arc::new(StaticPeersProvider::new(peers)),
            Arc::new(Config::default()),
            NodeOptions::with_seed(id),
        )
        .await
        .unwrap();
        let handler: Arc<dyn RpcHandler> = Arc::new(node.clone());
        servers.push(serve_raft(
            raft_acceptor,
            handler,
            id,
            TransportConfig::new(CLUSTER),
        ));
        let admin_acceptor = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
        admin.push((id, admin_acceptor.local_addr().unwrap().to_string()));
        servers.push(serve_admin(
            admin_acceptor,
            node.clone(),
            id,
            TransportConfig::new(CLUSTER),
        ));
        nodes.push(node);
    }
    Cluster {
        nodes,
        admin,
        _servers: servers,
    }
}

impl Cluster {
    /// The leader, once one has committed an entry of its term.
    async fn leader(&self) -> NodeId {
        for _ in 0..500 {
            if let Some(leader) = self
                .nodes
                .iter()
                .find(|n| n.role() == Role::Leader && n.status().commit_index > 0)
            {
                return leader.id();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no leader within 10 s");
    }

    /// `rafty admin` arguments asking `first` first, knowing the addresses of `known`.
    fn args(&self, first: NodeId, known: &[NodeId], call: Call) -> Args {
        let mut nodes: Vec<(NodeId, String)> = self
            .admin
            .iter()
            .filter(|(id, _)| known.contains(id))
            .cloned()
            .collect();
        nodes.sort_by_key(|(id, _)| *id != first);
        Args {
            nodes,
            cluster_id: CLUSTER,
            timeout: Duration::from_secs(10),
            tls_cert: None,
            tls_key: None,
            tls_ca: None,
            call,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_reach_the_leader_change_the_configuration_and_transfer_leadership() {
    let cluster = start_cluster().await;
    let leader = cluster.leader().await;
    let follower = (1..=3).find(|n| *n != leader).unwrap();
    let all = [1, 2, 3];

    let shown = call(&cluster.args(follower, &all, Call::Show))
        .await
        .unwrap();
    assert_eq!(
        shown,
        Outcome::Done(
            follower,
            AdminAnswer::Membership {
                membership: Membership::new([1, 2, 3]),
                index: 0
            }
        ),
        "show answers the configuration of the node asked"
    );

    // Asked at a follower, the change follows its hint to the leader and commits there.
    let added = call(&cluster.args(follower, &all, Call::AddLearner { id: 4 }))
        .await
        .unwrap();
    assert!(
        matches!(added, Outcome::Done(at, AdminAnswer::Changed { .. }) if at == leader),
        "{added:?}"
    );
    assert!(
        describe(&added).contains("committed"),
        "{}",
        describe(&added)
    );
    let (membership, _) = cluster.nodes[leader as usize - 1].membership();
    assert_eq!(membership, Membership::new([1, 2, 3]).with_learners([4]));
    let removed = call(&cluster.args(leader, &all, Call::Remove { id: 4 }))
        .await
        .unwrap();
    assert!(
        matches!(removed, Outcome::Done(_, AdminAnswer::Changed { .. })),
        "{removed:?}"
    );

    // A refusal is the cluster's answer, not an error: exit code 1, with its reason.
    let refused = call(&cluster.args(leader, &all, Call::Promote { id: 9 }))
        .await
        .unwrap();
    assert!(
        matches!(&refused, Outcome::Refused(_, failure) if failure.definite),
        "{refused:?}"
    );
    assert!(describe(&refused).starts_with("refused by n"));

    // §3.10: the target leads after the transfer.
    let target = follower;
    let moved = call(&cluster.args(follower, &all, Call::Transfer { id: target }))
        .await
        .unwrap();
    assert_eq!(moved, Outcome::Done(leader, AdminAnswer::Transferred));
    assert_eq!(cluster.leader().await, target);

    // The old leader, now a follower, names the new one; without its address the call fails
    // with what to add.
    let error = call(&cluster.args(leader, &[leader], Call::AddLearner { id: 5 }))
        .await
        .unwrap_err();
    assert!(
        error.contains(&format!("add --node {target}=HOST:PORT")),
        "{error}"
    );
    for node in &cluster.nodes {
        node.stop().await;
    }
}
