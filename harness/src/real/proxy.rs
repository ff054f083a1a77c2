//! The fault proxy: a TCP relay the harness puts on every node-to-node link of a real-process
//! cluster, so that partitions, one-way partitions, latency and clogs need no privileges.
//!
//! Node `i` reaches node `j` through its own listener of the proxy (one per ordered pair,
//! [`FaultProxy::address`]), which relays every connection to `j`'s Raft port. Bytes flow in
//! two *directions* per connection: those from `i` to `j` (its requests) and those from `j` to
//! `i` (the answers); a connection `j` dialled to `i` carries the same two directions the
//! other way round. Each direction `(from, to)` has one [`DirectionState`]:
//!
//! - `Open`: bytes are relayed, each chunk held back by the direction's latency;
//! - `Clogged`: bytes are held (the reader stops once its bounded queue is full, so TCP's
//!   own backpressure holds the rest) and delivered, in order, once unclogged;
//! - `Cut` (a partition): bytes are held, and every connection carrying the direction is
//!   closed when the cut starts and again when it heals, so nothing sent across a partition
//!   is ever delivered (as if the network dropped it and the connection timed out).
//!
//! A one-way partition cuts one direction only: `i`'s requests to `j` never arrive, while
//! `j`'s requests reach `i` and `i`'s answers do not come back.
//!
//! A system whose members must all reach member `j` at one advertised address (etcd: a
//! member's peer URL is the same for every other member) gets one listener per destination
//! instead ([`FaultProxy::bind_per_destination`], [`FaultProxy::destination`]). The proxy then
//! learns who dialled from the connection's first HTTP request: etcd's peer requests carry the
//! sender's own peer URLs in an `X-PeerURLs` header, and each is one of this proxy's
//! addresses. Such a connection then fares exactly as a per-pair one, so partitions and
//! one-way partitions keep their meaning. A connection that names no member (etcd's
//! `/raft/probing` health probes, `/version`) carries no Raft message and is relayed as is,
//! whatever the faults.
//!
//! Architecture invariant: bytes of one direction of one connection are delivered in the
//! order they were sent, or not at all (a closed connection); the proxy never reorders,
//! duplicates or alters them.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::NodeId;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// How bytes of one direction fare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flow {
    /// Relayed (after the direction's latency).
    #[default]
    Open,
    /// Held, and delivered in order once open again.
    Clogged,
    /// Held, and dropped with their connections: a partition.
    Cut,
}

/// The state of one direction `(from, to)` of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirectionState {
    /// How its bytes fare.
    pub flow: Flow,
    /// How long each chunk is held before it is relayed.
    pub latency: Duration,
    /// How many times a cut started or healed: a connection opened under another count is
    /// closed.
    pub cuts: u64,
}

type Network = BTreeMap<(NodeId, NodeId), DirectionState>;

/// The largest chunk relayed at once.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks read but not yet relayed, per direction of a connection (then TCP holds the rest).
const QUEUED_CHUNKS: usize = 64;

/// The proxy of one cluster: a listener per ordered pair of nodes, and the state of every
/// direction. Dropping it stops relaying (its tasks end with the runtime).
pub struct FaultProxy {
    state: watch::Sender<Network>,
    addresses: BTreeMap<(NodeId, NodeId), String>,
    destinations: BTreeMap<NodeId, String>,
    targets: Arc<Mutex<BTreeMap<NodeId, String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Every direction between two of `nodes`, none faulted.
fn healthy(nodes: &[NodeId]) -> Network {
    let mut network = Network::new();
    for &from in nodes {
        for &to in nodes.iter().filter(|&&to| to != from) {
            network.insert((from, to), DirectionState::default());
        }
    }
    network
}

impl FaultProxy {
    /// Bind a listener on 127.0.0.1 for every ordered pair of `nodes`; nothing is relayed
    /// until [`FaultProxy::set_target`] says where each node listens.
    pub async fn bind(nodes: &[NodeId]) -> io::Result<FaultProxy> {
        let (state, _) = watch::channel(healthy(nodes));
        let targets = Arc::new(Mutex::new(BTreeMap::new()));
        let mut addresses = BTreeMap::new();
        let mut tasks = Vec::new();
        for &from in nodes {
            for &to in nodes.iter().filter(|&&to| to != from) {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                addresses.insert((from, to), listener.local_addr()?.to_string());
                let link = Link {
                    from: Some(from),
                    to,
                    state: state.subscribe(),
                    targets: targets.clone(),
                    senders: Arc::new(BTreeMap::new()),
                };
                tasks.push(tokio::spawn(link.accept(listener)));
            }
        }
        Ok(FaultProxy {
            state,
            addresses,
            destinations: BTreeMap::new(),
            targets,
            tasks,
        })
    }

