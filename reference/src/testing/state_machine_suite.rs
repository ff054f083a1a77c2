//! The conformance suite for [`StateMachine`] implementations.
//!
//! Give it a [`StateMachineFactory`]: how to create an empty machine, the kinds of command
//! your machine takes and a generator for each, and a way to compare two machines' states (a
//! digest of the whole state, or a set of read-only queries). [`run`] checks the contract of
//! [`StateMachine`]:
//!
//! * **determinism**: two machines given the same commands at the same indices give the same
//!   responses and reach the same state;
//! * **restart**: a machine rebuilt by re-applying the log from index 1 (as a node does on
//!   restart) gives exactly the responses the first one gave, and reaches the same state;
//! * **every command kind** is answered, deterministically; and so is garbage (bytes that
//!   are no command), without a panic;
//! * a query changes nothing;
//! * **snapshots** (Raft §7): a machine restored from a snapshot is the original's twin and
//!   applies later commands exactly as it does; machines that applied the same commands write
//!   the same snapshot bytes; a cut-short or garbage snapshot is an `Err` from `restore`,
//!   never a panic. A machine whose `snapshot` returns `None` has these cases reported as
//!   unsupported ([`SNAPSHOT_CASES`]), not failed.
//!
//! Commands are drawn from seeds, so a failure names the step that diverged and is
//! reproducible.
//!
//! ```
//! use rafty::testing::state_machine_suite::{self, StateMachineFactory};
//! use rafty::{KvCommand, KvStateMachine};
//!
//! struct Kv;
//! impl StateMachineFactory for Kv {
//!     type Machine = KvStateMachine;
//!     fn create(&mut self) -> KvStateMachine {
//!         KvStateMachine::new()
//!     }
//!     fn command_kinds(&self) -> Vec<&'static str> {
//!         vec!["get", "put", "append"]
//!     }
//!     fn command(&mut self, kind: usize, seed: u64) -> Vec<u8> {
//!         let key = format!("k{}", seed % 3);
//!         let value = format!("v{}", seed % 5);
//!         let command = match kind {
//!             0 => KvCommand::Get { key },
//!             1 => KvCommand::Put { key, value },
//!             _ => KvCommand::Append { key, value },
//!         };
//!         command.encode().unwrap()
//!     }
//!     fn digest(&self, machine: &KvStateMachine) -> Option<Vec<u8>> {
//!         Some(format!("{:?}", machine.data()).into_bytes())
//!     }
//! }
//!
//! state_machine_suite::run(&mut Kv).assert_all_passed();
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::state_machine::StateMachine;
use crate::testing::SuiteReport;
use crate::types::LogIndex;

mod cases;
mod snapshots;

/// Creates a user's [`StateMachine`] and the commands to feed it.
pub trait StateMachineFactory {
    /// The state machine under test.
    type Machine: StateMachine;

    /// A new machine with an empty state.
    fn create(&mut self) -> Self::Machine;

    /// The names of the kinds of command the machine takes (for a key-value store: get, put,
    /// delete...). At least one.
    fn command_kinds(&self) -> Vec<&'static str>;

    /// An encoded command of kind `kind` (an index into [`StateMachineFactory::command_kinds`]),
    /// drawn from `seed`: the same arguments must give the same bytes. Draw from a small set of
    /// keys or names, so that commands interact.
    fn command(&mut self, kind: usize, seed: u64) -> Vec<u8>;

    /// A digest of the machine's whole state: equal for equal states, different for different
    /// ones (the encoded state itself will do). `None` (the default) compares the answers to
    /// [`StateMachineFactory::queries`] instead.
    fn digest(&self, _machine: &Self::Machine) -> Option<Vec<u8>> {
        None
    }

    /// Read-only queries for [`StateMachine::query`] whose answers, together, describe the
    /// state; used to compare states when there is no digest, and to check that queries
    /// change nothing. Empty by default.
    fn queries(&self) -> Vec<Vec<u8>> {
        Vec::new()
    }
}

/// A case of the suite: its name and its body.
type Case<F> = (&'static str, fn(&mut F) -> Result<(), String>);

fn all_cases<F: StateMachineFactory>() -> Vec<Case<F>> {
    vec![
        (
            "every_command_kind_is_answered",
            cases::every_command_kind_is_answered,
        ),
        (
            "same_commands_give_same_responses_and_state",
            cases::same_commands_give_same_responses_and_state,
        ),
        (
            "restart_replays_the_log_to_the_same_responses",
            cases::restart_replays_the_log_to_the_same_responses,
        ),
        (
            "index_gaps_from_no_ops_are_accepted",
            cases::index_gaps_from_no_ops_are_accepted,
        ),
        (
            "garbage_commands_are_answered_without_a_panic",
            cases::garbage_commands_are_answered_without_a_panic,
        ),
        ("queries_change_nothing", cases::queries_change_nothing),
        (
            "state_comparison_sees_changes",
            cases::state_comparison_sees_changes,
        ),
        (
            "snapshot_restore_round_trip",
            snapshots::snapshot_restore_round_trip,
        ),
        (
            "snapshots_are_deterministic",
            snapshots::snapshots_are_deterministic,
        ),
        (
            "restore_of_garbage_is_an_error_not_a_panic",
            snapshots::restore_of_garbage_is_an_error_not_a_panic,
        ),
    ]
}

/// The cases that check [`StateMachine::snapshot`] and [`StateMachine::restore`] (Raft §7).
/// A machine whose `snapshot` returns `None` (a new machine, asked once) does not support
/// snapshots: [`run`] reports these cases as [`Outcome::Unsupported`](crate::testing::Outcome),
/// not as failures.
pub const SNAPSHOT_CASES: [&str; 3] = [
    "snapshot_restore_round_trip",
    "snapshots_are_deterministic",
    "restore_of_garbage_is_an_error_not_a_panic",
];

/// What [`run`] reports for the snapshot cases of a machine without snapshots.
pub const SNAPSHOTS_UNSUPPORTED: &str =
    "snapshots unsupported: StateMachine::snapshot returned None";

/// The names of the cases [`run`] runs, in order.
pub fn case_names() -> Vec<&'static str> {
    all_cases::<cases::Unused>()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

/// Run every case against machines from `factory` and report each by name. Panics inside the
/// machine are caught and reported as failures of their case.
pub fn run<F: StateMachineFactory>(factory: &mut F) -> SuiteReport {
    let mut report = SuiteReport::new("state_machine_suite");
    // A panic here is left to the snapshot cases to report.
    let supports_snapshots =
        catch_unwind(AssertUnwindSafe(|| factory.create().snapshot().is_some())).unwrap_or(true);
    for (name, case) in all_cases::<F>() {
        if !supports_snapshots && SNAPSHOT_CASES.contains(&name) {
            report.record_unsupported(name, SNAPSHOTS_UNSUPPORTED);
        } else {
            report.run_case(name, || case(factory));
        }
    }
    report
}

/// Run the suite and panic, listing every failed case, unless all passed. For use in tests.
pub fn assert_conforms<F: StateMachineFactory>(factory: &mut F) {
    run(factory).assert_all_passed();
}

/// One applied command: where it went and what came back.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Applied {
    index: LogIndex,
    command: Vec<u8>,
    response: Vec<u8>,
}

#[cfg(test)]
mod snapshot_tests;
#[cfg(test)]
mod tests;
