//! The registry's HTTP API on three in-process nodes (in-memory logs, in-process network),
//! each serving its API on a loopback port, driven through `RegistryClient`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rafty::core::Role;
use rafty::node::NodeOptions;
use rafty::{
    Config, InProcessNetwork, MemoryLog, MemoryStorage, Node, NodeId, StaticPeersProvider,
};
use rafty_registry::client::{Outcome, RegistryClient};
use rafty_registry::{Api, ChangeKind, Response, spawn_ticker};

struct Cluster {
    nodes: BTreeMap<NodeId, Node>,
    http: BTreeMap<NodeId, String>,
}

async fn start() -> Cluster {
    let network = InProcessNetwork::new();
    let ids = [1, 2, 3];
    let mut listeners = BTreeMap::new();
    for id in ids {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listeners.insert(id, listener);
    }
    let http: BTreeMap<NodeId, String> = (listeners.iter())
        .map(|(id, l)| (*id, l.local_addr().unwrap().to_string()))
        .collect();
    let mut nodes = BTreeMap::new();
    for id in ids {
        let peers = (ids.iter().filter(|p| **p != id))
            .map(|p| network.peer(id, *p))
            .collect();
        let (machine, applied) = rafty_registry::state_machine(1000);
        let node = Node::start(
            id,
            MemoryLog::open(&MemoryStorage::default()),
            machine,
            Arc::new(StaticPeersProvider::new(peers)),
            Arc::new(Config::default()),
            NodeOptions::with_seed(id),
        )
        .await
        .unwrap();
        network.register(id, Arc::new(node.clone()));
        spawn_ticker(node.clone(), Duration::from_millis(50));
        let others = (http.iter().filter(|(p, _)| **p != id))
            .map(|(p, a)| (*p, a.clone()))
            .collect();
        let api = Api::new(node.clone(), applied, others);
        let listener = listeners.remove(&id).unwrap();
        tokio::spawn(rafty_registry::http::serve(listener, api));
        nodes.insert(id, node);
    }
    Cluster { nodes, http }
}

