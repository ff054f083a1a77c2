//! InstallSnapshot (§7, Figure 13) over the TCP transport on real sockets: a chunk and its
//! answer make the round trip whole, a chunk over the frame limit is refused before it is sent
//! (and the connection lives on), a handler without snapshot support refuses rather than
//! hangs, and garbage in a snapshot frame is answered with a goodbye, never a panic.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rafty::tcp::frame::{encode_frame, read_frame};
use rafty::tcp::{
    Acceptor, Envelope, FrameError, Hello, HelloReply, Protocol, RaftRequest, RaftResponse,
    ServerFrame, ServerHandle, TcpPeer, TokioAcceptor, TokioConnector, TransportConfig, serve_raft,
};
use rafty::{
    AppendEntries, AppendEntriesResponse, ForwardResponse, InstallSnapshot,
    InstallSnapshotResponse, Peer, PeerError, RequestVote, RequestVoteResponse, RpcHandler,
    TimeoutNow, TimeoutNowResponse,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const CLUSTER: u64 = 42;
const SERVER_ID: u64 = 2;
const CLIENT_ID: u64 = 1;
const TIMEOUT: Duration = Duration::from_secs(5);

/// Answers every call; records the snapshot chunks it receives and answers each with the
/// offset after it, and `installed` for a last chunk when the bytes of every chunk received
/// match its checksum.
#[derive(Default)]
struct Receiver {
    chunks: Mutex<Vec<InstallSnapshot>>,
    calls: AtomicU64,
}

impl Receiver {
    fn chunks(&self) -> Vec<InstallSnapshot> {
        self.chunks.lock().unwrap().clone()
    }
}

/// What [`Receiver`] answers to `request`, the first chunk it receives.
fn answer_to(request: &InstallSnapshot) -> InstallSnapshotResponse {
    InstallSnapshotResponse {
        term: request.term,
        last_included_index: request.last_included_index,
        next_offset: request.offset + request.data.len() as u64,
        installed: request.done && crc32c::crc32c(&request.data) == request.checksum,
    }
}

#[async_trait]
impl RpcHandler for Receiver {
    async fn request_vote(&self, request: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(RequestVoteResponse {
            term: request.term,
            vote_granted: true,
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
            match_index: request.prev_log_index,
            conflict: None,
        })
    }

    async fn forward(&self, command: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(ForwardResponse::Applied(command))
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut answer = answer_to(&request);
        let mut chunks = self.chunks.lock().unwrap();
        chunks.push(request);
        let last = chunks.last().expect("just pushed");
        let whole: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
        answer.installed = last.done && crc32c::crc32c(&whole) == last.checksum;
        Ok(answer)
    }

    async fn timeout_now(&self, _: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        unreachable!("only snapshots are sent")
    }
}

/// A handler without snapshot support: it refuses `install_snapshot`.
struct NoSnapshots;

#[async_trait]
impl RpcHandler for NoSnapshots {
    async fn request_vote(&self, _: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        unreachable!("only snapshots are sent")
    }

    async fn append_entries(&self, _: AppendEntries) -> Result<AppendEntriesResponse, PeerError> {
        unreachable!("only snapshots are sent")
    }

    async fn forward(&self, _: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        unreachable!("only snapshots are sent")
    }

    async fn install_snapshot(
        &self,
        _: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        Err(PeerError::Rejected {
            peer: 0,
            reason: "this handler does not accept InstallSnapshot".into(),
        })
    }

    async fn timeout_now(&self, _: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        unreachable!("only snapshots are sent")
    }
}

/// Counts the connections it accepts.
struct Counting {
    inner: TokioAcceptor,
    accepted: Arc<AtomicU64>,
}

impl Acceptor for Counting {
    type Stream = TcpStream;

    async fn accept(&self) -> std::io::Result<(TcpStream, SocketAddr)> {
        let accepted = self.inner.accept().await?;
        self.accepted.fetch_add(1, Ordering::SeqCst);
        Ok(accepted)
    }
}

struct Server {
    addr: String,
    accepted: Arc<AtomicU64>,
    _handle: ServerHandle,
}

async fn serve(handler: Arc<dyn RpcHandler>, config: TransportConfig) -> Server {
    let inner = TokioAcceptor::bind("127.0.0.1:0").await.unwrap();
    let addr = inner.local_addr().unwrap().to_string();
    let accepted = Arc::new(AtomicU64::new(0));
    let acceptor = Counting {
        inner,
        accepted: accepted.clone(),
    };
    Server {
        addr,
        accepted,
        _handle: serve_raft(acceptor, handler, SERVER_ID, config),
    }
}

fn peer(addr: &str, config: TransportConfig) -> TcpPeer<TokioConnector> {
    TcpPeer::new(TokioConnector, CLIENT_ID, SERVER_ID, addr, config)
}

/// A chunk of `data` at `offset` of a snapshot of `size_bytes` whose checksum is `checksum`.
fn chunk(
    offset: u64,
    data: Vec<u8>,
    size_bytes: u64,
    checksum: u32,
    done: bool,
) -> InstallSnapshot {
    InstallSnapshot {
        term: 9,
        leader_id: CLIENT_ID,
        last_included_index: 1234,
        last_included_term: 8,
        size_bytes,
        checksum,
        offset,
        data,
        done,
    }
}

#[tokio::test]
async fn a_snapshot_in_chunks_arrives_whole_and_every_answer_comes_back() {
    let receiver = Arc::new(Receiver::default());
    let server = serve(receiver.clone(), TransportConfig::new(CLUSTER)).await;
    let peer = peer(&server.addr, TransportConfig::new(CLUSTER));
    // 200 KiB of patterned bytes, sent as 64 KiB chunks and a short last one.
    let snapshot: Vec<u8> = (0..200 << 10).map(|i: u32| (i * 131 % 251) as u8).collect();
    let checksum = crc32c::crc32c(&snapshot);
    let size = snapshot.len() as u64;
    let mut sent = Vec::new();
    for (n, data) in snapshot.chunks(64 << 10).enumerate() {
        let offset = (n * (64 << 10)) as u64;
        let done = offset + data.len() as u64 == size;
        let request = chunk(offset, data.to_vec(), size, checksum, done);
        let answer = peer.install_snapshot(request.clone(), TIMEOUT).await;
        assert_eq!(
            answer,
            Ok(InstallSnapshotResponse {
                term: 9,
                last_included_index: 1234,
                next_offset: offset + data.len() as u64,
                installed: done,
            }),
            "chunk {n}"
        );
        sent.push(request);
    }
    assert_eq!(receiver.chunks(), sent, "every field of every chunk");
    let rebuilt: Vec<u8> = receiver.chunks().into_iter().flat_map(|c| c.data).collect();
    assert_eq!(rebuilt, snapshot);
    // The last chunk's answer said installed: the bytes matched the whole snapshot's CRC32C.
    assert_eq!(crc32c::crc32c(&rebuilt), checksum);
}

#[tokio::test]
async fn a_chunk_over_the_limit_is_not_sent_and_the_connection_lives_on() {
    let receiver = Arc::new(Receiver::default());
    let small = TransportConfig {
        max_frame_bytes: 4096,
        ..TransportConfig::new(CLUSTER)
    };
    let server = serve(receiver.clone(), small.clone()).await;
    let peer = peer(&server.addr, small.clone());
    let limit = small.max_snapshot_chunk_bytes();
    let fits = InstallSnapshot {
        term: u64::MAX,
        leader_id: u64::MAX,
        last_included_index: u64::MAX,
        last_included_term: u64::MAX,
        size_bytes: u64::MAX,
        checksum: u32::MAX,
        offset: u64::MAX - limit as u64,
        data: vec![0x5A; limit],
        done: false,
    };
    assert_eq!(
        peer.install_snapshot(fits.clone(), TIMEOUT).await,
        Ok(answer_to(&fits)),
        "a chunk of exactly the limit, every field at its widest"
    );
    let over = InstallSnapshot {
        data: vec![0x5A; limit + 1],
        ..fits.clone()
    };
    let error = peer.install_snapshot(over, TIMEOUT).await.unwrap_err();
    let PeerError::NotSent { peer: to, reason } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*to, SERVER_ID);
    assert!(
        reason.contains(&format!("chunk of {} bytes", limit + 1))
            && reason.contains(&format!("limit of {limit} bytes"))
            && reason.contains("max_frame_bytes 4096"),
        "{reason}"
    );
    assert_eq!(
        receiver.chunks(),
        vec![fits.clone()],
        "the handler never saw it"
    );
    // The same connection carries the next chunk.
    assert_eq!(
        peer.install_snapshot(fits.clone(), TIMEOUT).await,
        Ok(answer_to(&fits))
    );
    assert_eq!(server.accepted.load(Ordering::SeqCst), 1, "never redialled");
}

