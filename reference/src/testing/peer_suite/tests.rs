//! The TCP peer and the in-process network pass the suite; peers that ignore deadlines,
//! serialize calls or damage large messages are caught.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::message::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, RequestVote,
    RequestVoteResponse, TimeoutNow, TimeoutNowResponse,
};
use crate::network::InProcessNetwork;
use crate::peer::{ForwardResponse, PeerError};
use crate::tcp::{
    ServerHandle, TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};

/// `TcpPeer` against `serve_raft` on 127.0.0.1.
struct Tcp {
    config: TransportConfig,
    addr: Option<SocketAddr>,
    server: Option<ServerHandle>,
}

impl Tcp {
    fn new() -> Tcp {
        let mut config = TransportConfig::new(7);
        config.backoff.max = Duration::from_millis(100);
        Tcp {
            config,
            addr: None,
            server: None,
        }
    }
}

#[async_trait]
impl PeerHarness for Tcp {
    async fn start(&mut self, handler: Arc<dyn RpcHandler>) -> Result<(), String> {
        self.stop().await;
        let addr = self
            .addr
            .map_or("127.0.0.1:0".to_string(), |a| a.to_string());
        let acceptor = TokioAcceptor::bind(&addr)
            .await
            .map_err(|e| e.to_string())?;
        self.addr = Some(acceptor.local_addr().map_err(|e| e.to_string())?);
        self.server = Some(serve_raft(
            acceptor,
            handler,
            SERVER_ID,
            self.config.clone(),
        ));
        Ok(())
    }
    async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
            while !server.is_finished() {
                tokio::task::yield_now().await;
            }
        }
    }
    async fn peer(&mut self) -> Result<Arc<dyn Peer>, String> {
        let addr = self.addr.ok_or("not started")?;
        let peer = TcpPeer::new(
            TokioConnector,
            CLIENT_ID,
            SERVER_ID,
            addr.to_string(),
            self.config.clone(),
        );
        Ok(Arc::new(peer))
    }
}

/// Peers of an [`InProcessNetwork`]; stopping crashes the server node.
#[derive(Default)]
struct InProcess {
    network: InProcessNetwork,
}

#[async_trait]
impl PeerHarness for InProcess {
    async fn start(&mut self, handler: Arc<dyn RpcHandler>) -> Result<(), String> {
        self.network.register(SERVER_ID, handler);
        Ok(())
    }
    async fn stop(&mut self) {
        self.network.crash(SERVER_ID);
    }
    async fn peer(&mut self) -> Result<Arc<dyn Peer>, String> {
        Ok(self.network.peer(CLIENT_ID, SERVER_ID))
    }
}

#[test]
fn tcp_peer_passes() {
    let report = run(&mut Tcp::new());
    report.assert_all_passed();
    assert_eq!(
        report.cases.iter().map(|c| c.name).collect::<Vec<_>>(),
        case_names()
    );
}

#[test]
fn in_process_network_passes() {
    run(&mut InProcess::default()).assert_all_passed();
}

/// What is wrong with a [`Broken`] peer.
#[derive(Clone, Copy, PartialEq)]
enum Defect {
    /// It waits an hour whatever the deadline.
    IgnoresDeadlines,
    /// It makes one call at a time.
    OneCallAtATime,
    /// It cuts commands to 64 KiB.
    CutsLargeCommands,
    /// It reports a forward that timed out (after the handler got it) as not sent.
    ClaimsTimedOutForwardsNotSent,
    /// It sends InstallSnapshot chunks without their data.
    DropsSnapshotData,
    /// It sends InstallSnapshot chunks one byte further on than their offset.
    CorruptsSnapshotOffset,
    /// It does not carry InstallSnapshot (refuses it as not sent).
    LacksInstallSnapshot,
    /// It does not carry TimeoutNow (refuses it as not sent), so leadership transfer over it
    /// always times out.
    LacksTimeoutNow,
}

/// An in-process peer seen through a defect.
struct Broken {
    inner: Arc<dyn Peer>,
    defect: Defect,
    lock: tokio::sync::Mutex<()>,
}

impl Broken {
    async fn turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.defect {
            Defect::OneCallAtATime => Some(self.lock.lock().await),
            _ => None,
        }
    }

    fn timeout(&self, timeout: Duration) -> Duration {
        match self.defect {
            Defect::IgnoresDeadlines => Duration::from_secs(3600),
            _ => timeout,
        }
    }
}

