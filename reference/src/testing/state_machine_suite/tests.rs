//! KvStateMachine passes the suite; machines that break each rule are caught by name.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::kv::{KvCommand, KvStateMachine};

const KINDS: [&str; 5] = ["get", "put", "delete", "cas", "append"];

/// A KV command of `kind`, on one of three keys, drawn from `seed`.
fn kv_command(kind: usize, seed: u64) -> Vec<u8> {
    let key = ["a", "b", "c"][(seed % 3) as usize].to_string();
    let value = format!("v{}", (seed >> 8) % 4);
    let command = match KINDS[kind] {
        "get" => KvCommand::Get { key },
        "put" => KvCommand::Put { key, value },
        "delete" => KvCommand::Delete { key },
        "cas" => KvCommand::Cas {
            key,
            expected: ((seed >> 16) % 2 == 0).then(|| format!("v{}", (seed >> 20) % 4)),
            new: value,
        },
        _ => KvCommand::Append { key, value },
    };
    command.encode().expect("a KV command encodes")
}

fn kv_digest(machine: &KvStateMachine) -> Vec<u8> {
    format!("{:?}", machine.data()).into_bytes()
}

/// The factory a user of the KV store would write.
struct Kv;

impl StateMachineFactory for Kv {
    type Machine = KvStateMachine;
    fn create(&mut self) -> KvStateMachine {
        KvStateMachine::new()
    }
    fn command_kinds(&self) -> Vec<&'static str> {
        KINDS.to_vec()
    }
    fn command(&mut self, kind: usize, seed: u64) -> Vec<u8> {
        kv_command(kind, seed)
    }
    fn digest(&self, machine: &KvStateMachine) -> Option<Vec<u8>> {
        Some(kv_digest(machine))
    }
}

/// The same, comparing states through `query` instead of a digest.
struct KvByQueries;

impl StateMachineFactory for KvByQueries {
    type Machine = KvStateMachine;
    fn create(&mut self) -> KvStateMachine {
        KvStateMachine::new()
    }
    fn command_kinds(&self) -> Vec<&'static str> {
        KINDS.to_vec()
    }
    fn command(&mut self, kind: usize, seed: u64) -> Vec<u8> {
        kv_command(kind, seed)
    }
    fn queries(&self) -> Vec<Vec<u8>> {
        ["a", "b", "c"]
            .map(|key| KvCommand::Get { key: key.into() }.encode().unwrap())
            .to_vec()
    }
}

#[test]
fn kv_state_machine_passes_with_a_digest() {
    let report = run(&mut Kv);
    report.assert_all_passed();
    assert_eq!(
        report.cases.iter().map(|c| c.name).collect::<Vec<_>>(),
        case_names()
    );
}

#[test]
fn kv_state_machine_passes_with_queries() {
    run(&mut KvByQueries).assert_all_passed();
}

/// What is wrong with a [`Broken`] machine.
#[derive(Clone, Copy, PartialEq)]
enum Defect {
    /// Its responses carry a number that differs between instances.
    NonDeterministic,
    /// It unwraps the decoding of a command.
    PanicsOnGarbage,
    /// It insists on contiguous indices.
    RejectsIndexGaps,
    /// Its queries count themselves into the state.
    QueriesMutate,
}

static INSTANCES: AtomicU64 = AtomicU64::new(0);

struct Broken {
    inner: KvStateMachine,
    defect: Defect,
    instance: u64,
    queries: Cell<u64>,
    last: LogIndex,
}

impl StateMachine for Broken {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        if self.defect == Defect::RejectsIndexGaps {
            assert_eq!(index, self.last + 1, "index gap");
        }
        self.last = index;
        if self.defect == Defect::PanicsOnGarbage {
            KvCommand::decode(command).expect("a valid command");
        }
        let mut response = self.inner.apply(index, command);
        if self.defect == Defect::NonDeterministic && index % 7 == 0 {
            response.extend(self.instance.to_le_bytes());
        }
        response
    }
    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        if self.defect == Defect::QueriesMutate {
            self.queries.set(self.queries.get() + 1);
        }
        self.inner.query(query)
    }
}

struct BrokenFactory(Defect);

