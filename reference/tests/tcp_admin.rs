//! The membership admin calls over a real socket (`service::admin`): a one-node cluster
//! answers the configuration, adds a learner, and refuses changes with definite, typed
//! failures.

use std::sync::Arc;
use std::time::Duration;

use rafty::node::{Node, NodeOptions};
use rafty::service::{AdminAnswer, AdminCommand, AdminReply, call_admin, serve_admin};
use rafty::tcp::{TokioAcceptor, TokioConnector, TransportConfig};
use rafty::{Config, KvStateMachine, Membership, MemoryLog, StaticPeersProvider};

const CLUSTER: u64 = 5;

async fn call(addr: &str, command: AdminCommand) -> AdminReply {
    call_admin(
        TokioConnector,
        1,
        addr.to_string(),
        TransportConfig::new(CLUSTER),
        command,
        Duration::from_secs(5),
    )
    .await
    .expect("the call reached the node")
}

#[tokio::test]
async fn admin_calls_change_and_report_the_configuration() {
    let node = Node::start(
        1,
        MemoryLog::new(),
        KvStateMachine::new(),
        Arc::new(StaticPeersProvider::new(vec![])),
        Arc::new(Config::default()),
        NodeOptions::with_seed(3),
    )
    .await
    .unwrap();
    let acceptor = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
    let addr = acceptor.local_addr().unwrap().to_string();
    let _server = serve_admin(acceptor, node.clone(), 1, TransportConfig::new(CLUSTER));
    while node.status().commit_index == 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        call(&addr, AdminCommand::Membership).await,
        Ok(AdminAnswer::Membership {
            membership: Membership::new([1]),
            index: 0
        })
    );
    let added = call(&addr, AdminCommand::AddLearner(2)).await;
    assert!(
        matches!(added, Ok(AdminAnswer::Changed { .. })),
        "{added:?}"
    );
    let Ok(AdminAnswer::Membership { membership, .. }) =
        call(&addr, AdminCommand::Membership).await
    else {
        panic!("no membership answer");
    };
    assert_eq!(membership, Membership::new([1]).with_learners([2]));
    // Learner 2 does not exist: promoting it would leave {1, 2} without a caught-up majority.
    let refused = call(&addr, AdminCommand::Promote(2)).await.unwrap_err();
    assert!(refused.definite, "{refused:?}");
    assert!(refused.reason.contains("quorum"), "{refused:?}");
    let unknown = call(&addr, AdminCommand::Remove(7)).await.unwrap_err();
    assert!(
        unknown.definite && unknown.reason.contains("node 7"),
        "{unknown:?}"
    );
    node.stop().await;
}
