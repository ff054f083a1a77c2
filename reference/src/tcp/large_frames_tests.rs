//! Large frames (a multi-MB InstallSnapshot chunk) to a slow reader, over in-memory pipes on
//! paused time: the server's idle timeout bounds silence, not a frame, and a short call timing
//! out behind the large one does not cut it off.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use tokio::sync::{Mutex, mpsc};
use tokio::time::Sleep;

use crate::message::{
    AppendEntries, AppendEntriesResponse, InstallSnapshot, InstallSnapshotResponse, RequestVote,
    RequestVoteResponse, TimeoutNow, TimeoutNowResponse,
};
use crate::peer::{ForwardResponse, Peer, PeerError, RpcHandler};
use crate::tcp::{Acceptor, Connector, TcpPeer, TransportConfig, serve_raft};

/// The server side of a pipe reads `piece` bytes at most, then pauses `pause`: a slow reader.
struct Slow {
    inner: DuplexStream,
    piece: usize,
    pause: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl AsyncRead for Slow {
    fn poll_read(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(sleep) = self.sleep.as_mut() {
            if sleep.as_mut().poll(context).is_pending() {
                return Poll::Pending;
            }
            self.sleep = None;
        }
        let room = buffer.remaining().min(self.piece);
        let mut limited = ReadBuf::new(buffer.initialize_unfilled_to(room));
        let polled = Pin::new(&mut self.inner).poll_read(context, &mut limited);
        let read = limited.filled().len();
        if let Poll::Ready(Ok(())) = polled {
            buffer.advance(read);
            if read > 0 {
                let pause = self.pause;
                self.sleep = Some(Box::pin(tokio::time::sleep(pause)));
            }
        }
        polled
    }
}

impl AsyncWrite for Slow {
    fn poll_write(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(context, bytes)
    }

    fn poll_flush(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(context)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(context)
    }
}

/// Dials by making a 64 KiB pipe and handing its far end to the [`Pipes`] acceptor.
struct Dialer {
    to_server: mpsc::UnboundedSender<DuplexStream>,
}

impl Connector for Dialer {
    type Stream = DuplexStream;

    async fn connect(&self, _: &str) -> io::Result<DuplexStream> {
        let (near, far) = tokio::io::duplex(64 << 10);
        self.to_server
            .send(far)
            .map_err(|_| io::Error::from(io::ErrorKind::ConnectionRefused))?;
        Ok(near)
    }
}

/// Accepts the pipes the [`Dialer`] makes, each read slowly.
struct Pipes {
    incoming: Mutex<mpsc::UnboundedReceiver<DuplexStream>>,
    piece: usize,
    pause: Duration,
}

impl Acceptor for Pipes {
    type Stream = Slow;

    async fn accept(&self) -> io::Result<(Slow, SocketAddr)> {
        let inner = self.incoming.lock().await.recv().await;
        let inner = inner.ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
        let slow = Slow {
            inner,
            piece: self.piece,
            pause: self.pause,
            sleep: None,
        };
        Ok((slow, SocketAddr::from(([127, 0, 0, 1], 1))))
    }
}

/// Takes snapshot chunks and heartbeats.
struct Follower;

#[async_trait]
impl RpcHandler for Follower {
    async fn request_vote(&self, _: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        unreachable!("no votes here")
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
    ) -> Result<AppendEntriesResponse, PeerError> {
        Ok(AppendEntriesResponse {
            term: request.term,
            success: true,
            match_index: request.prev_log_index,
            conflict: None,
        })
    }

    async fn forward(&self, _: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        unreachable!("no forwards here")
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        Ok(InstallSnapshotResponse {
            term: request.term,
            last_included_index: request.last_included_index,
            next_offset: request.offset + request.data.len() as u64,
            installed: request.done,
        })
    }

    async fn timeout_now(&self, _: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        Err(PeerError::Rejected {
            peer: 2,
            reason: "this follower takes no part in transfers".into(),
        })
    }
}

/// Never answers anything.
struct Stuck;

#[async_trait]
impl RpcHandler for Stuck {
    async fn request_vote(&self, _: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        std::future::pending().await
    }

    async fn append_entries(&self, _: AppendEntries) -> Result<AppendEntriesResponse, PeerError> {
        std::future::pending().await
    }

    async fn forward(&self, _: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        std::future::pending().await
    }

    async fn install_snapshot(
        &self,
        _: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        std::future::pending().await
    }

