//! Test a [`Peer`](rafty::Peer): [`run_all`] runs the peer suite on one link of your
//! transport and a chaos run of a 3-node cluster on all of it.

use rafty::testing::peer_cluster::OneLink;
use rafty::testing::peer_suite;

use crate::PeerCluster;
pub use crate::options::Options;
use crate::session::{Session, Verdict, run_chaos};

/// Run the peer suite (round trips of every RPC, InstallSnapshot chunks, deadlines, a stalled
/// call that must not hold up others, large and concurrent messages, a server that goes away
/// and comes back, `NotSent` only for requests never seen) on one link of `cluster` (node 1
/// calling node 2), then a chaos run of a 3-node cluster on it, with [`Options::default`];
/// fail the test (every failure listed, a report under `store/`, the command that reruns it)
/// unless all pass.
///
/// The chaos run (with the `chaos` feature, on by default) is real time, in this process: 3
/// rafty nodes on one tokio runtime, on in-memory logs and the key-value machine, every
/// node-to-node call through your `Peer`s and servers, the servers at loopback addresses the
/// harness gives. Faults drawn from the seed: a node killed (its server stopped, its
/// connections closed) and restarted from its log, a node paused (its event loop stopped
/// while its server still takes calls), and network faults applied by the harness *around*
/// your `Peer` (a partition refuses calls or drops their answers, latency and clogs hold
/// them): your transport's wire is not cut. Clients write and read keys through the library
/// API, at followers too, so writes are forwarded and follower reads ask the leader through
/// your `Peer`. The history is checked for linearizability, Raft's rules are checked on what
/// crossed your transport at both ends, and three checks judge the `Peer` itself: every
/// answer it returns is the one the callee's handler gave to that very request
/// (`peer-answers`), no request reaches a handler more often than it was sent
/// (`peer-delivered-once`), every call returns by its deadline (`peer-deadline`).
///
/// The run is not deterministic (the machine schedules your transport): the seed draws the
/// faults and operations, not when they land, so `RAFTY_SEED` reruns the same faults at other
/// moments.
pub fn run_all<C>(cluster: C) -> Verdict
where
    C: PeerCluster + 'static,
{
    run_all_with(cluster, Options::default())
}

/// [`run_all`] with `options`.
pub fn run_all_with<C>(cluster: C, options: Options) -> Verdict
where
    C: PeerCluster + 'static,
{
    let session = Session::current();
    let mut verdict = Verdict::new("Peer");
    let mut link = OneLink::new(cluster);
    let report = verdict.timed("peer_suite", || Some(peer_suite::run(&mut link)));
    verdict.suites.extend(report);
    run_chaos!(verdict, options, {
        crate::peer_chaos::run_peer(link.into_inner(), &session, &options, &mut verdict)
    });
    verdict.finish(&session)
}
