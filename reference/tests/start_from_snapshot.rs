//! `Node::start` with a snapshot store (§7): the log is checked against the latest snapshot,
//! a gap between them is a clear `StartError`, and a log left behind by a crash between
//! installing a snapshot and compacting the log is compacted at start.

use std::sync::Arc;

use rafty::kv::{KvCommand, KvStateMachine};
use rafty::node::{Node, NodeOptions, StartError};
use rafty::{
    Config, Entry, HardState, Log, MemoryLog, MemorySnapshotStore, Payload, SnapshotStore,
    StateMachine, StaticPeersProvider,
};

fn put(index: u64, term: u64, key: &str) -> Entry {
    let command = KvCommand::Put {
        key: key.into(),
        value: index.to_string(),
    };
    Entry {
        term,
        index,
        payload: Payload::Command(command.encode().unwrap()),
    }
}

/// A log of `count` puts in term 1 (current term 1).
fn log_of(count: u64) -> MemoryLog {
    let mut log = MemoryLog::new();
    let entries: Vec<_> = (1..=count).map(|i| put(i, 1, &format!("k{i}"))).collect();
    log.append(&entries).unwrap();
    log.save_hard_state(HardState {
        current_term: 1,
        voted_for: None,
    })
    .unwrap();
    log
}

/// A store holding a snapshot of a key-value machine that applied `log`'s entries up to
/// `index`, labelled with `term`.
fn store_with_snapshot(log: &MemoryLog, index: u64, term: u64) -> MemorySnapshotStore {
    let mut machine = KvStateMachine::new();
    for entry in log.entries(1, index + 1).unwrap() {
        if let Payload::Command(command) = &entry.payload {
            machine.apply(entry.index, command);
        }
    }
    let mut store = MemorySnapshotStore::new();
    let mut writer = store.begin(index, term).unwrap();
    let mut bytes = Vec::new();
    machine.snapshot().unwrap().write_to(&mut bytes).unwrap();
    writer.write(&bytes).unwrap();
    writer.finish().unwrap();
    store
}

async fn start(log: MemoryLog, store: MemorySnapshotStore) -> Result<Node, StartError> {
    Node::start(
        1,
        log,
        KvStateMachine::new(),
        Arc::new(StaticPeersProvider::new(vec![])),
        Arc::new(Config::default()),
        NodeOptions::with_seed(1).snapshot_store(store),
    )
    .await
}

#[tokio::test(start_paused = true)]
async fn a_compacted_log_without_a_snapshot_is_refused() {
    let mut log = log_of(4);
    log.compact(2, 1).unwrap();
    let error = start(log, MemorySnapshotStore::new()).await.unwrap_err();
    assert!(
        matches!(error, StartError::CompactedLog { first_index: 3 }),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_snapshot_that_ends_before_the_log_starts_is_refused_naming_the_gap() {
    let mut log = log_of(6);
    let store = store_with_snapshot(&log, 2, 1);
    log.compact(4, 1).unwrap();
    let error = start(log, store).await.unwrap_err();
    assert!(
        matches!(
            error,
            StartError::SnapshotBehindLog {
                snapshot_index: 2,
                first_index: 5
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().contains("entries 3 to 4 are lost"),
        "{error}"
    );
}

/// Figure 13 step 7 after a crash: the snapshot (index 5, term 2) is durable but the log was
/// not yet compacted and holds index 5 with term 1: start discards the log and starts from the
/// snapshot.
#[tokio::test(start_paused = true)]
async fn a_log_the_snapshot_conflicts_with_is_discarded_at_start() {
    let log = log_of(6);
    let store = store_with_snapshot(&log, 5, 2);
    let storage = log.storage();
    let mut raised = MemoryLog::open(&storage);
    raised
        .save_hard_state(HardState {
            current_term: 2,
            voted_for: None,
        })
        .unwrap();
    let node = start(raised, store)
        .await
        .expect("starts from the snapshot");
    let status = node.status();
    assert_eq!(
        (
            status.snapshot_index,
            status.first_index,
            status.commit_index
        ),
        (5, 6, 5)
    );
    assert_eq!(storage.first_index(), 6);
    assert!(
        storage.entries().is_empty(),
        "the conflicting log was discarded"
    );
    node.stop().await;
}

/// A snapshot the state machine cannot read stops the start with the snapshot's index.
#[tokio::test(start_paused = true)]
async fn a_snapshot_the_state_machine_refuses_is_a_start_error() {
    let log = log_of(3);
    let mut store = MemorySnapshotStore::new();
    let mut writer = store.begin(2, 1).unwrap();
    writer.write(b"not a kv snapshot").unwrap();
    writer.finish().unwrap();
    let error = start(log, store).await.unwrap_err();
    assert!(
        matches!(&error, StartError::Restore { index: 2, .. }),
        "{error}"
    );
}
