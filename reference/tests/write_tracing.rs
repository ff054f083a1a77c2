//! One client write through a 3-node cluster on loopback TCP, followed by its tracing spans and
//! events at debug level: the key-value request, the node's `submit` holding the `proposed`
//! event that names the entry's index, the leader's `append` of a batch holding that index,
//! a `replicate` round to each follower carrying it (and its answer), `applied` at that index,
//! and the replies. A subscriber installed for this test's thread captures them (the runtime is
//! current-thread: every node's tasks run on it).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::core::Role;
use rafty::node::{Node, NodeOptions};
use rafty::service::{KvClient, KvClientConfig, serve_kv};
use rafty::tcp::{
    ServerHandle, TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};
use rafty::{Config, KvStateMachine, MemoryLog, NodeId, Peer, RpcHandler, StaticPeersProvider};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const CLUSTER: u64 = 12;

/// A span opened or an event recorded: its name (an event's message), its fields, and the
/// names of the spans it is inside, innermost first.
#[derive(Clone, Debug)]
struct Record {
    event: bool,
    name: String,
    fields: BTreeMap<String, String>,
    scope: Vec<String>,
}

impl Record {
    fn number(&self, field: &str) -> Option<u64> {
        self.fields.get(field)?.parse().ok()
    }

    fn carries(&self, index: u64) -> bool {
        matches!((self.number("first"), self.number("last")), (Some(first), Some(last))
            if first <= index && index <= last && first > 0)
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Record>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attributes: &Attributes<'_>, id: &Id, context: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attributes.record(&mut Fields(&mut fields));
        let scope = context
            .span_scope(id)
            .map(|scope| scope.skip(1).map(|span| span.name().to_owned()).collect())
            .unwrap_or_default();
        self.0.lock().unwrap().push(Record {
            event: false,
            name: attributes.metadata().name().to_owned(),
            fields,
            scope,
        });
    }

    fn on_event(&self, event: &Event<'_>, context: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let name = fields.remove("message").unwrap_or_default();
        let scope = context
            .event_scope(event)
            .map(|scope| scope.map(|span| span.name().to_owned()).collect())
            .unwrap_or_default();
        self.0.lock().unwrap().push(Record {
            event: true,
            name,
            fields,
            scope,
        });
    }
}

async fn start_cluster() -> (Vec<Node>, Vec<(NodeId, String)>, Vec<ServerHandle>) {
    let mut raft = Vec::new();
    for _ in 0..3 {
        raft.push(TokioAcceptor::bind("127.0.0.1:0").await.unwrap());
    }
    let addrs: Vec<String> = raft
        .iter()
        .map(|acceptor| acceptor.local_addr().unwrap().to_string())
        .collect();
    let (mut nodes, mut kv_addrs, mut servers) = (Vec::new(), Vec::new(), Vec::new());
    for (i, acceptor) in raft.into_iter().enumerate() {
        let id = i as NodeId + 1;
        let peers: Vec<Arc<dyn Peer>> = (1..=3)
            .filter(|peer| *peer != id)
            .map(|peer| {
                let addr = addrs[peer as usize - 1].clone();
                let transport = TransportConfig::new(CLUSTER);
                Arc::new(TcpPeer::new(TokioConnector, id, peer, addr, transport)) as Arc<dyn Peer>
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
            acceptor,
            handler,
            id,
            TransportConfig::new(CLUSTER),
        ));
        let kv = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
        kv_addrs.push((id, kv.local_addr().unwrap().to_string()));
        let service = Arc::new(node.clone());
        servers.push(serve_kv(kv, service, id, TransportConfig::new(CLUSTER)));
        nodes.push(node);
    }
    (nodes, kv_addrs, servers)
}

#[tokio::test]
async fn one_write_is_followed_from_the_request_through_the_log_and_the_followers_to_the_reply() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    let (nodes, kv_addrs, _servers) = start_cluster().await;
    let mut leader = None;
    for _ in 0..200 {
        leader = nodes.iter().find(|node| node.status().role == Role::Leader);
        if leader.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let leader = leader.expect("a leader within 10 s").id();
    // Asked at the leader: a follower would forward it, and the leader's part would start at
    // a `submit` span of its own (`forwarded = true`), the follower's request being in
    // another node (another process, in production).
    let at_leader = kv_addrs.into_iter().filter(|(id, _)| *id == leader);
    let client = KvClient::new(TokioConnector, at_leader, KvClientConfig::new(CLUSTER));
    client.put("x", "1").await.unwrap();
    // Let the followers' answers to the round that carried it come back.
    for _ in 0..100 {
        if nodes.iter().all(|node| node.status().last_applied >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let records = capture.0.lock().unwrap().clone();
    let leader = leader.to_string();
    let find = |what: &str, test: &dyn Fn(&Record) -> bool| {
        records
            .iter()
            .find(|record| test(record))
            .cloned()
            .unwrap_or_else(|| panic!("no {what} among {records:#?}"))
    };

    let request = find("kv_request span of the put", &|r| {
        !r.event
            && r.name == "kv_request"
            && r.fields.get("command").map(String::as_str) == Some("put")
    });
    assert!(
        request.scope.is_empty(),
        "the request is the root: {request:?}"
    );
    let proposed = find("proposed event in the request's submit span", &|r| {
        r.event && r.name == "proposed" && r.scope == ["submit", "kv_request"]
    });
    let index = proposed.number("index").expect("the entry's index");
    find("the leader's append of the batch holding it", &|r| {
        !r.event && r.name == "append" && r.fields["node"] == leader && r.carries(index)
    });
    let followers: Vec<String> = (1..=3u64)
        .map(|id| id.to_string())
        .filter(|id| *id != leader)
        .collect();
    for follower in &followers {
        find("a replication round to each follower carrying it", &|r| {
            !r.event
                && r.name == "replicate"
                && r.fields["node"] == leader
                && r.fields["to"] == *follower
                && r.carries(index)
        });
        find("the follower's own append of it", &|r| {
            !r.event && r.name == "append" && r.fields["node"] == *follower && r.carries(index)
        });
    }
    find("an answer inside a replication round", &|r| {
        r.event && r.name == "answered" && r.scope.first().map(String::as_str) == Some("replicate")
    });
    find("the leader applying it", &|r| {
        r.event
            && r.name == "applied"
            && r.fields["node"] == leader
            && r.number("index") == Some(index)
    });
    find("the node's reply, in the submit span", &|r| {
        r.event
            && r.name == "replied"
            && r.fields["ok"] == "true"
            && r.scope == ["submit", "kv_request"]
    });
    find("the service's reply, in the request span", &|r| {
        r.event && r.name == "kv reply" && r.fields["ok"] == "true" && r.scope == ["kv_request"]
    });
}
