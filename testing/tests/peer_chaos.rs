//! `peer::run_all` on a user's transport: rafty's `TcpPeer` passes the suite and the chaos
//! run; the bugs planted here in a `Peer` wrapped around it (a success reported when the call
//! failed, a heartbeat answered from a cache, the previous request sent again with each call,
//! a deadline ignored) are each caught, by the suite or the chaos run, with a message naming
//! the likely cause.

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rafty::message::{ReadIndexRequest, ReadIndexResponse, TimeoutNow, TimeoutNowResponse};
use rafty::peer::ForwardResponse;
use rafty::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, NodeId, Peer,
    PeerError, RequestVote, RequestVoteResponse, RpcHandler,
};
use rafty_testing::peer::{Options, run_all_with};
use rafty_testing::{PeerCluster, TcpPeerCluster};

/// A bug planted in [`Buggy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bug {
    None,
    /// Any error of an AppendEntries call is swallowed and reported as the success the
    /// caller hoped for (the answer is dropped, success reported).
    ReportsSuccessOnError,
    /// A heartbeat (an AppendEntries with no entries) of the same term as the last answer is
    /// answered from that answer, without a call: a stale cached response.
    AnswersHeartbeatsFromACache,
    /// A send buffer that is not cleared: every AppendEntries call sends the previous call's
    /// request again before its own (a duplicate delivery).
    ResendsThePreviousRequest,
    /// The deadline is not passed to the transport: a call to a server that never answers
    /// waits an hour (an error that hides a timeout).
    IgnoresTheDeadline,
}

/// A user's `Peer`: rafty's `TcpPeer`, with `bug` planted around it.
struct Buggy {
    inner: Arc<dyn Peer>,
    bug: Bug,
    last_answer: Mutex<Option<AppendEntriesResponse>>,
    last_request: Mutex<Option<AppendEntries>>,
}

#[async_trait]
impl Peer for Buggy {
    fn id(&self) -> NodeId {
        self.inner.id()
    }

    async fn request_vote(
        &self,
        request: RequestVote,
        timeout: Duration,
    ) -> Result<RequestVoteResponse, PeerError> {
        self.inner
            .request_vote(request, self.deadline(timeout))
            .await
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
        timeout: Duration,
    ) -> Result<AppendEntriesResponse, PeerError> {
        let cached = self.last_answer.lock().unwrap().clone();
        match (self.bug, cached) {
            (Bug::AnswersHeartbeatsFromACache, Some(cached))
                if request.entries.is_empty() && cached.term == request.term =>
            {
                return Ok(cached);
            }
            (Bug::ResendsThePreviousRequest, _) => {
                let previous = self.last_request.lock().unwrap().replace(request.clone());
                if let Some(previous) = previous {
                    let _ = self.inner.append_entries(previous, timeout).await;
                }
            }
            _ => {}
        }
        let answer = self
            .inner
            .append_entries(request.clone(), self.deadline(timeout))
            .await;
        match (self.bug, answer) {
            (Bug::ReportsSuccessOnError, Err(_)) => Ok(AppendEntriesResponse {
                term: request.term,
                success: true,
                match_index: request.prev_log_index + request.entries.len() as u64,
                conflict: None,
            }),
            (_, Ok(answer)) => {
                *self.last_answer.lock().unwrap() = Some(answer.clone());
                Ok(answer)
            }
            (_, Err(error)) => Err(error),
        }
    }

    async fn forward(
        &self,
        command: Vec<u8>,
        timeout: Duration,
    ) -> Result<ForwardResponse, PeerError> {
        self.inner.forward(command, self.deadline(timeout)).await
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
        timeout: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        self.inner
            .install_snapshot(request, self.deadline(timeout))
            .await
    }

    async fn timeout_now(
        &self,
        request: TimeoutNow,
        timeout: Duration,
    ) -> Result<TimeoutNowResponse, PeerError> {
        self.inner
            .timeout_now(request, self.deadline(timeout))
            .await
    }

    async fn read_index(
        &self,
        request: ReadIndexRequest,
        timeout: Duration,
    ) -> Result<ReadIndexResponse, PeerError> {
        self.inner.read_index(request, self.deadline(timeout)).await
    }
}

impl Buggy {
    /// The deadline handed to the transport.
    fn deadline(&self, timeout: Duration) -> Duration {
        if self.bug == Bug::IgnoresTheDeadline {
            Duration::from_secs(3600)
        } else {
            timeout
        }
    }
}

