//! A 3-node cluster over mutual TLS on 127.0.0.1 (TlsConnector and TlsAcceptor around the TCP
//! transport) elects a leader and commits a write on every node. Certificates are made here
//! with rcgen, never stored.

use std::sync::Arc;
use std::time::Duration;

use rafty::core::Role;
use rafty::kv::KvCommand;
use rafty::node::{Node, NodeOptions};
use rafty::tcp::tls::{TlsAcceptor, TlsConnector, TlsIdentity, node_name};
use rafty::tcp::{
    ServerHandle, TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};
use rafty::{Config, KvStateMachine, MemoryLog, NodeId, Peer, RpcHandler, StaticPeersProvider};
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

const CLUSTER: u64 = 4;
const IDS: [NodeId; 3] = [1, 2, 3];

/// Node `id`'s identity: a certificate naming it, signed by the test CA.
fn identities() -> Vec<TlsIdentity> {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    IDS.into_iter()
        .map(|id| {
            let key = KeyPair::generate().unwrap();
            let params = CertificateParams::new(vec![node_name(CLUSTER, id)]).unwrap();
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
        let server = serve_raft(acceptor, handler, id, transport);
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
