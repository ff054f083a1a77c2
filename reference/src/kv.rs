//! A key-value [`StateMachine`]: get, put, delete, compare-and-set and append on string keys.
//!
//! Commands and responses travel as bytes encoded with postcard; [`KvCommand::encode`] and
//! [`KvResponse::decode`] are what a client uses, [`KvStateMachine`] what a node runs.

use std::collections::BTreeMap;
use std::io;

use serde::{Deserialize, Serialize};

use crate::client::ReadConsistency;
use crate::snapshot::SnapshotSource;
use crate::state_machine::StateMachine;
use crate::types::LogIndex;

/// A command to the key-value store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvCommand {
    /// Read `key`; answered with [`KvResponse::Value`].
    Get {
        /// The key to read.
        key: String,
    },
    /// Set `key` to `value`; answered with [`KvResponse::Done`].
    Put {
        /// The key to write.
        key: String,
        /// Its new value.
        value: String,
    },
    /// Remove `key` (absent or not); answered with [`KvResponse::Done`].
    Delete {
        /// The key to remove.
        key: String,
    },
    /// Set `key` to `new` if its current value is `expected` (`None`: the key is absent).
    /// Answered with [`KvResponse::Done`] or [`KvResponse::CasFailed`].
    Cas {
        /// The key to compare and set.
        key: String,
        /// The value the key must hold, `None` for "absent".
        expected: Option<String>,
        /// The value to set when the comparison holds.
        new: String,
    },
    /// Append `value` to the value of `key` (an absent key counts as empty); answered with
    /// [`KvResponse::Done`].
    Append {
        /// The key to append to.
        key: String,
        /// The text to append.
        value: String,
    },
    /// Read `key` with the chosen consistency (the service serves it without the log unless
    /// `consistency` is [`ReadConsistency::Log`]); answered with [`KvResponse::Value`].
    /// Applied as a command, it is a [`KvCommand::Get`].
    Read {
        /// The key to read.
        key: String,
        /// How the read is made consistent.
        consistency: ReadConsistency,
    },
    /// A transaction: `ops` applied in order and at once, in one log entry, so it is strictly
    /// serializable through Raft; answered with [`KvResponse::Txn`], one response per
    /// operation (a get sees the transaction's own earlier writes; a compare-and-set that does
    /// not hold is answered `CasFailed` and the rest still applies). Only get, put, delete,
    /// cas and append may be inside: anything else makes the whole transaction
    /// [`KvResponse::Invalid`], applying nothing.
    Txn {
        /// The operations, in the order they apply.
        ops: Vec<KvCommand>,
    },
    /// Open a client session (dissertation §6.3), served by a node whose state machine is
    /// wrapped in [`crate::session::Sessions`]; answered with
    /// [`KvResponse::SessionRegistered`]. Never applied by the store itself.
    RegisterSession,
    /// `command`, number `sequence` in the session of `client_id`: applied at most once
    /// however often it is sent (§6.3). Answered with `command`'s response, or
    /// [`KvResponse::SessionExpired`]. Never applied by the store itself.
    InSession {
        /// The client's id, from [`KvResponse::SessionRegistered`].
        client_id: u64,
        /// The command's number in the session, from 1, one outstanding at a time.
        sequence: u64,
        /// The command.
        command: Box<KvCommand>,
    },
}

/// The answer to a [`KvCommand`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KvResponse {
    /// The value of the key read, `None` if absent.
    Value(Option<String>),
    /// The write took effect.
    Done,
    /// A compare-and-set did not hold; nothing changed. `current` is the value found.
    CasFailed {
        /// The key's value when the comparison failed.
        current: Option<String>,
    },
    /// The command could not be decoded or is not allowed here; nothing changed.
    Invalid(String),
    /// The answers to a [`KvCommand::Txn`]'s operations, in order.
    Txn(Vec<KvResponse>),
    /// The session is open: tag commands with this client id.
    SessionRegistered {
        /// The client's id.
        client_id: u64,
    },
    /// The session `client_id` expired (or never existed): the command was not applied now;
    /// an earlier copy of it may have been, before the session expired. Register again.
    SessionExpired {
        /// The client id the command carried.
        client_id: u64,
    },
}

