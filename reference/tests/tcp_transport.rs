//! The TCP transport on real sockets (127.0.0.1): every call's round trip, multiplexing,
//! deadlines, garbage, oversize frames, cluster ids and reconnection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rafty::tcp::frame::{encode_frame, read_frame};
use rafty::tcp::{
    Acceptor, FrameError, Hello, HelloReply, Protocol, Refusal, ServerFrame, ServerHandle, TcpPeer,
    TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};
use rafty::{
    AppendEntries, AppendEntriesResponse, Entry, ForwardResponse, InstallSnapshot,
    InstallSnapshotResponse, Payload, Peer, PeerError, RequestVote, RequestVoteResponse,
    RpcHandler, TimeoutNow, TimeoutNowResponse,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const CLUSTER: u64 = 42;
const SERVER_ID: u64 = 2;
const CLIENT_ID: u64 = 1;
const TIMEOUT: Duration = Duration::from_secs(2);

/// Answers every call predictably; `forward` can be made to stall, and sleeps for as many
/// milliseconds as its command's first byte says.
#[derive(Default)]
struct Dummy {
    stall: AtomicBool,
    calls: AtomicU64,
    /// Vote requests that arrived marked as a leadership transfer's.
    transfer_votes: AtomicU64,
}

#[async_trait]
impl RpcHandler for Dummy {
    async fn request_vote(&self, request: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if request.transfer {
            self.transfer_votes.fetch_add(1, Ordering::SeqCst);
        }
        Ok(RequestVoteResponse {
            term: request.term,
            vote_granted: request.candidate_id == CLIENT_ID,
            pre_vote: request.pre_vote,
        })
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
    ) -> Result<AppendEntriesResponse, PeerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(AppendEntriesResponse {
            term: request.term,
            success: true,
            match_index: request.prev_log_index + request.entries.len() as u64,
            conflict: None,
        })
    }

    async fn forward(&self, command: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if command == b"reject" {
            return Err(PeerError::Rejected {
                peer: SERVER_ID,
                reason: "told to".into(),
            });
        }
        if self.stall.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        let delay = command.first().copied().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(u64::from(delay))).await;
        let mut answer = command;
        answer.reverse();
        Ok(ForwardResponse::Applied(answer))
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(InstallSnapshotResponse {
            term: request.term,
            last_included_index: request.last_included_index,
            next_offset: request.offset + request.data.len() as u64,
            installed: request.done,
        })
    }

    async fn timeout_now(&self, request: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(TimeoutNowResponse {
            term: request.term + 1,
            campaigning: true,
        })
    }
}

fn config(cluster_id: u64) -> TransportConfig {
    TransportConfig::new(cluster_id)
}

/// A listener that counts the connections it accepts; also shows that a user's own
/// [`Acceptor`] plugs in.
struct CountingAcceptor {
    inner: TokioAcceptor,
    accepted: Arc<AtomicU64>,
}

impl Acceptor for CountingAcceptor {
    type Stream = TcpStream;

    async fn accept(&self) -> std::io::Result<(TcpStream, SocketAddr)> {
        let accepted = self.inner.accept().await?;
        self.accepted.fetch_add(1, Ordering::SeqCst);
        Ok(accepted)
    }
}

struct Server {
    handler: Arc<Dummy>,
    handle: ServerHandle,
    addr: String,
    accepted: Arc<AtomicU64>,
}

async fn start_server(addr: &str, cluster_id: u64) -> Server {
    let inner = TokioAcceptor::bind(addr).await.unwrap();
    let addr = inner.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicU64::new(0));
    let acceptor = CountingAcceptor {
        inner,
        accepted: accepted.clone(),
    };
    let handler = Arc::new(Dummy::default());
    let handle = serve_raft(acceptor, handler.clone(), SERVER_ID, config(cluster_id));
    Server {
        handler,
        handle,
        addr,
        accepted,
    }
}

fn peer(addr: &str, cluster_id: u64) -> TcpPeer<TokioConnector> {
    TcpPeer::new(
        TokioConnector,
        CLIENT_ID,
        SERVER_ID,
        addr,
        config(cluster_id),
    )
}

