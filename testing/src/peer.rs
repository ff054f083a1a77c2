//! Test a [`Peer`](rafty::Peer): [`run_all`].

use rafty::testing::peer_suite;

use crate::PeerHarness;
use crate::session::{Session, Verdict};

/// Run the peer suite (round trips of every RPC, InstallSnapshot chunks, deadlines, a stalled
/// call that must not hold up others, large and concurrent messages, a server that goes away
/// and comes back, `NotSent` only for requests never seen) on `harness`; fail the test
/// (every failure listed, a report under `store/`, the command that reruns it) unless all
/// pass.
pub fn run_all<H: PeerHarness>(mut harness: H) -> Verdict {
    let session = Session::current();
    let mut verdict = Verdict::new("Peer");
    let report = verdict.timed("peer_suite", || Some(peer_suite::run(&mut harness)));
    verdict.suites.extend(report);
    verdict.not_run.push(NO_CHAOS.to_owned());
    verdict.finish(&session)
}

/// Why no chaos run plugs in a user's `Peer`.
const NO_CHAOS: &str = "chaos: a chaos run cannot carry your Peer. The harness's runs are \
    turmoil simulations, whose network is reached only through rafty's TcpPeer over turmoil's \
    streams (the Connector trait); a Peer of your own (gRPC, QUIC, another runtime) opens real \
    sockets, which the simulation neither carries nor partitions, and runs its own threads and \
    timers, which break the seed's determinism. The honest alternative, a real-time run \
    in-process (3 nodes on tokio, your Peer over loopback, kills, restarts and pauses, a short \
    key-value workload checked for linearizability), is not built: it needs your transport's \
    server for every node and a peer between any two, where PeerHarness gives one server \
    (SERVER_ID) and one caller (CLIENT_ID); the peer suite's server-going-away, stalled-call \
    and NotSent cases are what checks your Peer under faults today";