/// Encoding or decoding a [`KvCommand`] or [`KvResponse`] failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KvCodecError {
    /// The value could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded ("command" or "response").
        what: &'static str,
        /// The encoder's message.
        reason: String,
    },
    /// The bytes are not a valid encoding.
    #[error("cannot decode {what} from {len} bytes: {reason}")]
    Decode {
        /// What was being decoded ("command" or "response").
        what: &'static str,
        /// How many bytes were given.
        len: usize,
        /// The decoder's message.
        reason: String,
    },
}

fn encode<T: Serialize>(what: &'static str, value: &T) -> Result<Vec<u8>, KvCodecError> {
    postcard::to_stdvec(value).map_err(|e| KvCodecError::Encode {
        what,
        reason: e.to_string(),
    })
}

fn decode<'a, T: Deserialize<'a>>(what: &'static str, bytes: &'a [u8]) -> Result<T, KvCodecError> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| KvCodecError::Decode {
        what,
        len: bytes.len(),
        reason: e.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(KvCodecError::Decode {
            what,
            len: bytes.len(),
            reason: format!("{} trailing bytes", rest.len()),
        });
    }
    Ok(value)
}

impl KvCommand {
    /// The command's wire form.
    pub fn encode(&self) -> Result<Vec<u8>, KvCodecError> {
        encode("command", self)
    }

    /// Read a command from its wire form; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<KvCommand, KvCodecError> {
        decode("command", bytes)
    }

    /// The key the command touches (a transaction's first operation's, `""` for an empty
    /// transaction or a [`KvCommand::RegisterSession`]).
    pub fn key(&self) -> &str {
        match self {
            KvCommand::RegisterSession => "",
            KvCommand::InSession { command, .. } => command.key(),
            KvCommand::Get { key }
            | KvCommand::Read { key, .. }
            | KvCommand::Put { key, .. }
            | KvCommand::Delete { key }
            | KvCommand::Cas { key, .. }
            | KvCommand::Append { key, .. } => key,
            KvCommand::Txn { ops } => ops.first().map_or("", KvCommand::key),
        }
    }
}

impl KvResponse {
    /// The response's wire form.
    pub fn encode(&self) -> Result<Vec<u8>, KvCodecError> {
        encode("response", self)
    }

    /// Read a response from its wire form; trailing bytes are an error.
    pub fn decode(bytes: &[u8]) -> Result<KvResponse, KvCodecError> {
        decode("response", bytes)
    }

    fn to_bytes(&self) -> Vec<u8> {
        // Strings, options and enums always encode with postcard into a Vec: a failure here is
        // a broken invariant, not bad input.
        self.encode().expect("a KvResponse always encodes")
    }
}

/// The key-value state machine: a `BTreeMap<String, String>` changed only by applied commands.
/// Deterministic; an undecodable command gets [`KvResponse::Invalid`] and changes nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvStateMachine {
    data: BTreeMap<String, String>,
    last_applied: LogIndex,
}

impl KvStateMachine {
    /// An empty store.
    pub fn new() -> Self {
        KvStateMachine::default()
    }