fn vote() -> RequestVote {
    RequestVote {
        term: 3,
        candidate_id: CLIENT_ID,
        last_log_index: 7,
        last_log_term: 2,
        pre_vote: true,
        transfer: false,
    }
}

fn append() -> AppendEntries {
    let entry = |index| Entry {
        term: 3,
        index,
        payload: Payload::Command(vec![index as u8]),
    };
    AppendEntries {
        term: 3,
        leader_id: CLIENT_ID,
        prev_log_index: 4,
        prev_log_term: 2,
        entries: vec![entry(5), entry(6)],
        leader_commit: 4,
    }
}

#[tokio::test]
async fn each_call_makes_a_round_trip() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let addr = server.addr.clone();
    let peer = peer(&addr, CLUSTER);
    assert_eq!(peer.id(), SERVER_ID);
    let voted = peer.request_vote(vote(), TIMEOUT).await.unwrap();
    assert_eq!(
        voted,
        RequestVoteResponse {
            term: 3,
            vote_granted: true,
            pre_vote: true
        }
    );
    let appended = peer.append_entries(append(), TIMEOUT).await.unwrap();
    assert_eq!(
        appended,
        AppendEntriesResponse {
            term: 3,
            success: true,
            match_index: 6,
            conflict: None
        }
    );
    let forwarded = peer.forward(vec![0, 1, 2], TIMEOUT).await.unwrap();
    assert_eq!(forwarded, ForwardResponse::Applied(vec![2, 1, 0]));
}

/// §3.10: a vote request marked as a leadership transfer's (`RequestVote::transfer`, its own
/// request kind on the wire from protocol version 5) arrives marked; an unmarked one
/// arrives unmarked.
#[tokio::test]
async fn a_transfer_vote_request_arrives_marked_as_one() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let peer = peer(&server.addr, CLUSTER);
    let transfer = RequestVote {
        transfer: true,
        pre_vote: false,
        ..vote()
    };
    let voted = peer.request_vote(transfer, TIMEOUT).await.unwrap();
    assert!(voted.vote_granted);
    peer.request_vote(vote(), TIMEOUT).await.unwrap();
    assert_eq!(server.handler.calls.load(Ordering::SeqCst), 2);
    assert_eq!(server.handler.transfer_votes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_handler_error_reaches_the_caller() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let addr = server.addr.clone();
    let error = peer(&addr, CLUSTER)
        .forward(b"reject".to_vec(), TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        PeerError::Rejected {
            peer: SERVER_ID,
            reason: "told to".into()
        }
    );
}

#[tokio::test]
async fn concurrent_calls_get_their_own_answers() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let addr = server.addr.clone();
    let peer = Arc::new(peer(&addr, CLUSTER));
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..40u8 {
        let peer = peer.clone();
        // Later calls sleep less, so answers come back out of order.
        calls.spawn(async move { (i, peer.forward(vec![40 - i, i], TIMEOUT).await) });
    }
    let mut answered = 0;
    while let Some(joined) = calls.join_next().await {
        let (i, result) = joined.unwrap();
        assert_eq!(result, Ok(ForwardResponse::Applied(vec![i, 40 - i])));
        answered += 1;
    }
    assert_eq!(answered, 40);
    assert_eq!(
        server.accepted.load(Ordering::SeqCst),
        1,
        "all calls share one connection"
    );
}