impl StateMachineFactory for BrokenFactory {
    type Machine = Broken;
    fn create(&mut self) -> Broken {
        Broken {
            inner: KvStateMachine::new(),
            defect: self.0,
            instance: INSTANCES.fetch_add(1, Ordering::SeqCst),
            queries: Cell::new(0),
            last: 0,
        }
    }
    fn command_kinds(&self) -> Vec<&'static str> {
        KINDS.to_vec()
    }
    fn command(&mut self, kind: usize, seed: u64) -> Vec<u8> {
        kv_command(kind, seed)
    }
    fn digest(&self, machine: &Broken) -> Option<Vec<u8>> {
        let mut digest = kv_digest(&machine.inner);
        digest.extend(machine.queries.get().to_le_bytes());
        Some(digest)
    }
    fn queries(&self) -> Vec<Vec<u8>> {
        KvByQueries.queries()
    }
}

fn failed_cases(factory: &mut impl StateMachineFactory) -> Vec<&'static str> {
    let report = run(factory);
    report.failures().iter().map(|case| case.name).collect()
}

#[test]
fn nondeterministic_responses_are_caught() {
    assert_eq!(
        failed_cases(&mut BrokenFactory(Defect::NonDeterministic)),
        [
            "every_command_kind_is_answered",
            "same_commands_give_same_responses_and_state",
            "restart_replays_the_log_to_the_same_responses",
            "index_gaps_from_no_ops_are_accepted",
            "garbage_commands_are_answered_without_a_panic",
            "queries_change_nothing",
        ]
    );
}

#[test]
fn a_panic_on_garbage_is_caught() {
    assert_eq!(
        failed_cases(&mut BrokenFactory(Defect::PanicsOnGarbage)),
        ["garbage_commands_are_answered_without_a_panic"]
    );
}

#[test]
fn rejected_index_gaps_are_caught() {
    assert_eq!(
        failed_cases(&mut BrokenFactory(Defect::RejectsIndexGaps)),
        ["index_gaps_from_no_ops_are_accepted"]
    );
}

#[test]
fn mutating_queries_are_caught() {
    assert_eq!(
        failed_cases(&mut BrokenFactory(Defect::QueriesMutate)),
        ["queries_change_nothing"]
    );
}

/// A machine that persists its state outside itself (shared by every instance) and is still
/// given the whole log on restart: it applies every command twice.
struct SharedState(Arc<Mutex<KvStateMachine>>);

struct Leaky(Arc<Mutex<KvStateMachine>>);

impl StateMachine for Leaky {
    fn apply(&mut self, _index: LogIndex, command: &[u8]) -> Vec<u8> {
        let mut inner = self.0.lock().unwrap();
        let next = inner.last_applied() + 1;
        inner.apply(next, command)
    }
}

impl StateMachineFactory for SharedState {
    type Machine = Leaky;
    fn create(&mut self) -> Leaky {
        Leaky(self.0.clone())
    }
    fn command_kinds(&self) -> Vec<&'static str> {
        KINDS.to_vec()
    }
    fn command(&mut self, kind: usize, seed: u64) -> Vec<u8> {
        kv_command(kind, seed)
    }
    fn digest(&self, machine: &Leaky) -> Option<Vec<u8>> {
        Some(kv_digest(&machine.0.lock().unwrap()))
    }
}

#[test]
fn state_that_outlives_a_restart_is_caught() {
    let failures = failed_cases(&mut SharedState(Default::default()));
    assert!(
        failures.contains(&"restart_replays_the_log_to_the_same_responses"),
        "{failures:?}"
    );
}

#[test]
fn a_digest_that_never_changes_is_caught() {
    struct Blind;
    impl StateMachineFactory for Blind {
        type Machine = KvStateMachine;
        fn create(&mut self) -> KvStateMachine {
            KvStateMachine::new()
        }
        fn command_kinds(&self) -> Vec<&'static str> {
            KINDS.to_vec()
        }
        fn command(&mut self, kind: usize, seed: u64) -> Vec<u8> {
            kv_command(kind, seed)
        }
        fn digest(&self, _: &KvStateMachine) -> Option<Vec<u8>> {
            Some(vec![])
        }
    }
    assert_eq!(failed_cases(&mut Blind), ["state_comparison_sees_changes"]);
}
