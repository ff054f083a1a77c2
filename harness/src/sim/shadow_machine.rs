//! A user's [`StateMachine`] in a chaos run: the shadow of the key-value machine on every node.
//!
//! The workloads' answers, and so the linearizability checks, come from the key-value machine
//! the checkers understand. [`ShadowMachines`] puts the user's machine beside it on every
//! node, in one [`Shadowed`] machine: it is fed every entry the node applies (the workload's
//! commands, as opaque bytes: a machine that cannot decode them answers its own error, as its
//! contract says), snapshotted and restored with the node's snapshots (the two states in one
//! snapshot), and rebuilt at every restart as the node rebuilds its machine. What the user's
//! machine answers and which state it reaches go to the run's [`Ledger`], which judges them
//! across nodes, restarts, snapshot installs and power loss; a broken rule is reported as an
//! [`Observation::PartBroken`], a violation of the run.
//!
//! Architecture invariant: the shadow never changes what the node answers or when: the
//! key-value machine's answers are the node's, and a run without a shadow builds none.

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, OnceLock};

use rafty::kv::KvStateMachine;
use rafty::testing::state_machine_suite::StateMachineFactory;
use rafty::{LogIndex, NodeId, Sessions, SnapshotSource, StateMachine};

use crate::checks::invariants::Observation;

use super::factories::{NodeStateMachines, state_digest};
use super::observe::Observations;
use super::shadow_ledger::{Finding, Ledger, Who};

/// Every node's machine: the key-value store with a user's machine from `F` as its shadow.
pub struct ShadowMachines<F> {
    factory: Arc<Mutex<F>>,
    ledger: Arc<Mutex<Ledger>>,
    observations: OnceLock<Observations>,
    starts: Mutex<BTreeMap<NodeId, u64>>,
}

impl<F> ShadowMachines<F> {
    /// The user's machines from `factory`, with a fresh ledger (one run's).
    pub fn new(factory: Arc<Mutex<F>>) -> ShadowMachines<F> {
        ShadowMachines {
            factory,
            ledger: Arc::default(),
            observations: OnceLock::new(),
            starts: Mutex::default(),
        }
    }
}

impl<F> NodeStateMachines for ShadowMachines<F>
where
    F: StateMachineFactory + Send + 'static,
{
    fn create(&self, node: NodeId) -> Box<dyn StateMachine> {
        let incarnation = {
            let mut starts = lock(&self.starts);
            let count = starts.entry(node).or_default();
            *count += 1;
            *count - 1
        };
        let user = lock(&self.factory).create();
        Box::new(Shadowed {
            kv: Sessions::new(KvStateMachine::new()),
            user,
            who: Who {
                node,
                incarnation,
                restored_from: None,
            },
            last: 0,
            ledger: self.ledger.clone(),
            observations: self.observations.get().cloned(),
        })
    }

    fn observe_with(&self, observations: &Observations) {
        let _ = self.observations.set(observations.clone());
    }
}

/// One node's machine: the key-value store, which answers, and the user's machine beside it.
pub struct Shadowed<M> {
    kv: Sessions<KvStateMachine>,
    user: M,
    who: Who,
    /// The last index applied or restored in this incarnation.
    last: LogIndex,
    ledger: Arc<Mutex<Ledger>>,
    observations: Option<Observations>,
}

impl<M: StateMachine> Shadowed<M> {
    fn report(&self, findings: Vec<Finding>) {
        let Some(observations) = &self.observations else {
            return;
        };
        for (check, detail) in findings {
            let broken = Observation::PartBroken { check, detail };
            observations.observe(self.who.node, broken);
        }
    }
}

impl<M: StateMachine> StateMachine for Shadowed<M> {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        let response = self.kv.apply(index, command);
        let answer = self.user.apply(index, command);
        let state = state_digest(&self.user);
        let findings = lock(&self.ledger).applied(self.who, self.last, index, &answer, state);
        self.last = index;
        self.report(findings);
        response
    }

    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        self.kv.query(query)
    }

    /// Both states, or none when the user's machine takes no snapshots (the node then never
    /// compacts its log, as with that machine alone).
    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        let user = self.user.snapshot()?;
        let kv = self.kv.snapshot()?;
        Some(Box::new(BothSnapshots { kv, user }))
    }

    fn restore(&mut self, last_included_index: LogIndex, data: &mut dyn Read) -> io::Result<()> {
        let mut length = [0; 8];
        data.read_exact(&mut length)?;
        let mut kv = data.take(u64::from_le_bytes(length));
        self.kv.restore(last_included_index, &mut kv)?;
        io::copy(&mut kv, &mut io::sink())?;
        if let Err(error) = self.user.restore(last_included_index, data) {
            let detail = format!(
                "{} could not restore a snapshot through index {last_included_index} its kind \
                 of machine wrote: {error}: `restore` must read back whatever `snapshot` writes",
                self.who
            );
            self.report(vec![("state-machine-restore", detail)]);
            return Err(error);
        }
        self.who.restored_from = Some(last_included_index);
        self.last = last_included_index;
        let state = state_digest(&self.user);
        let findings = lock(&self.ledger).restored(self.who, last_included_index, state);
        self.report(findings);
        Ok(())
    }
}

/// The two states in one snapshot: the key-value store's length (8 bytes, little-endian), its
/// bytes, then the user's machine's.
struct BothSnapshots {
    kv: Box<dyn SnapshotSource>,
    user: Box<dyn SnapshotSource>,
}

impl SnapshotSource for BothSnapshots {
    fn write_to(self: Box<Self>, out: &mut dyn io::Write) -> io::Result<()> {
        let mut kv = Vec::new();
        self.kv.write_to(&mut kv)?;
        out.write_all(&(kv.len() as u64).to_le_bytes())?;
        out.write_all(&kv)?;
        self.user.write_to(out)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Kv;
    impl StateMachineFactory for Kv {
        type Machine = KvStateMachine;
        fn create(&mut self) -> KvStateMachine {
            KvStateMachine::new()
        }
        fn command_kinds(&self) -> Vec<&'static str> {
            vec!["any"]
        }
        fn command(&mut self, _kind: usize, seed: u64) -> Vec<u8> {
            seed.to_le_bytes().to_vec()
        }
    }

    fn put(key: &str) -> Vec<u8> {
        rafty::KvCommand::Put {
            key: key.to_owned(),
            value: "v".to_owned(),
        }
        .encode()
        .unwrap()
    }

    /// Raft §7: a machine restored from its snapshot holds both states, and the two go on
    /// alike.
    #[test]
    fn both_states_go_through_one_snapshot() {
        let machines = ShadowMachines::new(Arc::new(Mutex::new(Kv)));
        let mut first = machines.create(1);
        first.apply(1, &put("a"));
        let mut bytes = Vec::new();
        first.snapshot().unwrap().write_to(&mut bytes).unwrap();
        let mut second = machines.create(2);
        second.restore(1, &mut bytes.as_slice()).unwrap();
        assert_eq!(second.apply(2, &put("b")), first.apply(2, &put("b")));
        assert_eq!(state_digest(first.as_ref()), state_digest(second.as_ref()));
        let other = Who {
            node: 3,
            incarnation: 0,
            restored_from: None,
        };
        let findings = lock(&machines.ledger).applied(other, 1, 2, b"other", None);
        assert_eq!(findings.len(), 1, "the ledger holds the answer at index 2");
        assert_eq!(findings[0].0, "state-machine-answers");
    }
}