#[tokio::test]
async fn a_stalled_server_fails_the_call_at_its_deadline_and_the_connection_is_redialled() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let (handler, addr) = (server.handler.clone(), server.addr.clone());
    let peer = peer(&addr, CLUSTER);
    handler.stall.store(true, Ordering::SeqCst);
    let deadline = Duration::from_millis(200);
    let started = tokio::time::Instant::now();
    let error = peer.forward(vec![0], deadline).await.unwrap_err();
    assert_eq!(
        error,
        PeerError::TimedOut {
            peer: SERVER_ID,
            timeout: deadline
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    handler.stall.store(false, Ordering::SeqCst);
    // The silent connection was dropped; the next call dials afresh (after a short backoff).
    let answer = retry_until_ok(|| peer.forward(vec![0, 9], TIMEOUT)).await;
    assert_eq!(answer, ForwardResponse::Applied(vec![9, 0]));
    assert_eq!(
        server.accepted.load(Ordering::SeqCst),
        2,
        "the stalled connection was replaced"
    );
}

#[tokio::test]
async fn a_server_that_never_handshakes_fails_the_call_at_its_deadline_as_not_sent() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            held.push(listener.accept().await.unwrap());
        }
    });
    let deadline = Duration::from_millis(150);
    let error = peer(&addr, CLUSTER)
        .request_vote(vote(), deadline)
        .await
        .unwrap_err();
    // The deadline passed during the handshake, before the request was sent: definite.
    let PeerError::NotSent { peer, reason } = error else {
        panic!("{error:?}")
    };
    assert_eq!(peer, SERVER_ID);
    assert!(
        reason.contains(&format!("{deadline:?}")) && reason.contains("request sent: false"),
        "{reason}"
    );
}

/// Connect raw, send `bytes`, and read the server's handshake reply.
async fn raw_handshake_reply(addr: &str, bytes: &[u8]) -> Result<HelloReply, FrameError> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_frame::<HelloReply, _>(&mut stream, 1 << 20).await
}

/// Connect raw, send a well-formed raft `Hello` for `CLUSTER`/`SERVER_ID`, and return the
/// stream with the server's handshake reply.
async fn raw_raft_hello(addr: &str) -> (TcpStream, HelloReply) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let hello = Hello::new(Protocol::Raft, CLUSTER, Some(CLIENT_ID), Some(SERVER_ID));
    stream
        .write_all(&encode_frame(&hello, 1024).unwrap())
        .await
        .unwrap();
    let welcome = read_frame::<HelloReply, _>(&mut stream, 1024)
        .await
        .unwrap();
    (stream, welcome)
}

#[tokio::test]
async fn garbage_instead_of_a_handshake_is_refused_and_the_server_goes_on() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let addr = server.addr.clone();
    let mut garbage = 10u32.to_be_bytes().to_vec();
    garbage.extend_from_slice(&[0xff; 10]);
    let reply = raw_handshake_reply(&addr, &garbage).await.unwrap();
    assert!(
        matches!(reply, HelloReply::Refused(Refusal::Malformed { .. })),
        "{reply:?}"
    );
    let http = raw_handshake_reply(&addr, b"GET / HTTP/1.1\r\n\r\n")
        .await
        .unwrap();
    let HelloReply::Refused(Refusal::Malformed { reason }) = http else {
        panic!("{http:?}")
    };
    assert!(reason.contains("exceeds the maximum"), "{reason}");
    // The server still serves well-behaved callers.
    assert!(
        peer(&addr, CLUSTER)
            .request_vote(vote(), TIMEOUT)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn garbage_after_the_handshake_is_answered_goodbye_and_the_connection_closed() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let (handler, addr) = (server.handler.clone(), server.addr.clone());
    let (mut stream, welcome) = raw_raft_hello(&addr).await;
    assert_eq!(
        welcome,
        HelloReply::Welcome {
            cluster_id: CLUSTER,
            node_id: SERVER_ID
        }
    );
    stream
        .write_all(&[0, 0, 0, 3, 0xde, 0xad, 0xbe])
        .await
        .unwrap();
    let goodbye = read_frame::<ServerFrame<rafty::tcp::RaftResponse>, _>(&mut stream, 1024)
        .await
        .unwrap();
    assert!(
        matches!(goodbye, ServerFrame::Goodbye { .. }),
        "{goodbye:?}"
    );
    let closed = read_frame::<ServerFrame<rafty::tcp::RaftResponse>, _>(&mut stream, 1024).await;
    assert_eq!(closed, Err(FrameError::Closed));
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_oversize_frame_is_refused_without_reading_it() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let addr = server.addr.clone();
    let reply = raw_handshake_reply(&addr, &u32::MAX.to_be_bytes())
        .await
        .unwrap();
    let HelloReply::Refused(Refusal::Malformed { reason }) = reply else {
        panic!("{reply:?}")
    };
    assert!(
        reason.contains(&format!("frame of {} bytes exceeds the maximum", u32::MAX)),
        "{reason}"
    );
}

