//! Client sessions (dissertation §6.3) over the key-value store.

use std::io;
use std::time::Duration;

use super::*;
use crate::kv::{KvCommand, KvResponse, KvStateMachine};

fn append(value: &str) -> Vec<u8> {
    KvCommand::Append {
        key: "k".into(),
        value: value.into(),
    }
    .encode()
    .unwrap()
}

/// An envelope as the leader proposes it at `time_ms`.
fn at(time_ms: u64, mut envelope: Vec<u8>) -> Vec<u8> {
    stamp_leader_time(&mut envelope, Duration::from_millis(time_ms));
    envelope
}

fn apply(machine: &mut Sessions<KvStateMachine>, index: u64, bytes: &[u8]) -> SessionResponse {
    SessionResponse::decode(&machine.apply(index, bytes)).unwrap()
}

fn done() -> SessionResponse {
    SessionResponse::Applied(KvResponse::Done.encode().unwrap())
}

fn stored(machine: &Sessions<KvStateMachine>) -> Option<&str> {
    machine.inner().get("k")
}

fn snapshot_bytes(machine: &Sessions<KvStateMachine>) -> Vec<u8> {
    let mut bytes = Vec::new();
    machine.snapshot().unwrap().write_to(&mut bytes).unwrap();
    bytes
}

/// §6.3: the client id is the index of the entry that registered the session.
#[test]
fn a_session_is_registered_under_its_entrys_index() {
    let mut machine = Sessions::new(KvStateMachine::new());
    assert_eq!(
        apply(&mut machine, 4, &register()),
        SessionResponse::Registered { client_id: 4 }
    );
    assert_eq!(machine.clients(), vec![4]);
}

/// §6.3: a command whose sequence number the session already applied is answered with the
/// remembered response and not applied again.
#[test]
fn a_duplicate_is_answered_from_the_table_without_applying_again() {
    let mut machine = Sessions::new(KvStateMachine::new());
    apply(&mut machine, 1, &register());
    let first = request(1, 1, append("x"));
    assert_eq!(apply(&mut machine, 2, &first), done());
    assert_eq!(apply(&mut machine, 3, &first), done());
    assert_eq!(stored(&machine), Some("x"), "the retry applied again");
    assert_eq!(apply(&mut machine, 4, &request(1, 2, append("y"))), done());
    assert_eq!(stored(&machine), Some("xy"));
}

/// §6.3: the remembered response is the first application's, not a fresh one.
#[test]
fn a_duplicate_gets_the_first_response() {
    let mut machine = Sessions::new(KvStateMachine::new());
    apply(&mut machine, 1, &register());
    let create = KvCommand::Cas {
        key: "k".into(),
        expected: None,
        new: "1".into(),
    };
    let create = request(1, 1, create.encode().unwrap());
    assert_eq!(apply(&mut machine, 2, &create), done());
    assert_eq!(apply(&mut machine, 3, &create), done(), "not CasFailed");
}

/// §6.3: a sequence number behind the session's last is neither applied nor answered.
#[test]
fn a_sequence_number_behind_the_last_is_not_applied() {
    let mut machine = Sessions::new(KvStateMachine::new());
    apply(&mut machine, 1, &register());
    apply(&mut machine, 2, &request(1, 2, append("x")));
    assert_eq!(
        apply(&mut machine, 3, &request(1, 1, append("y"))),
        SessionResponse::Stale {
            sequence: 1,
            last_sequence: 2
        }
    );
    assert_eq!(stored(&machine), Some("x"));
}

/// §6.3: a command for a session that does not exist is refused, not applied.
#[test]
fn an_unknown_session_is_expired_and_nothing_applies() {
    let mut machine = Sessions::new(KvStateMachine::new());
    assert_eq!(
        apply(&mut machine, 1, &request(9, 1, append("x"))),
        SessionResponse::Expired { client_id: 9 }
    );
    assert_eq!(stored(&machine), None);
}

/// §6.3: sessions expire by the time the leader stamped in the entries (log time): idle
/// past the timeout, a session is gone and its next command is refused; active, it stays.
#[test]
fn sessions_expire_by_log_time() {
    let mut machine = Sessions::with_timeout(KvStateMachine::new(), Duration::from_secs(10));
    apply(&mut machine, 1, &at(1_000, register()));
    apply(&mut machine, 2, &at(2_000, register()));
    // Client 2 keeps busy; client 1 idles.
    apply(&mut machine, 3, &at(9_000, request(2, 1, append("a"))));
    apply(&mut machine, 4, &at(11_000, request(2, 2, append("b"))));
    assert_eq!(
        machine.clients(),
        vec![1, 2],
        "1 idled exactly 10 s: not yet"
    );
    apply(&mut machine, 5, &at(11_001, request(2, 3, append("c"))));
    assert_eq!(machine.clients(), vec![2]);
    assert_eq!(
        apply(&mut machine, 6, &at(11_002, request(1, 1, append("z")))),
        SessionResponse::Expired { client_id: 1 }
    );
    assert_eq!(stored(&machine), Some("abc"));
    assert_eq!(machine.log_time_ms(), 11_002);
}

/// §6.3: log time never goes back, whatever a new leader's clock says (a restarted leader
/// counts from its start): a late, smaller stamp expires nothing and moves nothing back.
#[test]
fn log_time_never_goes_back() {
    let mut machine = Sessions::with_timeout(KvStateMachine::new(), Duration::from_secs(10));
    apply(&mut machine, 1, &at(50_000, register()));
    apply(&mut machine, 2, &at(3, request(1, 1, append("x"))));
    assert_eq!(machine.log_time_ms(), 50_000);
    assert_eq!(machine.clients(), vec![1]);
}