    /// Bind one listener on 127.0.0.1 per node of `nodes`, which every other node dials to
    /// reach it; the sender of each connection is learnt from its first HTTP request (see the
    /// module's documentation).
    pub async fn bind_per_destination(nodes: &[NodeId]) -> io::Result<FaultProxy> {
        let (state, _) = watch::channel(healthy(nodes));
        let targets = Arc::new(Mutex::new(BTreeMap::new()));
        let mut listeners = Vec::new();
        let mut destinations = BTreeMap::new();
        for &to in nodes {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            destinations.insert(to, listener.local_addr()?.to_string());
            listeners.push((to, listener));
        }
        let senders: Arc<BTreeMap<String, NodeId>> = Arc::new(
            destinations
                .iter()
                .map(|(&node, addr)| (addr.clone(), node))
                .collect(),
        );
        let mut tasks = Vec::new();
        for (to, listener) in listeners {
            let link = Link {
                from: None,
                to,
                state: state.subscribe(),
                targets: targets.clone(),
                senders: senders.clone(),
            };
            tasks.push(tokio::spawn(link.accept(listener)));
        }
        Ok(FaultProxy {
            state,
            addresses: BTreeMap::new(),
            destinations,
            targets,
            tasks,
        })
    }

    /// Where every node dials to reach node `to`, with [`FaultProxy::bind_per_destination`].
    pub fn destination(&self, to: NodeId) -> &str {
        self.destinations
            .get(&to)
            .map(String::as_str)
            .expect("a node of the proxy, bound per destination")
    }

    /// Where node `from` must dial to reach node `to`.
    pub fn address(&self, from: NodeId, to: NodeId) -> &str {
        self.addresses
            .get(&(from, to))
            .map(String::as_str)
            .expect("a pair of the proxy's nodes")
    }

    /// Node `node` listens for Raft calls at `addr`.
    pub fn set_target(&self, node: NodeId, addr: String) {
        self.lock_targets().insert(node, addr);
    }

    fn lock_targets(&self) -> std::sync::MutexGuard<'_, BTreeMap<NodeId, String>> {
        self.targets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The state of direction `(from, to)`.
    pub fn direction(&self, from: NodeId, to: NodeId) -> DirectionState {
        self.state.borrow()[&(from, to)]
    }

    /// Set how bytes from `from` to `to` fare; starting or healing a cut closes every
    /// connection carrying the direction.
    pub fn set_flow(&self, from: NodeId, to: NodeId, flow: Flow) {
        self.state.send_modify(|network| {
            let direction = network
                .get_mut(&(from, to))
                .expect("a pair of the proxy's nodes");
            if (direction.flow == Flow::Cut) != (flow == Flow::Cut) {
                direction.cuts += 1;
            }
            direction.flow = flow;
        });
    }

    /// Hold each chunk from `from` to `to` for `latency` before relaying it.
    pub fn set_latency(&self, from: NodeId, to: NodeId, latency: Duration) {
        self.state.send_modify(|network| {
            network
                .get_mut(&(from, to))
                .expect("a pair of the proxy's nodes")
                .latency = latency;
        });
    }