#[tokio::test]
async fn a_handler_without_snapshot_support_refuses_and_the_call_returns() {
    let server = serve(Arc::new(NoSnapshots), TransportConfig::new(CLUSTER)).await;
    let peer = peer(&server.addr, TransportConfig::new(CLUSTER));
    let error = peer
        .install_snapshot(chunk(0, vec![1, 2, 3], 3, 0, true), TIMEOUT)
        .await
        .unwrap_err();
    // It reached the handler, which refused: indefinite, and not a timeout.
    let PeerError::Rejected { reason, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("does not accept InstallSnapshot"),
        "{reason}"
    );
    assert!(!error.is_definite());
}

/// Connect raw and handshake as `version` of the Raft protocol.
async fn raw_hello(addr: &str, version: u16) -> (TcpStream, HelloReply) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let hello = Hello {
        version,
        ..Hello::new(Protocol::Raft, CLUSTER, Some(CLIENT_ID), Some(SERVER_ID))
    };
    stream
        .write_all(&encode_frame(&hello, 1024).unwrap())
        .await
        .unwrap();
    let reply = read_frame::<HelloReply, _>(&mut stream, 1024)
        .await
        .unwrap();
    (stream, reply)
}

/// The body of an InstallSnapshot envelope (id 0) whose fields are all 1, up to its data.
fn snapshot_body_up_to_data() -> Vec<u8> {
    // id, variant 3, term, leader, last index, last term, size, checksum, offset.
    vec![0, 3, 1, 1, 1, 1, 1, 1, 1]
}

