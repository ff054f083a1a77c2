//! The key-value service and [`KvClient`] over real sockets, with fake nodes: leader finding,
//! hints, definite and indefinite failures.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::service::{CommandSubmitter, KvClient, KvClientConfig, KvError, serve_kv};
use rafty::tcp::{ServerHandle, TokioAcceptor, TokioConnector, TransportConfig};
use rafty::{ClientError, KvCommand, KvStateMachine, NodeId};

const CLUSTER: u64 = 11;

/// How a fake node answers a submitted command.
enum Role {
    Leader(Mutex<KvStateMachine>),
    Follower(Option<NodeId>),
    Stalled,
    ShutDown,
    /// No server at the address.
    Dead,
}

struct FakeNode {
    role: Role,
    submitted: AtomicU64,
}

impl CommandSubmitter for FakeNode {
    async fn submit(&self, command: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        self.submitted.fetch_add(1, Ordering::SeqCst);
        match &self.role {
            Role::Leader(machine) => {
                let command =
                    KvCommand::decode(&command).expect("the service sends valid commands");
                let response = machine.lock().unwrap().execute(command);
                Ok(response.encode().unwrap())
            }
            Role::Follower(leader_hint) => Err(ClientError::NotLeader {
                leader_hint: *leader_hint,
            }),
            Role::Stalled => std::future::pending().await,
            Role::ShutDown => Err(ClientError::Shutdown),
            Role::Dead => unreachable!("a dead node serves nothing"),
        }
    }
}

struct Cluster {
    nodes: Vec<Arc<FakeNode>>,
    addrs: Vec<(NodeId, String)>,
    _servers: Vec<ServerHandle>,
}

impl Cluster {
    async fn start(roles: Vec<Role>) -> Cluster {
        let (mut nodes, mut addrs, mut servers) = (Vec::new(), Vec::new(), Vec::new());
        for (index, role) in roles.into_iter().enumerate() {
            let id = index as NodeId + 1;
            let dead = matches!(role, Role::Dead);
            let node = Arc::new(FakeNode {
                role,
                submitted: AtomicU64::new(0),
            });
            let acceptor = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
            addrs.push((id, acceptor.local_addr().unwrap().to_string()));
            if !dead {
                servers.push(serve_kv(
                    acceptor,
                    node.clone(),
                    id,
                    TransportConfig::new(CLUSTER),
                ));
            }
            nodes.push(node);
        }
        Cluster {
            nodes,
            addrs,
            _servers: servers,
        }
    }

    fn client(&self) -> KvClient<TokioConnector> {
        client_of(self.addrs.clone(), CLUSTER)
    }

    fn submitted(&self, id: NodeId) -> u64 {
        self.nodes[id as usize - 1].submitted.load(Ordering::SeqCst)
    }
}

fn client_of(addrs: Vec<(NodeId, String)>, cluster_id: u64) -> KvClient<TokioConnector> {
    let config = KvClientConfig {
        request_timeout: Duration::from_millis(200),
        max_attempts: 5,
        retry_delay: Duration::from_millis(10),
        ..KvClientConfig::new(cluster_id)
    };
    KvClient::new(TokioConnector, addrs, config)
}

fn leader() -> Role {
    Role::Leader(Mutex::new(KvStateMachine::new()))
}

#[tokio::test]
async fn every_operation_works_through_the_leader_found_by_hint() {
    let cluster = Cluster::start(vec![
        Role::Follower(Some(3)),
        Role::Follower(Some(3)),
        leader(),
    ])
    .await;
    let client = cluster.client();
    assert_eq!(client.get("k").await, Ok(None));
    assert_eq!(client.leader(), Some(3));
    client.put("k", "a").await.unwrap();
    client.append("k", "b").await.unwrap();
    assert_eq!(client.get("k").await, Ok(Some("ab".into())));
    client.cas("k", Some("ab"), "c").await.unwrap();
    let failed = client.cas("k", Some("ab"), "d").await.unwrap_err();
    assert_eq!(
        failed,
        KvError::CasFailed {
            node: 3,
            key: "k".into(),
            current: Some("c".into())
        }
    );
    assert!(failed.is_definite());
    client.delete("k").await.unwrap();
    assert_eq!(client.get("k").await, Ok(None));
    assert_eq!(
        cluster.submitted(1),
        1,
        "only the first request went to a follower"
    );
    assert_eq!(cluster.submitted(2), 0);
}

#[tokio::test]
async fn an_unreachable_node_is_skipped() {
    let cluster = Cluster::start(vec![Role::Dead, leader()]).await;
    let client = cluster.client();
    client.put("k", "v").await.unwrap();
    assert_eq!(client.get("k").await, Ok(Some("v".into())));
    assert_eq!(client.leader(), Some(2));
}

#[tokio::test]
async fn a_write_whose_outcome_is_unknown_is_indeterminate_and_not_retried() {
    let cluster = Cluster::start(vec![Role::Stalled, leader()]).await;
    let error = cluster.client().put("k", "v").await.unwrap_err();
    assert!(
        matches!(error, KvError::Indeterminate { node: 1, .. }),
        "{error:?}"
    );
    assert!(!error.is_definite());
    assert_eq!(
        cluster.submitted(2),
        0,
        "a write that may have applied is never sent again"
    );
}

#[tokio::test]
async fn a_node_shutting_down_mid_command_is_indeterminate() {
    let cluster = Cluster::start(vec![Role::ShutDown, leader()]).await;
    let error = cluster.client().append("k", "v").await.unwrap_err();
    assert!(
        matches!(error, KvError::Indeterminate { node: 1, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_read_whose_outcome_is_unknown_is_retried_elsewhere() {
    let cluster = Cluster::start(vec![Role::Stalled, leader()]).await;
    assert_eq!(cluster.client().get("k").await, Ok(None));
    assert_eq!(cluster.submitted(2), 1);
}

#[tokio::test]
async fn without_a_leader_the_client_gives_up_definitely_after_its_attempts() {
    let cluster = Cluster::start(vec![Role::Follower(None), Role::Follower(None)]).await;
    let error = cluster.client().put("k", "v").await.unwrap_err();
    let KvError::Unavailable {
        attempts,
        last_error,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(*attempts, 5);
    assert!(last_error.contains("not the leader"), "{last_error}");
    assert!(error.is_definite());
    assert_eq!(cluster.submitted(1) + cluster.submitted(2), 5);
}

#[tokio::test]
async fn a_client_of_another_cluster_is_refused_definitely() {
    let cluster = Cluster::start(vec![leader()]).await;
    let error = client_of(cluster.addrs.clone(), 99)
        .put("k", "v")
        .await
        .unwrap_err();
    let KvError::Unavailable { last_error, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        last_error.contains("cluster 11") && last_error.contains("cluster 99"),
        "{last_error}"
    );
    assert_eq!(cluster.submitted(1), 0);
}

#[tokio::test]
async fn a_client_of_no_nodes_is_unavailable_at_once_naming_why() {
    let error = client_of(Vec::new(), 7).get("k").await.unwrap_err();
    assert_eq!(
        error,
        KvError::Unavailable {
            node: 0,
            attempts: 0,
            last_error: "no nodes configured".into()
        }
    );
    assert!(error.is_definite());
}