    /// The current value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.data.get(key).map(String::as_str)
    }

    /// Every key and value, in key order (for tests comparing replicas).
    pub fn data(&self) -> &BTreeMap<String, String> {
        &self.data
    }

    /// The index of the last command applied, 0 before any.
    pub fn last_applied(&self) -> LogIndex {
        self.last_applied
    }

    /// Execute a decoded command against the store.
    pub fn execute(&mut self, command: KvCommand) -> KvResponse {
        match command {
            KvCommand::Get { key } | KvCommand::Read { key, .. } => {
                KvResponse::Value(self.data.get(&key).cloned())
            }
            KvCommand::Put { key, value } => {
                self.data.insert(key, value);
                KvResponse::Done
            }
            KvCommand::Delete { key } => {
                self.data.remove(&key);
                KvResponse::Done
            }
            KvCommand::Cas { key, expected, new } => {
                let current = self.data.get(&key);
                if current == expected.as_ref() {
                    self.data.insert(key, new);
                    KvResponse::Done
                } else {
                    KvResponse::CasFailed {
                        current: current.cloned(),
                    }
                }
            }
            KvCommand::Append { key, value } => {
                self.data.entry(key).or_default().push_str(&value);
                KvResponse::Done
            }
            KvCommand::Txn { ops } => {
                if let Some(bad) = ops.iter().find(|op| {
                    matches!(
                        op,
                        KvCommand::Txn { .. }
                            | KvCommand::Read { .. }
                            | KvCommand::RegisterSession
                            | KvCommand::InSession { .. }
                    )
                }) {
                    return KvResponse::Invalid(format!(
                        "a transaction holds only get, put, delete, cas and append, not {bad:?}"
                    ));
                }
                KvResponse::Txn(ops.into_iter().map(|op| self.execute(op)).collect())
            }
            KvCommand::RegisterSession | KvCommand::InSession { .. } => KvResponse::Invalid(
                "sessions need a state machine wrapped in rafty::Sessions".into(),
            ),
        }
    }
}

impl StateMachine for KvStateMachine {
    fn apply(&mut self, index: LogIndex, command: &[u8]) -> Vec<u8> {
        assert!(
            index > self.last_applied,
            "apply out of order: index {index} after {}",
            self.last_applied
        );
        self.last_applied = index;
        let response = match KvCommand::decode(command) {
            Ok(command) => self.execute(command),
            Err(error) => KvResponse::Invalid(error.to_string()),
        };
        response.to_bytes()
    }

    fn query(&self, query: &[u8]) -> Option<Vec<u8>> {
        let response = match KvCommand::decode(query) {
            Ok(KvCommand::Get { key } | KvCommand::Read { key, .. }) => {
                KvResponse::Value(self.data.get(&key).cloned())
            }
            Ok(other) => {
                KvResponse::Invalid(format!("only reads are answered locally, not {other:?}"))
            }
            Err(error) => KvResponse::Invalid(error.to_string()),
        };
        Some(response.to_bytes())
    }

    /// A clone of the map (cheap enough for the key counts rafty's tests and harness use; a
    /// large store would use a persistent map or copy-on-write).
    fn snapshot(&self) -> Option<Box<dyn SnapshotSource>> {
        Some(Box::new(KvSnapshot {
            data: self.data.clone(),
            last_applied: self.last_applied,
        }))
    }

    /// Read a [`KvSnapshot`]; malformed bytes are [`io::ErrorKind::InvalidData`] and leave the
    /// state as it was.
    fn restore(
        &mut self,
        last_included_index: LogIndex,
        data: &mut dyn io::Read,
    ) -> io::Result<()> {
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)?;
        let snapshot = KvSnapshot::decode(&bytes)?;
        if snapshot.last_applied > last_included_index {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the snapshot applied index {} but claims to cover only up to {last_included_index}",
                    snapshot.last_applied
                ),
            ));
        }
        self.data = snapshot.data;
        self.last_applied = last_included_index;
        Ok(())
    }
}

/// The snapshot format of a [`KvStateMachine`]: a format byte ([`KvSnapshot::FORMAT`]) then
/// the postcard encoding of the last applied index and the map, in key order (deterministic:
/// the same state writes the same bytes on every node).
#[derive(Serialize, Deserialize)]
struct KvSnapshot {
    last_applied: LogIndex,
    data: BTreeMap<String, String>,
}

impl KvSnapshot {
    /// The only format version so far.
    const FORMAT: u8 = 1;

    fn decode(bytes: &[u8]) -> io::Result<KvSnapshot> {
        let invalid = |reason: String| {
            io::Error::new(io::ErrorKind::InvalidData, format!("kv snapshot: {reason}"))
        };
        match bytes.first() {
            Some(&KvSnapshot::FORMAT) => {}
            Some(other) => return Err(invalid(format!("unknown format {other}"))),
            None => return Err(invalid("empty".into())),
        }
        decode::<KvSnapshot>("snapshot", &bytes[1..]).map_err(|error| invalid(error.to_string()))
    }
}