/// §6.3 and §7: the table is replicated state, so it travels in snapshots: a node restored
/// from one answers a retry from the table instead of applying it again.
#[test]
fn the_table_travels_in_snapshots() {
    let mut machine = Sessions::new(KvStateMachine::new());
    apply(&mut machine, 1, &at(7, register()));
    let first = request(1, 1, append("x"));
    apply(&mut machine, 2, &first);
    let bytes = snapshot_bytes(&machine);
    assert!(bytes.starts_with(&SNAPSHOT_MAGIC));
    let mut restored = Sessions::new(KvStateMachine::new());
    restored.restore(2, &mut &bytes[..]).unwrap();
    assert_eq!(restored.clients(), vec![1]);
    assert_eq!(restored.log_time_ms(), 7);
    assert_eq!(apply(&mut restored, 3, &first), done());
    assert_eq!(stored(&restored), Some("x"), "the retry applied again");
    assert_eq!(snapshot_bytes(&restored), {
        apply(&mut machine, 3, &first);
        snapshot_bytes(&machine)
    });
}

/// Commands without an envelope reach the wrapped machine as they are, and while no session
/// was ever opened the snapshot is the wrapped machine's, byte for byte.
#[test]
fn without_sessions_the_wrapper_changes_nothing() {
    let mut machine = Sessions::new(KvStateMachine::new());
    let mut bare = KvStateMachine::new();
    let put = KvCommand::Put {
        key: "k".into(),
        value: "1".into(),
    }
    .encode()
    .unwrap();
    assert_eq!(machine.apply(1, &put), bare.apply(1, &put));
    let mut inner = Vec::new();
    bare.snapshot().unwrap().write_to(&mut inner).unwrap();
    assert_eq!(snapshot_bytes(&machine), inner);
    let mut restored = Sessions::new(KvStateMachine::new());
    restored.restore(1, &mut &inner[..]).unwrap();
    assert_eq!(restored.inner(), &bare);
    let get = KvCommand::Get { key: "k".into() }.encode().unwrap();
    assert_eq!(machine.query(&get), bare.query(&get));
}

/// Two nodes applying the same entries write the same snapshot bytes (the table is a
/// function of the log).
#[test]
fn the_same_entries_give_the_same_snapshot() {
    let entries = [
        at(5, register()),
        at(9, request(1, 1, append("x"))),
        at(12, register()),
        at(13, request(1, 1, append("x"))),
        at(20, request(3, 1, append("y"))),
    ];
    let (mut one, mut two) = (
        Sessions::new(KvStateMachine::new()),
        Sessions::new(KvStateMachine::new()),
    );
    for (index, entry) in (1..).zip(&entries) {
        assert_eq!(one.apply(index, entry), two.apply(index, entry));
    }
    assert_eq!(snapshot_bytes(&one), snapshot_bytes(&two));
    assert_eq!(stored(&one), Some("xy"));
}

#[test]
fn a_malformed_envelope_is_invalid_and_changes_nothing() {
    let mut machine = Sessions::new(KvStateMachine::new());
    let mut garbage = register();
    garbage.push(0xff);
    let response = apply(&mut machine, 1, &garbage);
    assert!(
        matches!(&response, SessionResponse::Invalid(reason) if reason.contains("trailing")),
        "{response:?}"
    );
    assert!(machine.clients().is_empty());
}

#[test]
fn a_malformed_session_table_is_invalid_data_and_changes_nothing() {
    let mut machine = Sessions::new(KvStateMachine::new());
    let mut bytes = SNAPSHOT_MAGIC.to_vec();
    bytes.extend_from_slice(&[0xff, 0xff, 0xff]);
    let error = machine.restore(1, &mut &bytes[..]).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(error.to_string().contains("session table"), "{error}");
    assert_eq!(machine.inner(), &KvStateMachine::new());
}

/// Only envelopes carry the leader's time; the stamp is in the header, and the command
/// inside is what an observer compares.
#[test]
fn the_leader_stamps_envelopes_only() {
    let put = append("x");
    let mut plain = put.clone();
    stamp_leader_time(&mut plain, Duration::from_millis(77));
    assert_eq!(plain, put);
    let envelope = at(77, request(3, 4, put.clone()));
    let (time_ms, command) = decode_envelope(&envelope).unwrap().unwrap();
    assert_eq!(time_ms, 77);
    assert_eq!(
        command,
        SessionCommand::Request {
            client_id: 3,
            sequence: 4,
            command: put.clone()
        }
    );
    assert_eq!(&*inner_command(&envelope), &put[..]);
    assert_eq!(&*inner_command(&put), &put[..]);
}

/// A node restored from a snapshot taken at an index the state machine never saw (a leader's
/// no-op) and a node that applied the entries write the same bytes after a registration: the
/// wrapped machine sees every index the wrapper does, applied or not (found by the harness's
/// snapshot-state check, `rafty test --sessions`, seed 27).
#[test]
fn a_restored_node_and_an_applying_one_agree_after_a_registration() {
    let put = KvCommand::Put {
        key: "k".into(),
        value: "1".into(),
    }
    .encode()
    .unwrap();
    let mut applying = Sessions::new(KvStateMachine::new());
    applying.apply(1, &put);
    // Index 2 is a no-op, never given to the state machine; the snapshot covers it.
    let bytes = snapshot_bytes(&applying);
    let mut restored = Sessions::new(KvStateMachine::new());
    restored.restore(2, &mut &bytes[..]).unwrap();
    for machine in [&mut applying, &mut restored] {
        apply(machine, 3, &at(5, register()));
        assert_eq!(machine.inner().last_applied(), 3);
    }
    assert_eq!(snapshot_bytes(&applying), snapshot_bytes(&restored));
}