#[async_trait]
impl Peer for Broken {
    fn id(&self) -> crate::types::NodeId {
        self.inner.id()
    }
    async fn request_vote(
        &self,
        request: RequestVote,
        timeout: Duration,
    ) -> Result<RequestVoteResponse, PeerError> {
        let _turn = self.lock.lock().await;
        self.inner
            .request_vote(request, self.timeout(timeout))
            .await
    }
    async fn append_entries(
        &self,
        request: AppendEntries,
        timeout: Duration,
    ) -> Result<AppendEntriesResponse, PeerError> {
        let _turn = self.lock.lock().await;
        self.inner
            .append_entries(request, self.timeout(timeout))
            .await
    }
    async fn forward(
        &self,
        mut command: Vec<u8>,
        timeout: Duration,
    ) -> Result<ForwardResponse, PeerError> {
        let _turn = self.turn().await;
        if self.defect == Defect::CutsLargeCommands {
            command.truncate(64 << 10);
        }
        let result = self.inner.forward(command, self.timeout(timeout)).await;
        match result {
            Err(PeerError::TimedOut { peer, .. })
                if self.defect == Defect::ClaimsTimedOutForwardsNotSent =>
            {
                Err(PeerError::NotSent {
                    peer,
                    reason: "claimed".into(),
                })
            }
            other => other,
        }
    }
    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
        timeout: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        if self.defect == Defect::LacksInstallSnapshot {
            return Err(PeerError::NotSent {
                peer: self.id(),
                reason: "this transport does not carry InstallSnapshot".into(),
            });
        }
        self.install_snapshot_through(request, timeout).await
    }
    async fn timeout_now(
        &self,
        request: TimeoutNow,
        timeout: Duration,
    ) -> Result<TimeoutNowResponse, PeerError> {
        if self.defect == Defect::LacksTimeoutNow {
            return Err(PeerError::NotSent {
                peer: self.id(),
                reason: "this transport does not carry TimeoutNow".into(),
            });
        }
        let _turn = self.turn().await;
        self.inner.timeout_now(request, self.timeout(timeout)).await
    }
}

impl Broken {
    async fn install_snapshot_through(
        &self,
        mut request: InstallSnapshot,
        timeout: Duration,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        let _turn = self.turn().await;
        match self.defect {
            Defect::DropsSnapshotData => request.data.clear(),
            Defect::CorruptsSnapshotOffset => request.offset = request.offset.wrapping_add(1),
            _ => {}
        }
        self.inner
            .install_snapshot(request, self.timeout(timeout))
            .await
    }
}

struct BrokenHarness(InProcess, Defect);

#[async_trait]
impl PeerHarness for BrokenHarness {
    async fn start(&mut self, handler: Arc<dyn RpcHandler>) -> Result<(), String> {
        self.0.start(handler).await
    }
    async fn stop(&mut self) {
        self.0.stop().await
    }
    async fn peer(&mut self) -> Result<Arc<dyn Peer>, String> {
        Ok(Arc::new(Broken {
            inner: self.0.peer().await?,
            defect: self.1,
            lock: Default::default(),
        }))
    }
}

fn failed_cases(defect: Defect) -> Vec<&'static str> {
    let report = run(&mut BrokenHarness(InProcess::default(), defect));
    report.failures().iter().map(|case| case.name).collect()
}

#[test]
fn a_peer_that_ignores_deadlines_is_caught() {
    assert_eq!(
        failed_cases(Defect::IgnoresDeadlines),
        [
            "deadlines_are_honoured_against_a_stalling_server",
            // Its stalled forward does not return by the deadline either.
            "not_sent_only_for_requests_the_handler_never_saw"
        ]
    );
}

#[test]
fn a_peer_that_serializes_calls_is_caught() {
    assert_eq!(
        failed_cases(Defect::OneCallAtATime),
        ["a_stalled_call_does_not_hold_up_others"]
    );
}

#[test]
fn a_peer_that_cuts_large_messages_is_caught() {
    assert_eq!(
        failed_cases(Defect::CutsLargeCommands),
        ["large_messages_arrive_intact"]
    );
}

#[test]
fn a_peer_that_claims_not_sent_for_a_request_the_handler_got_is_caught() {
    assert_eq!(
        failed_cases(Defect::ClaimsTimedOutForwardsNotSent),
        [
            "deadlines_are_honoured_against_a_stalling_server",
            "not_sent_only_for_requests_the_handler_never_saw"
        ]
    );
}

#[test]
fn a_peer_that_drops_snapshot_data_is_caught() {
    assert_eq!(
        failed_cases(Defect::DropsSnapshotData),
        [
            "install_snapshot_round_trips",
            // The refused chunk it saw is not the one sent, nor is the next one's answer.
            "a_refused_install_snapshot_is_an_error",
            "large_messages_arrive_intact"
        ]
    );
}

#[test]
fn a_peer_that_corrupts_the_snapshot_offset_is_caught() {
    assert_eq!(
        failed_cases(Defect::CorruptsSnapshotOffset),
        [
            "install_snapshot_round_trips",
            // The refused chunk it saw is not the one sent, nor is the next one's answer.
            "a_refused_install_snapshot_is_an_error",
            "large_messages_arrive_intact"
        ]
    );
}

#[test]
fn a_peer_without_install_snapshot_is_caught() {
    assert_eq!(
        failed_cases(Defect::LacksInstallSnapshot),
        [
            "install_snapshot_round_trips",
            "a_refused_install_snapshot_is_an_error",
            "deadlines_are_honoured_against_a_stalling_server",
            "large_messages_arrive_intact"
        ]
    );
}

/// Leadership transfer (dissertation §3.10) needs TimeoutNow to reach the target.
#[test]
fn a_peer_without_timeout_now_is_caught() {
    assert_eq!(
        failed_cases(Defect::LacksTimeoutNow),
        ["every_call_round_trips"]
    );
}