impl SnapshotSource for KvSnapshot {
    fn write_to(self: Box<Self>, out: &mut dyn io::Write) -> io::Result<()> {
        let body = encode("snapshot", &*self).map_err(io::Error::other)?;
        out.write_all(&[KvSnapshot::FORMAT])?;
        out.write_all(&body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_applies_all_its_operations_in_one_entry_and_returns_each_read() {
        let mut sm = KvStateMachine::new();
        let txn = KvCommand::Txn {
            ops: vec![
                KvCommand::Get { key: "x".into() },
                KvCommand::Append {
                    key: "x".into(),
                    value: " 1".into(),
                },
                KvCommand::Get { key: "x".into() },
                KvCommand::Put {
                    key: "y".into(),
                    value: "2".into(),
                },
                KvCommand::Cas {
                    key: "y".into(),
                    expected: Some("3".into()),
                    new: "4".into(),
                },
            ],
        };
        let response = KvResponse::decode(&sm.apply(1, &txn.encode().unwrap())).unwrap();
        assert_eq!(
            response,
            KvResponse::Txn(vec![
                KvResponse::Value(None),
                KvResponse::Done,
                KvResponse::Value(Some(" 1".into())),
                KvResponse::Done,
                KvResponse::CasFailed {
                    current: Some("2".into())
                },
            ])
        );
        assert_eq!(sm.last_applied(), 1);
        assert_eq!(sm.get("x"), Some(" 1"));
        assert_eq!(sm.get("y"), Some("2"));
    }

    #[test]
    fn a_transaction_with_a_nested_one_applies_nothing() {
        let mut sm = KvStateMachine::new();
        let txn = KvCommand::Txn {
            ops: vec![
                KvCommand::Put {
                    key: "x".into(),
                    value: "1".into(),
                },
                KvCommand::Txn { ops: vec![] },
            ],
        };
        let response = KvResponse::decode(&sm.apply(1, &txn.encode().unwrap())).unwrap();
        assert!(matches!(response, KvResponse::Invalid(_)), "{response:?}");
        assert_eq!(sm.get("x"), None);
    }

    #[test]
    fn transactions_leave_the_older_commands_wire_forms_unchanged() {
        // Variants are encoded by position: Txn comes last, so a Get is still tag 0.
        let get = KvCommand::Get { key: "k".into() };
        assert_eq!(get.encode().unwrap(), vec![0, 1, b'k']);
        let empty = KvCommand::Txn { ops: vec![] };
        assert_eq!(empty.encode().unwrap(), vec![6, 0]);
        assert_eq!(KvCommand::decode(&[6, 0]).unwrap(), empty);
    }

    fn s(text: &str) -> String {
        text.to_string()
    }

    /// Apply `command` through the byte interface, as a node does.
    fn apply(machine: &mut KvStateMachine, command: KvCommand) -> KvResponse {
        let index = machine.last_applied() + 1;
        KvResponse::decode(&machine.apply(index, &command.encode().unwrap())).unwrap()
    }

    #[test]
    fn get_of_an_absent_key_is_none() {
        let mut kv = KvStateMachine::new();
        assert_eq!(
            apply(&mut kv, KvCommand::Get { key: s("a") }),
            KvResponse::Value(None)
        );
    }

    #[test]
    fn put_then_get_returns_the_value() {
        let mut kv = KvStateMachine::new();
        let put = KvCommand::Put {
            key: s("a"),
            value: s("1"),
        };
        assert_eq!(apply(&mut kv, put), KvResponse::Done);
        let put = KvCommand::Put {
            key: s("a"),
            value: s("2"),
        };
        assert_eq!(apply(&mut kv, put), KvResponse::Done);
        let get = KvCommand::Get { key: s("a") };
        assert_eq!(apply(&mut kv, get), KvResponse::Value(Some(s("2"))));
        assert_eq!(kv.last_applied(), 3);
    }

    #[test]
    fn delete_removes_the_key_and_tolerates_absence() {
        let mut kv = KvStateMachine::new();
        apply(
            &mut kv,
            KvCommand::Put {
                key: s("a"),
                value: s("1"),
            },
        );
        assert_eq!(
            apply(&mut kv, KvCommand::Delete { key: s("a") }),
            KvResponse::Done
        );
        assert_eq!(kv.get("a"), None);
        assert_eq!(
            apply(&mut kv, KvCommand::Delete { key: s("a") }),
            KvResponse::Done
        );
    }

    fn cas(key: &str, expected: Option<&str>, new: &str) -> KvCommand {
        KvCommand::Cas {
            key: s(key),
            expected: expected.map(s),
            new: s(new),
        }
    }

    #[test]
    fn cas_sets_only_when_the_expected_value_holds() {
        let mut kv = KvStateMachine::new();
        let create = cas("a", None, "1");
        assert_eq!(apply(&mut kv, create.clone()), KvResponse::Done);
        let fails_on_1 = KvResponse::CasFailed {
            current: Some(s("1")),
        };
        assert_eq!(apply(&mut kv, create), fails_on_1);
        assert_eq!(apply(&mut kv, cas("a", Some("0"), "2")), fails_on_1);
        assert_eq!(kv.get("a"), Some("1"));
        assert_eq!(apply(&mut kv, cas("a", Some("1"), "2")), KvResponse::Done);
        assert_eq!(kv.get("a"), Some("2"));
        assert_eq!(
            apply(&mut kv, cas("b", Some("1"), "2")),
            KvResponse::CasFailed { current: None }
        );
        assert_eq!(kv.get("b"), None);
    }

    #[test]
    fn append_concatenates_and_creates_absent_keys() {
        let mut kv = KvStateMachine::new();
        assert_eq!(
            apply(
                &mut kv,
                KvCommand::Append {
                    key: s("a"),
                    value: s("x")
                }
            ),
            KvResponse::Done
        );
        apply(
            &mut kv,
            KvCommand::Append {
                key: s("a"),
                value: s("y"),
            },
        );
        assert_eq!(kv.get("a"), Some("xy"));
    }

    #[test]
    fn undecodable_command_is_invalid_and_changes_nothing() {
        let mut kv = KvStateMachine::new();
        apply(
            &mut kv,
            KvCommand::Put {
                key: s("a"),
                value: s("1"),
            },
        );
        let before = kv.data().clone();
        for garbage in [&[][..], &[0xff, 0xff, 0xff], &[1, 200]] {
            let response = KvResponse::decode(&kv.apply(kv.last_applied() + 1, garbage)).unwrap();
            assert!(
                matches!(&response, KvResponse::Invalid(m) if m.contains("cannot decode command")),
                "{response:?}"
            );
        }
        assert_eq!(kv.data(), &before);
    }

    #[test]
    fn trailing_bytes_are_a_decode_error() {
        let mut bytes = KvCommand::Get { key: s("a") }.encode().unwrap();
        bytes.push(0);
        let error = KvCommand::decode(&bytes).unwrap_err();
        assert!(error.to_string().contains("1 trailing bytes"), "{error}");
    }

    #[test]
    fn every_command_and_response_round_trips() {
        let commands = [
            KvCommand::Get { key: s("k") },
            KvCommand::Put {
                key: s("k"),
                value: s("v"),
            },
            KvCommand::Delete { key: s("k") },
            KvCommand::Cas {
                key: s("k"),
                expected: None,
                new: s("n"),
            },
            KvCommand::Append {
                key: s("k"),
                value: s("v"),
            },
        ];
        for command in commands {
            assert_eq!(
                KvCommand::decode(&command.encode().unwrap()).unwrap(),
                command
            );
            assert_eq!(command.key(), "k");
        }
        let responses = [
            KvResponse::Value(Some(s("v"))),
            KvResponse::Done,
            KvResponse::CasFailed { current: None },
            KvResponse::Invalid(s("why")),
        ];
        for response in responses {
            assert_eq!(
                KvResponse::decode(&response.encode().unwrap()).unwrap(),
                response
            );
        }
    }

    #[test]
    fn query_answers_get_locally_and_refuses_writes() {
        let mut kv = KvStateMachine::new();
        apply(
            &mut kv,
            KvCommand::Put {
                key: s("a"),
                value: s("1"),
            },
        );
        let get = KvCommand::Get { key: s("a") }.encode().unwrap();
        let answer = KvResponse::decode(&kv.query(&get).unwrap()).unwrap();
        assert_eq!(answer, KvResponse::Value(Some(s("1"))));
        let put = KvCommand::Put {
            key: s("a"),
            value: s("2"),
        }
        .encode()
        .unwrap();
        let answer = KvResponse::decode(&kv.query(&put).unwrap()).unwrap();
        assert!(matches!(answer, KvResponse::Invalid(_)));
        assert!(matches!(
            KvResponse::decode(&kv.query(&[0xff]).unwrap()).unwrap(),
            KvResponse::Invalid(_)
        ));
        assert_eq!(kv.get("a"), Some("1"));
    }

    #[test]
    fn same_commands_give_same_state_and_responses() {
        let commands = [
            KvCommand::Put {
                key: s("b"),
                value: s("1"),
            },
            KvCommand::Append {
                key: s("a"),
                value: s("x"),
            },
            KvCommand::Cas {
                key: s("b"),
                expected: Some(s("1")),
                new: s("3"),
            },
            KvCommand::Delete { key: s("a") },
            KvCommand::Get { key: s("b") },
        ];
        let (mut one, mut two) = (KvStateMachine::new(), KvStateMachine::new());
        for command in commands {
            assert_eq!(apply(&mut one, command.clone()), apply(&mut two, command));
        }
        assert_eq!(one, two);
    }

    fn snapshot_bytes(machine: &KvStateMachine) -> Vec<u8> {
        let mut bytes = Vec::new();
        machine.snapshot().unwrap().write_to(&mut bytes).unwrap();
        bytes
    }

    /// §7: a restored state machine behaves as one that applied every command the snapshot
    /// covers, and the same state writes the same bytes.
    #[test]
    fn snapshot_then_restore_gives_the_same_state() {
        let mut kv = KvStateMachine::new();
        for (key, value) in [("b", "2"), ("a", "1")] {
            apply(
                &mut kv,
                KvCommand::Put {
                    key: s(key),
                    value: s(value),
                },
            );
        }
        let bytes = snapshot_bytes(&kv);
        let mut restored = KvStateMachine::new();
        restored.restore(5, &mut &bytes[..]).unwrap();
        assert_eq!(restored.data(), kv.data());
        assert_eq!(restored.last_applied(), 5);
        let mut again = KvStateMachine::new();
        again.restore(5, &mut &bytes[..]).unwrap();
        assert_eq!(snapshot_bytes(&again), snapshot_bytes(&restored));
        apply(&mut restored, KvCommand::Delete { key: s("a") });
        assert_eq!(restored.last_applied(), 6);
    }

    #[test]
    fn malformed_snapshots_are_invalid_data_and_change_nothing() {
        let mut kv = KvStateMachine::new();
        apply(
            &mut kv,
            KvCommand::Put {
                key: s("a"),
                value: s("1"),
            },
        );
        let good = snapshot_bytes(&kv);
        let mut truncated = good.clone();
        truncated.pop();
        let mut trailing = good.clone();
        trailing.push(0);
        let mut wrong_format = good.clone();
        wrong_format[0] = 9;
        let mut target = KvStateMachine::new();
        for bad in [
            vec![],
            truncated,
            trailing,
            wrong_format,
            vec![1, 0xff, 0xff],
        ] {
            let error = target.restore(3, &mut &bad[..]).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{bad:?}: {error}");
        }
        let error = target.restore(0, &mut &good[..]).unwrap_err();
        assert!(
            error.to_string().contains("claims to cover only up to 0"),
            "{error}"
        );
        assert_eq!(target, KvStateMachine::new());
    }

    #[test]
    #[should_panic(expected = "apply out of order")]
    fn applying_an_index_twice_is_a_broken_invariant() {
        let mut kv = KvStateMachine::new();
        let get = KvCommand::Get { key: s("a") }.encode().unwrap();
        kv.apply(1, &get);
        kv.apply(1, &get);
    }
}