#[tokio::test]
async fn an_oversize_request_is_not_sent() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let (handler, addr) = (server.handler.clone(), server.addr.clone());
    let small = TransportConfig {
        max_frame_bytes: 1024,
        ..config(CLUSTER)
    };
    let peer = TcpPeer::new(TokioConnector, CLIENT_ID, SERVER_ID, addr, small);
    let error = peer.forward(vec![0; 4096], TIMEOUT).await.unwrap_err();
    let PeerError::NotSent { reason, .. } = error else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("exceeds the maximum of 1024 bytes"),
        "{reason}"
    );
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_node_of_another_cluster_is_refused_naming_both_ids() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let (handler, addr) = (server.handler.clone(), server.addr.clone());
    let error = peer(&addr, 7)
        .request_vote(vote(), TIMEOUT)
        .await
        .unwrap_err();
    // Refused at the handshake, before the request: definite.
    let PeerError::NotSent { peer, reason } = error else {
        panic!("{error:?}")
    };
    assert_eq!(peer, SERVER_ID);
    assert!(
        reason.contains("cluster 42") && reason.contains("cluster 7"),
        "{reason}"
    );
    assert_eq!(handler.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn another_node_at_the_address_is_refused() {
    let server = start_server("127.0.0.1:0", CLUSTER).await;
    let addr = server.addr.clone();
    let wrong = TcpPeer::new(TokioConnector, CLIENT_ID, 5, addr, config(CLUSTER));
    let error = wrong.request_vote(vote(), TIMEOUT).await.unwrap_err();
    let PeerError::NotSent { reason, .. } = error else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("wanted node 5") && reason.contains("server is node 2"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_server_that_goes_away_and_comes_back_is_reconnected() {
    let first = start_server("127.0.0.1:0", CLUSTER).await;
    let addr = first.addr.clone();
    let peer = peer(&addr, CLUSTER);
    assert!(peer.request_vote(vote(), TIMEOUT).await.is_ok());

    first.handle.shutdown();
    while !first.handle.is_finished() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let error = peer.request_vote(vote(), TIMEOUT).await.unwrap_err();
    // Not sent if the client saw the server's goodbye first (the redial is refused); lost
    // after sending if the request went out on the dying connection.
    assert!(
        matches!(
            error,
            PeerError::NotSent { .. } | PeerError::Unreachable { .. }
        ),
        "{error:?}"
    );

    let _second = start_server(&addr, CLUSTER).await;
    let answer = retry_until_ok(|| peer.request_vote(vote(), TIMEOUT)).await;
    assert!(answer.vote_granted);
}

/// Retry `call` every 20 ms for up to 5 s; returns the first success.
async fn retry_until_ok<T, F, Fut>(mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, PeerError>>,
{
    let mut last = None;
    for _ in 0..250 {
        match call().await {
            Ok(value) => return value,
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never succeeded; last error: {last:?}");
}

#[tokio::test]
async fn a_silent_connection_is_closed_by_the_server_after_the_idle_timeout() {
    let acceptor = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
    let addr = acceptor.local_addr().unwrap().to_string();
    let idle = TransportConfig {
        idle_timeout: Duration::from_millis(100),
        ..config(CLUSTER)
    };
    let _server = serve_raft(acceptor, Arc::new(Dummy::default()), SERVER_ID, idle);
    let (mut stream, welcome) = raw_raft_hello(&addr).await;
    assert!(matches!(welcome, HelloReply::Welcome { .. }));
    let started = tokio::time::Instant::now();
    let closed = read_frame::<ServerFrame<rafty::tcp::RaftResponse>, _>(&mut stream, 1024).await;
    assert_eq!(closed, Err(FrameError::Closed));
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