#[tokio::test]
async fn garbage_in_a_snapshot_frame_is_answered_goodbye_and_nothing_reaches_the_handler() {
    let receiver = Arc::new(Receiver::default());
    let server = serve(receiver.clone(), TransportConfig::new(CLUSTER)).await;
    let mut huge_data = snapshot_body_up_to_data();
    // A data length of 2^32 - 1 in 9 bytes of frame: refused, nothing allocated for it.
    huge_data.extend([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]);
    let mut cut = snapshot_body_up_to_data();
    cut.extend([5, 1, 2]);
    let unknown_variant = vec![0, 9, 1];
    for (what, body) in [
        ("a data length past the frame", huge_data),
        ("a chunk cut short", cut),
        ("an unknown variant", unknown_variant),
    ] {
        let (mut stream, welcome) =
            raw_hello(&server.addr, rafty::tcp::handshake::PROTOCOL_VERSION).await;
        assert!(matches!(welcome, HelloReply::Welcome { .. }), "{welcome:?}");
        let mut frame = (body.len() as u32).to_be_bytes().to_vec();
        frame.extend(&body);
        stream.write_all(&frame).await.unwrap();
        let goodbye = read_frame::<ServerFrame<RaftResponse>, _>(&mut stream, 1 << 20).await;
        let Ok(ServerFrame::Goodbye { reason }) = &goodbye else {
            panic!("{what}: {goodbye:?}")
        };
        assert!(reason.contains("malformed frame"), "{what}: {reason}");
        let closed = read_frame::<ServerFrame<RaftResponse>, _>(&mut stream, 1 << 20).await;
        assert_eq!(closed, Err(FrameError::Closed), "{what}");
    }
    assert_eq!(receiver.calls.load(Ordering::SeqCst), 0);
    // And the well-formed chunk the garbage was cut from is served.
    let peer = peer(&server.addr, TransportConfig::new(CLUSTER));
    let good = chunk(0, vec![7; 10], 10, crc32c::crc32c(&[7; 10]), true);
    assert_eq!(
        peer.install_snapshot(good.clone(), TIMEOUT).await,
        Ok(answer_to(&good))
    );
}

#[tokio::test]
async fn a_version_1_caller_is_still_served_and_a_newer_one_refused() {
    let receiver = Arc::new(Receiver::default());
    let server = serve(receiver.clone(), TransportConfig::new(CLUSTER)).await;
    let (mut stream, welcome) = raw_hello(&server.addr, 1).await;
    assert!(matches!(welcome, HelloReply::Welcome { .. }), "{welcome:?}");
    let request = Envelope {
        id: 5,
        body: RaftRequest::Forward(vec![1, 2]),
    };
    stream
        .write_all(&encode_frame(&request, 1024).unwrap())
        .await
        .unwrap();
    let answer = read_frame::<ServerFrame<RaftResponse>, _>(&mut stream, 1024).await;
    assert_eq!(
        answer,
        Ok(ServerFrame::Response {
            id: 5,
            body: RaftResponse::Forward(Ok(ForwardResponse::Applied(vec![1, 2])))
        })
    );
    let newer = rafty::tcp::handshake::PROTOCOL_VERSION + 1;
    let (_stream, refused) = raw_hello(&server.addr, newer).await;
    assert!(
        matches!(
            refused,
            HelloReply::Refused(rafty::tcp::Refusal::UnsupportedVersion { caller, .. }) if caller == newer
        ),
        "{refused:?}"
    );
}
