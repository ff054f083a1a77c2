//! The chaos run of a user's `Peer`: the harness's in-process real-time run
//! (`rafty_harness::in_process`) on the user's [`PeerCluster`], at the session's seeds, each
//! stored under `store/` with the command that reruns the user's test.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rafty::ReadConsistency;
use rafty_harness::in_process::{in_process_name, run_in_process};
use rafty_harness::real::faults::IN_PROCESS_KINDS;
use rafty_harness::run::config::LogKind;
use rafty_harness::run::suite::{self, SuiteOptions};

use crate::PeerCluster;
use crate::chaos::{kv_config, report_runs, seeds};
use crate::options::Options;
use crate::session::{self, Session, Verdict};

/// The typical length of a fault and of the healthy gap after it: about three faults in the
/// default four seconds.
const NEMESIS_INTERVAL: Duration = Duration::from_millis(700);

/// Run `options.chaos_seeds` seeds (or the given one) of a 3-node key-value cluster on
/// `cluster`, in real time in this process, under every fault that applies (kill, pause,
/// partition, latency, clog); clients at every node, follower reads on, so that forwards
/// and read indexes cross the user's `Peer` too.
pub(crate) fn run_peer<C: PeerCluster + 'static>(
    cluster: C,
    session: &Session,
    options: &Options,
    verdict: &mut Verdict,
) {
    let seeds = seeds(session, options);
    if seeds.is_empty() {
        return;
    }
    let Some(mut config) = kv_config(LogKind::Memory, options, verdict) else {
        return;
    };
    config.nemesis_interval = NEMESIS_INTERVAL;
    config.reads = ReadConsistency::Linearizable;
    config.raft.follower_reads = true;
    config.raft.forward_to_leader = true;
    if let Err(error) = rafty_harness::run::store::check_writable(Path::new("store")) {
        verdict
            .chaos_failures
            .push(format!("the store folder cannot be written: {error}"));
        return;
    }
    let kinds: Vec<&'static str> = IN_PROCESS_KINDS.to_vec();
    let name = in_process_name(&config, &kinds);
    let test = session.test.clone();
    let transport = Mutex::new(cluster);
    let suite_options = SuiteOptions {
        seeds,
        store: Some("store".into()),
        progress: false,
        jobs: 1,
    };
    let summary = suite::run_suite_with(
        &config,
        &name,
        &suite_options,
        |seed| session::reproduce(&test, seed),
        |seed, run_options| {
            let mut transport = transport.lock().unwrap_or_else(|p| p.into_inner());
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_in_process(
                    &mut *transport,
                    &config,
                    &kinds,
                    seed,
                    run_options.spool_dir.as_deref(),
                )
            }));
            ran.unwrap_or_else(|payload| {
                let message = rafty::node::panic_message(payload.as_ref());
                Err(format!(
                    "the run panicked (your transport, or the harness): {message}"
                ))
            })
        },
    );
    let what = format!(
        "{} nodes in process, {} s real time, faults {} around your Peer; not deterministic: \
         the seed draws the faults, not when they land",
        config.nodes,
        config.workload.time_limit.as_secs(),
        kinds.join(","),
    );
    report_runs(&summary, &what, verdict);
}
