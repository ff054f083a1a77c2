//! In the simulation, node-to-node calls travel over rafty's TCP transport on turmoil
//! (`sim/net.rs`), as the cluster wires them (`TcpPeer` with `TurmoilConnector`, `serve_raft`
//! on a `TurmoilAcceptor`): an InstallSnapshot chunk (§7, Figure 13) reaches the receiving
//! node's `RpcHandler::install_snapshot` whole, and its answer comes back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rafty::tcp::{TcpPeer, TransportConfig, serve_raft};
use rafty::{
    AppendEntries, AppendEntriesResponse, ForwardResponse, InstallSnapshot,
    InstallSnapshotResponse, Peer, PeerError, RequestVote, RequestVoteResponse, RpcHandler,
    TimeoutNow, TimeoutNowResponse,
};
use rafty_harness::sim::net::{TurmoilAcceptor, TurmoilConnector};

const PORT: u16 = 7000;
const CLUSTER: u64 = 1;

/// Records the InstallSnapshot chunks it is handed; refuses every other call.
#[derive(Default)]
struct SnapshotReceiver {
    chunks: Mutex<Vec<InstallSnapshot>>,
}

#[async_trait]
impl RpcHandler for SnapshotReceiver {
    async fn request_vote(&self, _: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        Err(refused())
    }

    async fn append_entries(&self, _: AppendEntries) -> Result<AppendEntriesResponse, PeerError> {
        Err(refused())
    }

    async fn forward(&self, _: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        Err(refused())
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        let answer = InstallSnapshotResponse {
            term: request.term,
            last_included_index: request.last_included_index,
            next_offset: request.offset + request.data.len() as u64,
            installed: request.done,
        };
        self.chunks.lock().unwrap().push(request);
        Ok(answer)
    }

    async fn timeout_now(&self, _: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        Err(refused())
    }
}

fn refused() -> PeerError {
    PeerError::Rejected {
        peer: 2,
        reason: "only snapshots".into(),
    }
}

#[test]
fn install_snapshot_chunks_reach_the_handler_of_a_simulated_node() {
    let receiver = Arc::new(SnapshotReceiver::default());
    // Three chunks of 1 MiB and a short last one, in patterned bytes.
    let snapshot: Vec<u8> = (0..(3 << 20) + 777).map(|i: u32| (i % 251) as u8).collect();
    let chunks: Vec<InstallSnapshot> = snapshot
        .chunks(1 << 20)
        .enumerate()
        .map(|(n, data)| {
            let offset = (n << 20) as u64;
            InstallSnapshot {
                term: 5,
                leader_id: 1,
                last_included_index: 321,
                last_included_term: 4,
                size_bytes: snapshot.len() as u64,
                checksum: checksum_of(&snapshot),
                offset,
                data: data.to_vec(),
                done: offset + data.len() as u64 == snapshot.len() as u64,
            }
        })
        .collect();
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(60))
        .build();
    let handler = receiver.clone();
    sim.host("n2", move || {
        let handler = handler.clone();
        async move {
            let acceptor = TurmoilAcceptor::bind(PORT).await?;
            let _server = serve_raft(acceptor, handler, 2, TransportConfig::new(CLUSTER));
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    let sent = chunks.clone();
    sim.client("n1", async move {
        let peer = TcpPeer::new(
            TurmoilConnector,
            1,
            2,
            format!("n2:{PORT}"),
            TransportConfig::new(CLUSTER),
        );
        for chunk in sent {
            let end = chunk.offset + chunk.data.len() as u64;
            let answer = peer
                .install_snapshot(chunk.clone(), Duration::from_secs(5))
                .await?;
            assert_eq!(
                answer,
                InstallSnapshotResponse {
                    term: 5,
                    last_included_index: 321,
                    next_offset: end,
                    installed: chunk.done,
                }
            );
        }
        Ok(())
    });
    sim.run().expect("the chunks make their round trips");
    let received = receiver.chunks.lock().unwrap().clone();
    assert_eq!(received.len(), 4);
    assert!(received == chunks, "every chunk arrived whole, in order");
}

/// A checksum for the test's chunks (any fixed function of the bytes serves).
fn checksum_of(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0u32, |hash, &byte| hash.rotate_left(5) ^ u32::from(byte))
}
