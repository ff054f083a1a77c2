//! Test a [`StateMachine`](rafty::StateMachine): [`run_all`] runs the conformance suite and a
//! chaos run of a cluster with your machine on every node.

use rafty::testing::state_machine_suite;

use crate::StateMachineFactory;
pub use crate::options::Options;
use crate::session::{Session, Verdict, run_chaos};

/// Run the state machine suite (determinism across two instances, the same answers when the
/// log is replayed into a fresh machine after a restart, every command kind, garbage, queries
/// that change nothing, snapshots and restores) on machines from `factory`, then a chaos run
/// of a 3-node cluster with one of them on every node, with [`Options::default`]; fail the
/// test (every failure listed, a report under `store/`, the command that reruns it) unless
/// all pass.
///
/// In the chaos run the workload's answers come from rafty's key-value machine, which the
/// checkers understand; yours runs beside it on every node, fed every entry the node applies
/// (the workload's commands, as opaque bytes: answer what your machine answers to a command
/// it cannot decode), snapshotted and restored with the node's snapshots, rebuilt at every
/// restart, on a durable log under every fault (power loss included). The run checks, from
/// outside, that every node's machine gives the same answer to the same entry and writes the
/// same snapshot bytes at the same index, however it got there (applying, re-applying after
/// a restart, restoring a snapshot), and that no entry is applied twice or skipped.
pub fn run_all<F>(factory: F) -> Verdict
where
    F: StateMachineFactory + Send + 'static,
{
    run_all_with(factory, Options::default())
}

/// [`run_all`] with `options`.
pub fn run_all_with<F>(mut factory: F, options: Options) -> Verdict
where
    F: StateMachineFactory + Send + 'static,
{
    let session = Session::current();
    let mut verdict = Verdict::new("StateMachine");
    let report = verdict.timed("state_machine_suite", || {
        Some(state_machine_suite::run(&mut factory))
    });
    verdict.suites.extend(report);
    run_chaos!(verdict, options, {
        crate::chaos::run_state_machine(factory, &session, &options, &mut verdict)
    });
    verdict.finish(&session)
}
