//! The confirmation rounds readers share (dissertation §6.4, ReadIndex step 2: a read is
//! confirmed only by a round of heartbeats that began after it arrived).

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tokio::time::Instant;

use super::{Applied, LocalReads};
use crate::client::ClientError;
use crate::core::ReadMode;
use crate::kv::KvStateMachine;

type Shared = Arc<Mutex<Applied<KvStateMachine>>>;

/// A node's reads over a state machine applied through index 5, and that state machine.
fn reads_and_state_machine() -> (LocalReads, Shared) {
    let state_machine = Arc::new(Mutex::new(Applied {
        state_machine: KvStateMachine::new(),
        last_applied: 5,
        lease: None,
        closed: false,
    }));
    let reads = LocalReads::new(state_machine.clone(), Instant::now(), None);
    (reads, state_machine)
}

fn reads() -> LocalReads {
    reads_and_state_machine().0
}

/// The encoded query every test reads with: a get of key `k`.
fn get_k() -> Vec<u8> {
    crate::kv::KvCommand::Get { key: "k".into() }
        .encode()
        .unwrap()
}

fn poll<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// §6.4 step 2: a reader that arrives while a round is out joins the next round; the round
/// out settling releases its own readers, never the later one, which the next round releases.
#[tokio::test]
async fn a_round_that_began_before_a_read_arrived_never_releases_it() {
    let reads = reads();
    let query = get_k();
    let mut first = pin!(reads.confirmed(&query, ReadMode::Index));
    assert!(poll(first.as_mut()).is_pending());
    let round = reads
        .close_round(ReadMode::Index)
        .expect("the first read opened a round");
    let mut second = pin!(reads.confirmed(&query, ReadMode::Index));
    assert!(poll(second.as_mut()).is_pending());
    reads.settle_round(ReadMode::Index, round, Ok(5));
    assert!(matches!(poll(first.as_mut()), Poll::Ready(Ok(_))));
    assert!(
        poll(second.as_mut()).is_pending(),
        "released by an earlier round"
    );
    let next = reads
        .close_round(ReadMode::Index)
        .expect("the second read's round");
    assert_ne!(next, round);
    reads.settle_round(ReadMode::Index, next, Err(Some(2)));
    assert_eq!(
        poll(second.as_mut()),
        Poll::Ready(Err(ClientError::NotLeader {
            leader_hint: Some(2)
        }))
    );
}

/// §6.4 step 3: a released read waits until the state machine applied through its read
/// index, and is served once the loop publishes that it did.
#[tokio::test]
async fn a_released_read_waits_for_the_apply_through_its_read_index() {
    let (reads, state_machine) = reads_and_state_machine();
    let query = get_k();
    let mut read = pin!(reads.confirmed(&query, ReadMode::Index));
    assert!(poll(read.as_mut()).is_pending());
    let round = reads.close_round(ReadMode::Index).unwrap();
    reads.settle_round(ReadMode::Index, round, Ok(7));
    assert!(poll(read.as_mut()).is_pending(), "served before any apply");
    // As the event loop does: apply, then publish.
    for index in [6, 7] {
        state_machine.lock().unwrap().last_applied = index;
        reads.applied(index);
        if index < 7 {
            assert!(poll(read.as_mut()).is_pending(), "served at index {index}");
        }
    }
    assert!(matches!(poll(read.as_mut()), Poll::Ready(Ok(_))));
}

/// A reader that gives up leaves its round: a round nobody waits for is forgotten, and the
/// next reader opens a round of its own.
#[tokio::test]
async fn a_reader_that_gives_up_leaves_its_round() {
    let reads = reads();
    let query = get_k();
    {
        let mut read = pin!(reads.confirmed(&query, ReadMode::Lease));
        assert!(poll(read.as_mut()).is_pending());
    }
    assert_eq!(reads.close_round(ReadMode::Lease), None);
    let mut read = pin!(reads.confirmed(&query, ReadMode::Lease));
    assert!(poll(read.as_mut()).is_pending());
    let round = reads.close_round(ReadMode::Lease).unwrap();
    assert!(reads.round_has_readers(ReadMode::Lease, round));
}

/// A reader that opens a round while a round of its mode is out does not wake the event loop
/// (the loop closes the open round itself when the round out settles, and may close no
/// other meanwhile); with no round out, it does. An abandoned round is no longer out.
#[tokio::test]
async fn a_reader_wakes_the_loop_only_when_no_round_of_its_mode_is_out() {
    let reads = reads();
    let query = get_k();
    let mut first = pin!(reads.confirmed(&query, ReadMode::Index));
    assert!(poll(first.as_mut()).is_pending());
    assert!(
        poll(pin!(reads.wanted())).is_ready(),
        "no round out: the loop was woken"
    );
    let round = reads.close_round(ReadMode::Index).unwrap();
    let mut second = pin!(reads.confirmed(&query, ReadMode::Index));
    assert!(poll(second.as_mut()).is_pending());
    assert!(
        poll(pin!(reads.wanted())).is_pending(),
        "a round out: woken for nothing"
    );
    assert_eq!(
        reads.close_round(ReadMode::Index),
        None,
        "a second round out"
    );
    // A lease-mode reader is not held back by an index-mode round.
    let mut leased = pin!(reads.confirmed(&query, ReadMode::Lease));
    assert!(poll(leased.as_mut()).is_pending());
    assert!(poll(pin!(reads.wanted())).is_ready());
    reads.settle_round(ReadMode::Index, round, Ok(5));
    let next = reads
        .close_round(ReadMode::Index)
        .expect("the round out settled: the open one goes");
    // As the loop does when it forgets a round whose readers all gave up
    // (`prune_abandoned_reads`): no longer out.
    reads.abandon_round(ReadMode::Index);
    assert_ne!(next, round);
    let mut third = pin!(reads.confirmed(&query, ReadMode::Index));
    assert!(poll(third.as_mut()).is_pending());
    assert!(reads.close_round(ReadMode::Index).is_some());
}