    /// Every direction open, without latency.
    pub fn heal_all(&self) {
        let pairs: Vec<(NodeId, NodeId)> = self.state.borrow().keys().copied().collect();
        for (from, to) in pairs {
            self.set_flow(from, to, Flow::Open);
            self.set_latency(from, to, Duration::ZERO);
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// One listener: connections from `from` to `to` (`None`: from the node the connection's
/// first HTTP request names, its address one of `senders`).
struct Link {
    from: Option<NodeId>,
    to: NodeId,
    state: watch::Receiver<Network>,
    targets: Arc<Mutex<BTreeMap<NodeId, String>>>,
    senders: Arc<BTreeMap<String, NodeId>>,
}

impl Link {
    async fn accept(self, listener: TcpListener) {
        let link = Arc::new(self);
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((inbound, _)) => {
                        connections.spawn(link.clone().relay(inbound));
                    }
                    // Out of file descriptors, say: the dialler retries; do not spin.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    }

    /// Relay one connection until either side closes it or a cut closes it.
    async fn relay(self: Arc<Self>, mut inbound: TcpStream) {
        let (from, head) = match self.from {
            Some(from) => (Some(from), Vec::new()),
            None => sender(&mut inbound, &self.senders).await,
        };
        let target = {
            let targets = self.targets.lock().unwrap_or_else(|p| p.into_inner());
            targets.get(&self.to).cloned()
        };
        let Some(target) = target else { return };
        let Ok(outbound) = TcpStream::connect(&target).await else {
            return; // the node is down: the dialler sees its connection closed
        };
        let _ = inbound.set_nodelay(true);
        let _ = outbound.set_nodelay(true);
        let Some(from) = from else {
            // Names no member: no Raft message, relayed as is.
            let (mut inbound, mut outbound) = (inbound, outbound);
            if outbound.write_all(&head).await.is_ok() {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
            return;
        };
        let (forward, backward) = ((from, self.to), (self.to, from));
        let opened = {
            let network = self.state.borrow();
            (network[&forward].cuts, network[&backward].cuts)
        };
        let (inbound_read, inbound_write) = inbound.into_split();
        let (outbound_read, outbound_write) = outbound.into_split();
        tokio::select! {
            _ = pump(inbound_read, outbound_write, head, forward, opened.0, self.state.clone()) => {}
            _ = pump(outbound_read, inbound_write, Vec::new(), backward, opened.1, self.state.clone()) => {}
            _ = closed_by_cut(self.state.clone(), [forward, backward], [opened.0, opened.1]) => {}
        }
        // Both halves of both streams drop here: the connection is closed on both sides.
    }
}

/// The largest HTTP request head read to learn a connection's sender.
const HEAD_BYTES: usize = 16 * 1024;
/// How long the sender may take to send its request head.
const HEAD_WAIT: Duration = Duration::from_secs(5);

/// Who dialled `inbound`, from the `X-PeerURLs` header of its first HTTP request (an address
/// of `senders`), and the bytes read to learn it (to be relayed first). `None` when the head
/// names no sender, is not complete within [`HEAD_BYTES`] and [`HEAD_WAIT`], or the dialler
/// closed.
async fn sender(
    inbound: &mut TcpStream,
    senders: &BTreeMap<String, NodeId>,
) -> (Option<NodeId>, Vec<u8>) {
    let mut head = Vec::new();
    let read_head = async {
        let mut buffer = [0; 4096];
        while head.len() < HEAD_BYTES && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match inbound.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => head.extend_from_slice(&buffer[..read]),
            }
        }
    };
    let _ = tokio::time::timeout(HEAD_WAIT, read_head).await;
    let from = peer_urls(&head).and_then(|urls| {
        urls.split(',')
            .map(|url| {
                url.trim()
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
            })
            .find_map(|addr| senders.get(addr).copied())
    });
    (from, head)
}

/// The value of the `X-PeerURLs` header of an HTTP request head, if it has one.
fn peer_urls(head: &[u8]) -> Option<&str> {
    // The head only: a body (etcd's pipelined Raft messages are protobuf) need not be text.
    let end = head
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .unwrap_or(head.len());
    let text = std::str::from_utf8(&head[..end]).ok()?;
    text.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("x-peerurls")
            .then(|| value.trim())
    })
}

/// Resolves once a cut starts or heals on either direction since the connection opened.
async fn closed_by_cut(
    mut state: watch::Receiver<Network>,
    directions: [(NodeId, NodeId); 2],
    opened: [u64; 2],
) {
    loop {
        {
            let network = state.borrow_and_update();
            if directions
                .iter()
                .zip(opened)
                .any(|(direction, cuts)| network[direction].cuts != cuts)
            {
                return;
            }
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

/// Relay one direction: read chunks as they come (timestamped), and write each once its
/// direction is open and its latency has passed. Ends when either side closes, or when a cut
/// started or healed since the connection opened (with `opened` cuts), so that nothing held
/// across a partition is written.
async fn pump(
    mut source: impl AsyncRead + Unpin,
    mut sink: impl AsyncWrite + Unpin,
    first: Vec<u8>,
    direction: (NodeId, NodeId),
    opened: u64,
    mut state: watch::Receiver<Network>,
) {
    let (queue, mut queued) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUED_CHUNKS);
    let read = async move {
        if !first.is_empty() && queue.send((Instant::now(), first)).await.is_err() {
            return;
        }
        let mut buffer = vec![0; CHUNK_BYTES];
        loop {
            match source.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => {
                    if queue
                        .send((Instant::now(), buffer[..read].to_vec()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    };
    let write = async move {
        while let Some((read_at, chunk)) = queued.recv().await {
            let latency = loop {
                let current = state.borrow_and_update()[&direction];
                if current.cuts != opened {
                    return;
                }
                if current.flow == Flow::Open {
                    break current.latency;
                }
                if state.changed().await.is_err() {
                    return;
                }
            };
            tokio::time::sleep_until(read_at + latency).await;
            if sink.write_all(&chunk).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = read => {}
        _ = write => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut buffer = [0; 1024];
                    while let Ok(read) = stream.read(&mut buffer).await {
                        if read == 0 || stream.write_all(&buffer[..read]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn proxy_to_echo() -> (FaultProxy, TcpStream) {
        let proxy = FaultProxy::bind(&[1, 2]).await.unwrap();
        proxy.set_target(2, echo_server().await);
        let stream = TcpStream::connect(proxy.address(1, 2)).await.unwrap();
        (proxy, stream)
    }

    async fn echo(stream: &mut TcpStream, text: &[u8]) -> io::Result<Vec<u8>> {
        stream.write_all(text).await?;
        let mut answer = vec![0; text.len()];
        stream.read_exact(&mut answer).await?;
        Ok(answer)
    }

    #[tokio::test]
    async fn an_open_link_relays_both_ways_in_order() {
        let (_proxy, mut stream) = proxy_to_echo().await;
        assert_eq!(echo(&mut stream, b"hello").await.unwrap(), b"hello");
        assert_eq!(echo(&mut stream, b"again").await.unwrap(), b"again");
    }

    #[tokio::test]
    async fn a_clog_holds_bytes_and_delivers_them_once_released() {
        let (proxy, mut stream) = proxy_to_echo().await;
        proxy.set_flow(1, 2, Flow::Clogged);
        stream.write_all(b"held").await.unwrap();
        let mut answer = [0; 4];
        let early =
            tokio::time::timeout(Duration::from_millis(200), stream.read_exact(&mut answer));
        assert!(early.await.is_err(), "nothing comes back while clogged");
        proxy.set_flow(1, 2, Flow::Open);
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"held");
    }

    #[tokio::test]
    async fn a_cut_closes_the_connections_and_drops_what_was_sent_across_it() {
        let (proxy, mut stream) = proxy_to_echo().await;
        assert_eq!(echo(&mut stream, b"before").await.unwrap(), b"before");
        // A one-way cut of the answers' direction closes the connection too.
        proxy.set_flow(2, 1, Flow::Cut);
        let mut buffer = [0; 8];
        assert_eq!(stream.read(&mut buffer).await.unwrap_or(0), 0, "closed");
        // A connection opened during the cut: its request reaches no answer back...
        let mut during = TcpStream::connect(proxy.address(1, 2)).await.unwrap();
        during.write_all(b"lost").await.unwrap();
        let early = tokio::time::timeout(Duration::from_millis(200), during.read(&mut buffer));
        assert!(early.await.is_err(), "no answer across the cut");
        // ...and healing closes it rather than delivering the answer late.
        proxy.set_flow(2, 1, Flow::Open);
        assert_eq!(
            during.read(&mut buffer).await.unwrap_or(0),
            0,
            "closed at the heal"
        );
        let mut after = TcpStream::connect(proxy.address(1, 2)).await.unwrap();
        assert_eq!(echo(&mut after, b"after").await.unwrap(), b"after");
    }

    #[tokio::test]
    async fn per_destination_learns_the_sender_from_its_peer_urls_and_cuts_its_link_only() {
        let proxy = FaultProxy::bind_per_destination(&[1, 2, 3]).await.unwrap();
        proxy.set_target(3, echo_server().await);
        let head = |from: NodeId| {
            format!(
                "GET /raft/stream/message/1 HTTP/1.1\r\nHost: x\r\nX-PeerURLs: http://{}\r\n\r\n",
                proxy.destination(from)
            )
        };
        proxy.set_flow(1, 3, Flow::Cut);
        let mut from_1 = TcpStream::connect(proxy.destination(3)).await.unwrap();
        let mut from_2 = TcpStream::connect(proxy.destination(3)).await.unwrap();
        let (head_1, head_2) = (head(1), head(2));
        assert_eq!(
            echo(&mut from_2, head_2.as_bytes()).await.unwrap(),
            head_2.as_bytes(),
            "node 2's link to node 3 is open"
        );
        from_1.write_all(head_1.as_bytes()).await.unwrap();
        let mut buffer = [0; 8];
        let early = tokio::time::timeout(Duration::from_millis(200), from_1.read(&mut buffer));
        assert!(early.await.is_err(), "node 1's request is held by the cut");
        // A connection naming no member (a health probe) is relayed whatever the faults.
        let mut probe = TcpStream::connect(proxy.destination(3)).await.unwrap();
        let probe_head = b"GET /raft/probing HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(echo(&mut probe, probe_head).await.unwrap(), probe_head);
    }

    #[test]
    fn peer_urls_are_read_from_the_request_head_whatever_the_case() {
        let head = b"POST /raft HTTP/1.1\r\nx-peerurls: http://127.0.0.1:5\r\n\r\nbody";
        assert_eq!(peer_urls(head), Some("http://127.0.0.1:5"));
        // A binary body after the head (etcd's pipelined messages) does not hide the header.
        let binary = b"POST /raft HTTP/1.1\r\nX-PeerURLs: http://127.0.0.1:6\r\n\r\n\x08\xff\xfe";
        assert_eq!(peer_urls(binary), Some("http://127.0.0.1:6"));
        assert_eq!(peer_urls(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"), None);
    }

    #[tokio::test]
    async fn latency_holds_each_chunk_back() {
        let (proxy, mut stream) = proxy_to_echo().await;
        proxy.set_latency(1, 2, Duration::from_millis(300));
        let mut answer = [0; 4];
        stream.write_all(b"slow").await.unwrap();
        let early =
            tokio::time::timeout(Duration::from_millis(100), stream.read_exact(&mut answer));
        assert!(early.await.is_err(), "not back before the latency");
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"slow");
        assert_eq!(proxy.direction(1, 2).latency, Duration::from_millis(300));
    }
}
