//! Test a [`PeersProvider`](rafty::PeersProvider): [`run_all`] runs the conformance suite and a
//! chaos run of a cluster whose nodes get their peers from your provider.

use rafty::testing::peers_provider_suite;

use crate::PeersProviderFactory;
pub use crate::options::Options;
use crate::session::{Session, Verdict, run_chaos};

/// Run the peers provider suite (every other member listed at its address, each once, in a
/// stable order; never the node itself; a change of the source listed by the next call, with a
/// new generation; nothing changing while the source does not; a bad source an error, the
/// last good list kept) on providers from `factory`, then a chaos run of a 3-node cluster
/// whose nodes get their peers from them, with [`Options::default`]; fail the test (every
/// failure listed, a report under `store/`, the command that reruns it) unless all pass.
///
/// In the chaos run one source lists every node (`n1:7000`...) and the peers your provider
/// makes come from the harness's `connect` (its TCP peer over the simulated network), under
/// every fault. Three times during the run one member's address changes (between its name
/// and its IP address, both of which reach it) and each provider is refreshed: every answer
/// of `peers()` is checked against the source as its provider last saw it, and a changed
/// list must come with a new generation.
pub fn run_all<F>(factory: F) -> Verdict
where
    F: PeersProviderFactory + Send + 'static,
    F::Source: Send,
{
    run_all_with(factory, Options::default())
}

/// [`run_all`] with `options`.
pub fn run_all_with<F>(mut factory: F, options: Options) -> Verdict
where
    F: PeersProviderFactory + Send + 'static,
    F::Source: Send,
{
    let session = Session::current();
    let mut verdict = Verdict::new("PeersProvider");
    let report = verdict.timed("peers_provider_suite", || {
        Some(peers_provider_suite::run(&mut factory))
    });
    verdict.suites.extend(report);
    run_chaos!(verdict, options, {
        crate::chaos::run_peers_provider(factory, &session, &options, &mut verdict)
    });
    verdict.finish(&session)
}