    async fn timeout_now(&self, _: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        std::future::pending().await
    }
}

/// A leader's peer to a follower that reads `piece` bytes every `pause`.
fn slow_follower(
    config: TransportConfig,
    piece: usize,
    pause: Duration,
) -> (TcpPeer<Dialer>, crate::tcp::ServerHandle) {
    serve_slowly(Arc::new(Follower), config, piece, pause)
}

/// A peer to `handler`, served on pipes read `piece` bytes every `pause`.
fn serve_slowly(
    handler: Arc<dyn RpcHandler>,
    config: TransportConfig,
    piece: usize,
    pause: Duration,
) -> (TcpPeer<Dialer>, crate::tcp::ServerHandle) {
    let (to_server, incoming) = mpsc::unbounded_channel();
    let acceptor = Pipes {
        incoming: Mutex::new(incoming),
        piece,
        pause,
    };
    let server = serve_raft(acceptor, handler, 2, config.clone());
    let peer = TcpPeer::new(Dialer { to_server }, 1, 2, "follower:1", config);
    (peer, server)
}

/// A 4 MiB chunk, the whole snapshot.
fn large_chunk() -> InstallSnapshot {
    InstallSnapshot {
        term: 3,
        leader_id: 1,
        last_included_index: 500,
        last_included_term: 3,
        size_bytes: 4 << 20,
        checksum: 0,
        offset: 0,
        data: vec![0x3C; 4 << 20],
        done: true,
    }
}

fn heartbeat() -> AppendEntries {
    AppendEntries {
        term: 3,
        leader_id: 1,
        prev_log_index: 500,
        prev_log_term: 3,
        entries: vec![],
        leader_commit: 500,
    }
}

#[tokio::test(start_paused = true)]
async fn a_large_frame_that_keeps_arriving_outlasts_the_servers_idle_timeout() {
    let config = TransportConfig {
        idle_timeout: Duration::from_secs(1),
        ..TransportConfig::new(9)
    };
    // 64 KiB every 100 ms: the 4 MiB chunk takes about 6.4 s to read, the idle limit is 1 s.
    let (peer, _server) = slow_follower(config, 64 << 10, Duration::from_millis(100));
    let answer = peer
        .install_snapshot(large_chunk(), Duration::from_secs(60))
        .await;
    assert_eq!(
        answer,
        Ok(InstallSnapshotResponse {
            term: 3,
            last_included_index: 500,
            next_offset: 4 << 20,
            installed: true
        })
    );
}

#[tokio::test(start_paused = true)]
async fn heartbeats_timing_out_behind_a_large_chunk_do_not_cut_it_off() {
    // 16 KiB every 10 ms: the chunk takes about 2.6 s to read; each heartbeat, queued behind
    // it on the same connection, has 100 ms.
    let (peer, _server) =
        slow_follower(TransportConfig::new(9), 16 << 10, Duration::from_millis(10));
    let peer = Arc::new(peer);
    let chunk = tokio::spawn({
        let peer = peer.clone();
        async move {
            peer.install_snapshot(large_chunk(), Duration::from_secs(60))
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut timed_out = 0;
    for _ in 0..5 {
        match peer
            .append_entries(heartbeat(), Duration::from_millis(100))
            .await
        {
            Err(PeerError::TimedOut { .. }) => timed_out += 1,
            other => panic!("a heartbeat behind the chunk: {other:?}"),
        }
    }
    assert_eq!(timed_out, 5, "the heartbeats waited behind the chunk");
    let answer = chunk.await.unwrap();
    assert_eq!(
        answer.map(|answer| answer.next_offset),
        Ok(4 << 20),
        "the chunk made it through"
    );
    // And the connection serves the next heartbeat.
    assert!(
        peer.append_entries(heartbeat(), Duration::from_secs(5))
            .await
            .is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn a_small_call_waiting_does_not_keep_a_silent_connection_alive() {
    let (peer, _server) = serve_slowly(
        Arc::new(Stuck),
        TransportConfig::new(9),
        64 << 10,
        Duration::ZERO,
    );
    let peer = Arc::new(peer);
    let forward = tokio::spawn({
        let peer = peer.clone();
        async move { peer.forward(vec![1; 100], Duration::from_secs(60)).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    let heartbeat = peer
        .append_entries(heartbeat(), Duration::from_millis(100))
        .await;
    assert!(
        matches!(heartbeat, Err(PeerError::TimedOut { .. })),
        "{heartbeat:?}"
    );
    // Nothing came back since, and the older forward is small: the silent connection is
    // dropped at the heartbeat's deadline, which fails the forward now, not in 60 s.
    let forward = forward.await.unwrap();
    assert!(
        matches!(&forward, Err(PeerError::Unreachable { reason, .. }) if reason.contains("no frame received")),
        "{forward:?}"
    );
}
