//! Deliberately broken transactional key-value state machines, to prove the harness catches
//! what they break (catalogue entries run with the list-append workload). The bugs live in
//! the state machine, not the protocol: every replica applies the same log the same way, so
//! no Raft invariant notices; only the transactional checker can. Compiled only with the
//! `mutations` feature; never use them outside tests.

#[cfg(feature = "mutations")]
use rafty::NodeId;

#[cfg(feature = "mutations")]
use super::factories::NodeStateMachines;

/// How often (in applied entries) the read view of [`BrokenTxns::ReadsFromSnapshot`] is
/// refreshed: the harness's snapshot threshold.
pub const READ_VIEW_EVERY: u64 = 100;

/// Which broken state machine a catalogue entry plants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrokenTxns {
    /// A transaction is applied in two halves across entries: its first half's operations
    /// at once, its second half's writes only after the next entry (whose reads see the
    /// partial writes, and whose writes land between the two halves).
    AppliedInHalves,
    /// A read-only transaction is answered from a read view, a copy of the state refreshed
    /// every [`READ_VIEW_EVERY`] entries and on restoring a snapshot (as a store serving reads
    /// from its last checkpoint would), not from the current state.
    ReadsFromSnapshot,
}

impl BrokenTxns {
    /// Its factory, creating a fresh state machine for each node start.
    #[cfg(feature = "mutations")]
    pub fn factory(self) -> BrokenTxnsFactory {
        BrokenTxnsFactory { bug: self }
    }
}

/// A [`NodeStateMachines`] of key-value stores with the bug `bug`.
#[cfg(feature = "mutations")]
#[derive(Clone, Copy, Debug)]
pub struct BrokenTxnsFactory {
    bug: BrokenTxns,
}

#[cfg(feature = "mutations")]
impl NodeStateMachines for BrokenTxnsFactory {
    fn create(&self, _node: NodeId) -> Box<dyn rafty::StateMachine> {
        match self.bug {
            BrokenTxns::AppliedInHalves => Box::new(planted::InHalves::default()),
            BrokenTxns::ReadsFromSnapshot => Box::new(planted::SnapshotReads::default()),
        }
    }
}

#[cfg(feature = "mutations")]
mod planted {
    use std::io;

    use rafty::kv::{KvCommand, KvResponse, KvStateMachine};
    use rafty::{LogIndex, SnapshotSource, StateMachine};

    /// The encoded response, or `Invalid` naming what failed (never for the store's own
    /// responses, which always encode).
    fn encoded(response: &KvResponse) -> Vec<u8> {
        response
            .encode()
            .unwrap_or_else(|error| format!("{error}").into_bytes())
    }

    /// [`super::BrokenTxns::AppliedInHalves`].
    #[derive(Debug, Default)]
    pub(super) struct InHalves {
        store: KvStateMachine,
        /// The writes of the last transaction's second half, applied after the next entry.
        pending: Vec<KvCommand>,
    }

    impl StateMachine for InHalves {
        fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
            let held = std::mem::take(&mut self.pending);
            let response = match KvCommand::decode(command) {
                Ok(KvCommand::Txn { mut ops }) if ops.len() >= 2 => {
                    let second = ops.split_off(ops.len() / 2);
                    // The entry's index is taken by applying the first half.
                    let first = KvCommand::Txn { ops }.encode().unwrap_or_default();
                    let mut answers = match KvResponse::decode(&self.store.apply(index, &first)) {
                        Ok(KvResponse::Txn(answers)) => answers,
                        Ok(other) => return encoded(&other),
                        Err(error) => return encoded(&KvResponse::Invalid(error.to_string())),
                    };
                    for op in second {
                        answers.push(match op {
                            KvCommand::Get { key } => {
                                KvResponse::Value(self.store.get(&key).map(str::to_owned))
                            }
                            write => {
                                self.pending.push(write);
                                KvResponse::Done
                            }
                        });
                    }
                    encoded(&KvResponse::Txn(answers))
                }
                _ => self.store.apply(index, command),
            };
            if !held.is_empty() {
                self.store.execute(KvCommand::Txn { ops: held });
            }
            response
        }

        fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
            self.store.query(query)
        }

        /// The state with the held writes applied (so a node restored from it holds them).
        fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
            let mut state = self.store.clone();
            state.execute(KvCommand::Txn {
                ops: self.pending.clone(),
            });
            state.snapshot()
        }

        fn restore(&mut self, index: LogIndex, data: &mut dyn io::Read) -> io::Result<()> {
            self.pending.clear();
            self.store.restore(index, data)
        }
    }

    /// [`super::BrokenTxns::ReadsFromSnapshot`].
    #[derive(Debug, Default)]
    pub(super) struct SnapshotReads {
        store: KvStateMachine,
        /// The state as of the last refresh: what read-only transactions are answered from.
        read_view: KvStateMachine,
    }

    impl StateMachine for SnapshotReads {
        fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
            let response = self.store.apply(index, command);
            if index % super::READ_VIEW_EVERY == 0 {
                self.read_view = self.store.clone();
            }
            match KvCommand::decode(command) {
                Ok(KvCommand::Txn { ops })
                    if !ops.is_empty()
                        && ops.iter().all(|op| matches!(op, KvCommand::Get { .. })) =>
                {
                    let answers = ops
                        .iter()
                        .map(|op| {
                            KvResponse::Value(self.read_view.get(op.key()).map(str::to_owned))
                        })
                        .collect();
                    encoded(&KvResponse::Txn(answers))
                }
                _ => response,
            }
        }

        fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
            self.store.query(query)
        }

        fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
            self.store.snapshot()
        }

        fn restore(&mut self, index: LogIndex, data: &mut dyn io::Read) -> io::Result<()> {
            self.store.restore(index, data)?;
            self.read_view = self.store.clone();
            Ok(())
        }
    }
}
