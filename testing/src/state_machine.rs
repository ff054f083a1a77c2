//! Test a [`StateMachine`](rafty::StateMachine): [`run_all`].

use rafty::testing::state_machine_suite;

use crate::StateMachineFactory;
use crate::session::{Session, Verdict};

/// Run the state machine suite (determinism across two instances, the same answers when the
/// log is replayed into a fresh machine after a restart, every command kind, garbage, queries
/// that change nothing, snapshots and restores) on machines from `factory`; fail the test
/// (every failure listed, a report under `store/`, the command that reruns it) unless all
/// pass.
pub fn run_all<F: StateMachineFactory>(mut factory: F) -> Verdict {
    let session = Session::current();
    let mut verdict = Verdict::new("StateMachine");
    let report = verdict.timed("state_machine_suite", || {
        Some(state_machine_suite::run(&mut factory))
    });
    verdict.suites.extend(report);
    verdict.not_run.push(
        "chaos: the harness's workloads speak rafty's key-value commands only, so a chaos run \
         cannot plug in another state machine yet"
            .to_owned(),
    );
    verdict.finish(&session)
}