/// The user's transport: rafty's TCP, with [`Buggy`] peers.
struct Transport {
    tcp: TcpPeerCluster,
    bug: Bug,
}

#[async_trait]
impl PeerCluster for Transport {
    async fn start_server(
        &mut self,
        id: NodeId,
        address: SocketAddr,
        handler: Arc<dyn RpcHandler>,
    ) -> Result<(), String> {
        self.tcp.start_server(id, address, handler).await
    }

    async fn stop_server(&mut self, id: NodeId) {
        self.tcp.stop_server(id).await;
    }

    async fn peer(
        &mut self,
        from: NodeId,
        to: NodeId,
        address: SocketAddr,
    ) -> Result<Arc<dyn Peer>, String> {
        let inner = self.tcp.peer(from, to, address).await?;
        Ok(Arc::new(Buggy {
            inner,
            bug: self.bug,
            last_answer: Mutex::new(None),
            last_request: Mutex::new(None),
        }))
    }
}

fn transport(bug: Bug) -> Transport {
    Transport {
        tcp: TcpPeerCluster::new(7),
        bug,
    }
}

/// The failure message of the one call (which must fail).
fn failure(bug: Bug) -> String {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        run_all_with(transport(bug), Options::default())
    }));
    match outcome {
        Ok(verdict) => panic!("the planted bug {bug:?} was not caught: {verdict:?}"),
        Err(panic) => *panic.downcast::<String>().expect("a message"),
    }
}

/// The failure lines of `message` that start with `prefix` (`FAIL chaos:`, `FAIL peer_suite`).
fn failures<'m>(message: &'m str, prefix: &str) -> Vec<&'m str> {
    message
        .lines()
        .filter(|line| line.starts_with(prefix))
        .collect()
}

#[test]
fn tcp_peer_passes_the_suite_and_the_chaos_run() {
    let verdict = run_all_with(transport(Bug::None), Options::default());
    assert!(verdict.passed(), "{verdict:?}");
    assert_eq!(verdict.chaos.len(), 1, "{verdict:?}");
    let line = &verdict.chaos[0];
    assert!(line.contains(": valid"), "{line}");
    assert!(
        line.contains("kill") && line.contains("partition") && line.contains("not deterministic"),
        "{line}"
    );
    assert!(verdict.not_run.is_empty(), "{verdict:?}");
}

#[test]
fn a_peer_that_reports_success_when_the_call_failed_is_caught() {
    let message = failure(Bug::ReportsSuccessOnError);
    let suite = failures(&message, "FAIL peer_suite/");
    assert!(
        suite.iter().any(
            |line| line.contains("deadlines_are_honoured_against_a_stalling_server")
                && line.contains("expected TimedOut")
        ),
        "{message}"
    );
    let chaos = failures(&message, "FAIL chaos:");
    assert_eq!(chaos.len(), 1, "{message}");
    assert!(
        chaos[0].contains("peer-answers") && chaos[0].contains("made the answer up"),
        "{message}"
    );
    assert!(message.contains("reproduce: RAFTY_SEED=1"), "{message}");
}

#[test]
fn a_peer_that_answers_heartbeats_from_a_cache_is_caught_by_the_chaos_run() {
    let message = failure(Bug::AnswersHeartbeatsFromACache);
    let chaos = failures(&message, "FAIL chaos:");
    assert_eq!(chaos.len(), 1, "{message}");
    assert!(
        chaos[0].contains("peer-answers") && chaos[0].contains("from a cache"),
        "{message}"
    );
}

#[test]
fn a_peer_that_sends_the_previous_request_again_is_caught_by_the_chaos_run() {
    let message = failure(Bug::ResendsThePreviousRequest);
    let chaos = failures(&message, "FAIL chaos:");
    assert_eq!(chaos.len(), 1, "{message}");
    assert!(
        chaos[0].contains("peer-delivered-once") && chaos[0].contains("more than once"),
        "{message}"
    );
}

#[test]
fn a_peer_that_ignores_its_deadline_is_caught() {
    let message = failure(Bug::IgnoresTheDeadline);
    let suite = failures(&message, "FAIL peer_suite/");
    assert!(
        suite
            .iter()
            .any(|line| line.contains("deadlines_are_honoured_against_a_stalling_server")),
        "{message}"
    );
}
