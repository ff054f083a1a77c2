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
    verdict.not_run.push(
        "chaos: the harness's network is turmoil's, so a chaos run cannot plug in another \
         transport yet"
            .to_owned(),
    );
    verdict.finish(&session)
}
