//! A 3-node cluster over mutual TLS on 127.0.0.1 (TlsConnector and TlsAcceptor around the TCP
//! transport) elects a leader and commits a write on every node; a `KvClient` with the
//! cluster's client certificate writes and reads over TLS, one with a node's certificate is
//! refused. Certificates are made here with rcgen, never stored.

use std::sync::Arc;
use std::time::Duration;

use rafty::core::Role;
use rafty::kv::KvCommand;
use rafty::node::{Node, NodeOptions};
use rafty::service::{KvClient, KvClientConfig, serve_kv};
use rafty::tcp::tls::{TlsAcceptor, TlsConnector, TlsIdentity, client_name, node_name};
use rafty::tcp::{
    ServerHandle, TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};
use rafty::{Config, KvStateMachine, MemoryLog, NodeId, Peer, RpcHandler, StaticPeersProvider};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

const CLUSTER: u64 = 4;
const IDS: [NodeId; 3] = [1, 2, 3];

/// Each node's identity (a certificate naming it, signed by the test CA), then a client's.
fn identities() -> Vec<TlsIdentity> {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let names = IDS.into_iter().map(|id| node_name(CLUSTER, id));
    names
        .chain([client_name(CLUSTER)])
        .map(|name| {
            let key = KeyPair::generate().unwrap();
            let params = CertificateParams::new(vec![name]).unwrap();
            let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
            let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
            TlsIdentity::from_der(vec![cert.der().clone()], key, vec![ca.der().clone()]).unwrap()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_tls_cluster_elects_and_commits_on_every_node() {
    let identities = identities();
    let mut acceptors = Vec::new();
    for _ in IDS {
        acceptors.push(TokioAcceptor::bind("127.0.0.1:0").await.unwrap());
    }
    let addrs: Vec<String> = acceptors
        .iter()
        .map(|acceptor| acceptor.local_addr().unwrap().to_string())
        .collect();
    let mut nodes: Vec<(Node, ServerHandle)> = Vec::new();
    let (mut kv_servers, mut kv_addrs) = (Vec::new(), Vec::new());
    for ((id, acceptor), identity) in IDS.into_iter().zip(acceptors).zip(&identities) {
        let transport = TransportConfig::new(CLUSTER);
        let peers: Vec<Arc<dyn Peer>> = IDS
            .into_iter()
            .zip(&addrs)
            .filter(|(peer, _)| *peer != id)
            .map(|(peer, addr)| {
                let connector = TlsConnector::new(TokioConnector, identity, CLUSTER, peer).unwrap();
                Arc::new(TcpPeer::new(
                    connector,
                    id,
                    peer,
                    addr.clone(),
                    transport.clone(),
                )) as Arc<dyn Peer>
            })
            .collect();
        let node = Node::start(
            id,
            MemoryLog::new(),
            KvStateMachine::new(),
            Arc::new(StaticPeersProvider::new(peers)),
            Arc::new(Config::default()),
            NodeOptions {
                seed: 11,
                check_invariants: true,
                ..NodeOptions::default()
            },
        )
        .await
        .unwrap();
        let acceptor = TlsAcceptor::new(acceptor, identity, &transport).unwrap();
        let handler: Arc<dyn RpcHandler> = Arc::new(node.clone());
        let server = serve_raft(acceptor, handler, id, transport.clone());
        let kv = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
        kv_addrs.push((id, kv.local_addr().unwrap().to_string()));
        let kv = TlsAcceptor::new(kv, identity, &transport).unwrap();
        kv_servers.push(serve_kv(kv, Arc::new(node.clone()), id, transport));
        nodes.push((node, server));
    }
    let mut leader = None;
    for _ in 0..200 {
        leader = nodes
            .iter()
            .map(|(node, _)| node.clone())
            .find(|node| node.status().role == Role::Leader);
        if leader.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let leader = leader.expect("a leader within 10 s over TLS");
    let put = KvCommand::Put {
        key: "x".into(),
        value: "1".into(),
    };
    leader.submit(put.encode().unwrap()).await.unwrap();
    let committed = leader.status().commit_index;
    for _ in 0..200 {
        if nodes
            .iter()
            .all(|(node, _)| node.status().last_applied >= committed)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A client of the key-value port over TLS, with the cluster's client certificate, each
    // node's connector checking that node's certificate.
    let client_identity = &identities[3];
    let connect = |id| TlsConnector::new(TokioConnector, client_identity, CLUSTER, id).unwrap();
    let client = KvClient::per_node(connect, kv_addrs.clone(), KvClientConfig::new(CLUSTER));
    client.put("y", "2").await.unwrap();
    assert_eq!(client.get("y").await.unwrap(), Some("2".to_owned()));
    // A node's certificate is no client's: the key-value port refuses it, definitely.
    let mut config = KvClientConfig::new(CLUSTER);
    config.max_attempts = 3;
    let posing = |id| TlsConnector::new(TokioConnector, &identities[0], CLUSTER, id).unwrap();
    let refused = KvClient::per_node(posing, kv_addrs, config)
        .put("z", "3")
        .await;
    assert!(refused.is_err(), "{refused:?}");
    for server in &kv_servers {
        server.shutdown();
    }
    for (node, server) in &nodes {
        let status = node.status();
        assert!(
            status.last_applied >= committed,
            "{status:?} behind {committed}"
        );
        server.shutdown();
        node.stop().await;
    }
}
