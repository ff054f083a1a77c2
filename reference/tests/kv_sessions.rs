//! Client sessions end to end (dissertation §6.3): a [`KvClient`] with sessions on, the
//! key-value service over real sockets, and fake nodes sharing one replicated state machine
//! wrapped in [`Sessions`], so that a node can apply a command and lose its answer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::service::{CommandSubmitter, KvClient, KvClientConfig, KvError, serve_kv};
use rafty::session::stamp_leader_time;
use rafty::tcp::{ServerHandle, TokioAcceptor, TokioConnector, TransportConfig};
use rafty::{ClientError, KvStateMachine, NodeId, Sessions, StateMachine};

const CLUSTER: u64 = 12;

/// The replicated log as the fake nodes see it: one state machine, the next index, the
/// leader's clock, which advances `clock_step` per entry, and the indices whose answers are
/// lost (as by a leader that crashes after committing, before replying).
struct Replicated {
    machine: Sessions<KvStateMachine>,
    next_index: u64,
    clock: Duration,
    clock_step: Duration,
    lose_answers: Vec<u64>,
}

/// A fake node: applies every command to the shared state.
struct FakeNode {
    state: Arc<Mutex<Replicated>>,
}

impl CommandSubmitter for FakeNode {
    async fn submit(&self, mut command: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        let response = {
            let mut guard = self.state.lock().unwrap();
            let state = &mut *guard;
            state.clock += state.clock_step;
            stamp_leader_time(&mut command, state.clock);
            let index = state.next_index;
            state.next_index += 1;
            let response = state.machine.apply(index, &command);
            if state.lose_answers.contains(&index) {
                return Err(ClientError::Timeout);
            }
            response
        };
        Ok(response)
    }
}

struct Cluster {
    state: Arc<Mutex<Replicated>>,
    addrs: Vec<(NodeId, String)>,
    _servers: Vec<ServerHandle>,
}

impl Cluster {
    /// Nodes 1 and 2 over one state, losing the answers to the entries at `lose_answers`.
    async fn start(
        machine: Sessions<KvStateMachine>,
        clock_step: Duration,
        lose_answers: Vec<u64>,
    ) -> Cluster {
        let state = Arc::new(Mutex::new(Replicated {
            machine,
            next_index: 1,
            clock: Duration::ZERO,
            clock_step,
            lose_answers,
        }));
        let (mut addrs, mut servers) = (Vec::new(), Vec::new());
        for id in [1, 2] {
            let node = Arc::new(FakeNode {
                state: state.clone(),
            });
            let acceptor = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
            addrs.push((id, acceptor.local_addr().unwrap().to_string()));
            servers.push(serve_kv(acceptor, node, id, TransportConfig::new(CLUSTER)));
        }
        Cluster {
            state,
            addrs,
            _servers: servers,
        }
    }

    fn client(&self, sessions: bool) -> KvClient<TokioConnector> {
        let config = KvClientConfig {
            request_timeout: Duration::from_millis(500),
            max_attempts: 5,
            retry_delay: Duration::from_millis(10),
            sessions,
            ..KvClientConfig::new(CLUSTER)
        };
        KvClient::new(TokioConnector, self.addrs.clone(), config)
    }

    fn value(&self, key: &str) -> Option<String> {
        let state = self.state.lock().unwrap();
        state.machine.inner().get(key).map(str::to_owned)
    }
}

/// §6.3: a write applied whose answer was lost is retried under its session and answered
/// from the session table: it succeeds, and it is applied once.
#[tokio::test]
async fn a_write_whose_answer_was_lost_is_retried_and_applied_once() {
    // Entry 1 registers the session, entry 2 is the append, whose answer is lost; entry 3
    // is its retry, answered from the table.
    let cluster = Cluster::start(
        Sessions::new(KvStateMachine::new()),
        Duration::ZERO,
        vec![2],
    )
    .await;
    let client = cluster.client(true);
    client.append("k", "x").await.unwrap();
    assert_eq!(client.session_client_id().await, Some(1));
    client.append("k", "y").await.unwrap();
    assert_eq!(cluster.value("k").as_deref(), Some("xy"));
    assert_eq!(cluster.state.lock().unwrap().next_index, 5, "four entries");
}

/// Without a session the same lost answer leaves the write indeterminate, unretried.
#[tokio::test]
async fn without_a_session_a_lost_answer_is_indeterminate() {
    let cluster = Cluster::start(
        Sessions::new(KvStateMachine::new()),
        Duration::ZERO,
        vec![1],
    )
    .await;
    let client = cluster.client(false);
    let error = client.append("k", "x").await.unwrap_err();
    assert!(
        matches!(error, KvError::Indeterminate { node: 1, .. }),
        "{error}"
    );
    assert_eq!(cluster.value("k").as_deref(), Some("x"));
}

/// §6.3: a session idle past the timeout in log time expires; the client's next write is
/// refused unapplied, so the client opens a new session and the write applies once.
#[tokio::test]
async fn an_expired_session_is_replaced_and_the_write_applies_once() {
    // Every entry moves the leader's clock 1 s on; sessions expire after 1.5 s idle.
    let machine = Sessions::with_timeout(KvStateMachine::new(), Duration::from_millis(1500));
    let cluster = Cluster::start(machine, Duration::from_secs(1), vec![]).await;
    let client = cluster.client(true);
    client.append("k", "a").await.unwrap();
    let first = client.session_client_id().await.unwrap();
    // Another client's entries move log time on while the first idles.
    let other = cluster.client(true);
    other.append("j", "1").await.unwrap();
    other.append("j", "2").await.unwrap();
    client.append("k", "b").await.unwrap();
    let second = client.session_client_id().await.unwrap();
    assert_ne!(first, second, "the expired session was replaced");
    assert_eq!(cluster.value("k").as_deref(), Some("ab"));
}

/// A cluster whose state machine keeps no sessions refuses a session client definitely,
/// naming why.
#[tokio::test]
async fn a_state_machine_without_sessions_refuses_definitely() {
    struct Bare(Mutex<KvStateMachine>);
    impl CommandSubmitter for Bare {
        async fn submit(&self, command: Vec<u8>) -> Result<Vec<u8>, ClientError> {
            Ok(self.0.lock().unwrap().apply(1, &command))
        }
    }
    let acceptor = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
    let addr = acceptor.local_addr().unwrap().to_string();
    let node = Arc::new(Bare(Mutex::new(KvStateMachine::new())));
    let _server = serve_kv(acceptor, node, 1, TransportConfig::new(CLUSTER));
    let config = KvClientConfig {
        sessions: true,
        ..KvClientConfig::new(CLUSTER)
    };
    let client = KvClient::new(TokioConnector, [(1, addr)], config);
    let error = client.put("k", "v").await.unwrap_err();
    assert!(error.is_definite(), "{error}");
    assert!(error.to_string().contains("keeps no sessions"), "{error}");
}