impl Cluster {
    async fn leader(&self) -> NodeId {
        for _ in 0..200 {
            if let Some((id, _)) = self.nodes.iter().find(|(_, n)| n.role() == Role::Leader) {
                return *id;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("no leader elected");
    }

    fn client(&self, first: NodeId) -> RegistryClient {
        RegistryClient::new(self.http.clone(), first)
    }
}

fn ok(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Ok(response) => response,
        other => panic!("not ok: {other:?}"),
    }
}

fn ids(response: &Response) -> Vec<String> {
    match response {
        Response::Instances { instances, .. } => instances.iter().map(|i| i.id.clone()).collect(),
        other => panic!("not instances: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_list_and_deregister_through_a_follower() {
    let cluster = start().await;
    let leader = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let mut client = cluster.client(follower);
    let registered = ok(client.register("web", "a", "10.0.0.1:80", 10_000).await);
    assert!(
        matches!(registered, Response::Registered { revision: 1, .. }),
        "{registered:?}"
    );
    ok(client.register("web", "b", "10.0.0.2:80", 10_000).await);
    assert_eq!(ids(&ok(client.list("web").await)), ["a", "b"]);
    let gone = ok(client.deregister("web", "a").await);
    assert!(
        matches!(
            gone,
            Response::Deregistered {
                existed: true,
                revision: 3
            }
        ),
        "{gone:?}"
    );
    assert_eq!(ids(&ok(client.list("web").await)), ["b"]);
    // The linearizable read went to the leader: the client followed the hint.
    assert_eq!(client.current(), leader);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_resumes_from_a_revision_and_waits_for_the_next_change() {
    let cluster = start().await;
    cluster.leader().await;
    let mut writer = cluster.client(1);
    ok(writer.register("web", "a", "a:1", 10_000).await);
    ok(writer.register("db", "x", "x:1", 10_000).await);
    ok(writer.register("web", "b", "b:1", 10_000).await);
    let mut watcher = cluster.client(2);
    let Response::Changes { changes, .. } = ok(watcher.watch("web", 1, Duration::ZERO).await)
    else {
        panic!("not changes")
    };
    let seen: Vec<(u64, u64)> = changes.iter().map(|c| (c.revision, c.version)).collect();
    assert_eq!(seen, [(1, 1), (3, 2)]);
    // Nothing from revision 4 on yet: the long poll waits for the deregistration.
    let waiting =
        tokio::spawn(async move { watcher.watch("web", 4, Duration::from_secs(10)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    ok(writer.deregister("web", "a").await);
    let Response::Changes { changes, .. } = ok(waiting.await.unwrap()) else {
        panic!("not changes")
    };
    assert_eq!(changes.len(), 1);
    assert!(matches!(&changes[0].kind, ChangeKind::Deregistered { id } if id == "a"));
    assert_eq!(changes[0].version, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_whose_lease_is_not_kept_alive_expires_and_its_watch_says_so() {
    let cluster = start().await;
    cluster.leader().await;
    let mut client = cluster.client(1);
    let Response::Registered { lease: kept, .. } =
        ok(client.register("web", "kept", "k:1", 400).await)
    else {
        panic!("not registered")
    };
    ok(client.register("web", "dropped", "d:1", 400).await);
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let renewed = ok(client.keepalive(kept).await);
        assert!(matches!(renewed, Response::KeptAlive { .. }), "{renewed:?}");
    }
    assert_eq!(ids(&ok(client.list("web").await)), ["kept"]);
    let Response::Changes { changes, .. } = ok(client.watch("web", 1, Duration::ZERO).await) else {
        panic!("not changes")
    };
    assert!(
        matches!(&changes.last().unwrap().kind, ChangeKind::Expired { id, .. } if id == "dropped"),
        "{changes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_compare_and_set_conflicts_name_the_current_value() {
    let cluster = start().await;
    cluster.leader().await;
    let mut client = cluster.client(3);
    ok(client.config_put("db-url", "a").await);
    let refused = ok(client.config_cas("db-url", Some("b"), "c").await);
    assert!(
        matches!(&refused, Response::CasFailed { current: Some(v), .. } if v == "a"),
        "{refused:?}"
    );
    ok(client.config_cas("db-url", Some("a"), "c").await);
    let read = ok(client.config_get("db-url").await);
    assert!(
        matches!(&read, Response::Value { value: Some(v), revision: 2 } if v == "c"),
        "{read:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_naming_the_field_and_a_follower_redirects_reads() {
    let cluster = start().await;
    let leader = cluster.leader().await;
    let follower = *cluster.nodes.keys().find(|id| **id != leader).unwrap();
    let http = reqwest_free_get(&cluster.http[&follower], "/v1/services/web").await;
    assert!(http.starts_with("HTTP/1.1 307"), "{http}");
    let location = format!("location: http://{}/v1/services/web", cluster.http[&leader]);
    assert!(http.to_lowercase().contains(&location), "{http}");
    let mut client = cluster.client(leader);
    let outcome = client.register("web", "a", "a:1", 5).await;
    assert!(
        matches!(&outcome, Outcome::Fail(why) if why.contains("ttl_ms 5")),
        "{outcome:?}"
    );
}

/// A GET by hand over a TCP socket: the status line and headers as sent.
async fn reqwest_free_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

/// A key that cannot be put in a URI is refused before anything is sent, never a panic.
#[tokio::test]
async fn a_key_that_cannot_be_in_a_uri_is_refused_not_a_panic() {
    let nodes = std::collections::BTreeMap::from([(1, "127.0.0.1:9".to_owned())]);
    let mut client = RegistryClient::new(nodes, 1);
    let outcome = client.config_get("a key\nwith a newline").await;
    assert!(
        matches!(&outcome, Outcome::Fail(why) if why.contains("cannot request")),
        "{outcome:?}"
    );
}
