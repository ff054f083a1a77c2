//! `Submitter`: the answers of `Node::submit` with one deadline timer per client, reused for
//! every command. What must hold: each command gets its own `command_timeout`, counted from
//! its own submission; a command whose deadline passes while the event loop is stalled is
//! answered `Timeout` (indefinite) at that deadline, not later; the timer works again after
//! it fired and after the client was idle for longer than a timeout. One node (its own
//! majority), a `MemoryLog`, tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use rafty::core::Role;
use rafty::node::{Node, NodeOptions, PauseSwitch};
use rafty::{ClientError, Config, LogIndex, MemoryLog, StateMachine, StaticPeersProvider};
use tokio::time::Instant;

const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);

/// Answers each command with its own index.
struct EchoIndex;

impl StateMachine for EchoIndex {
    fn apply(&mut self, index: LogIndex, _command: &[u8]) -> Vec<u8> {
        index.to_le_bytes().to_vec()
    }
}

async fn single_node(pause: PauseSwitch) -> Node {
    let config = Config {
        command_timeout: COMMAND_TIMEOUT,
        ..Config::default()
    };
    let node = Node::start(
        1,
        MemoryLog::new(),
        EchoIndex,
        Arc::new(StaticPeersProvider::new(Vec::new())),
        Arc::new(config),
        NodeOptions::with_seed(1).pause_switch(pause),
    )
    .await
    .expect("a one-node cluster starts");
    while node.role() != Role::Leader {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    node
}

/// Answered `Timeout` at the deadline: not before, and not later than tokio's timer
/// granularity (1 ms) after it.
fn assert_on_time(elapsed: Duration) {
    assert!(
        elapsed >= COMMAND_TIMEOUT && elapsed <= COMMAND_TIMEOUT + Duration::from_millis(1),
        "answered after {elapsed:?}, the timeout is {COMMAND_TIMEOUT:?}"
    );
}

fn index_of(answer: Result<Vec<u8>, ClientError>) -> LogIndex {
    let bytes = answer.expect("the command applied");
    LogIndex::from_le_bytes(bytes.try_into().expect("an index"))
}

#[tokio::test(start_paused = true)]
async fn a_submitter_answers_each_command_with_its_entrys_response_in_order() {
    let node = single_node(PauseSwitch::new()).await;
    let mut submitter = node.submitter();
    let first = index_of(submitter.submit(b"a".to_vec()).await);
    let second = index_of(submitter.submit(b"b".to_vec()).await);
    let third = index_of(node.submit(b"c".to_vec()).await);
    assert_eq!((second, third), (first + 1, first + 2));
    node.stop().await;
}

/// The deadline is the command's own: a command submitted just before the previous command's
/// deadline would have passed still gets a whole `command_timeout`, and is answered `Timeout`
/// exactly when it runs out (the event loop is paused, so nothing else answers).
#[tokio::test(start_paused = true)]
async fn each_command_gets_a_whole_command_timeout_from_its_own_submission() {
    let pause = PauseSwitch::new();
    let node = single_node(pause.clone()).await;
    let mut submitter = node.submitter();
    submitter.submit(b"quick".to_vec()).await.expect("applied");
    tokio::time::sleep(COMMAND_TIMEOUT * 9 / 10).await;
    pause.pause();
    let submitted = Instant::now();
    let outcome = submitter.submit(b"stalled".to_vec()).await;
    assert_eq!(outcome, Err(ClientError::Timeout));
    assert_on_time(submitted.elapsed());
    node.stop().await;
}

/// After a timeout (the timer fired) and after idling for longer than a timeout, the same
/// submitter's next commands are answered, and a stalled one times out again on time.
/// (`Timeout` is indefinite; here the timed-out command was still queued when the loop
/// resumed, which skips a command whose caller gave up, as it does for `Node::submit`.)
#[tokio::test(start_paused = true)]
async fn a_submitter_times_out_again_after_a_timeout_and_after_idling() {
    let pause = PauseSwitch::new();
    let node = single_node(pause.clone()).await;
    let mut submitter = node.submitter();
    pause.pause();
    assert_eq!(
        submitter.submit(b"lost?".to_vec()).await,
        Err(ClientError::Timeout)
    );
    pause.resume();
    let after_timeout = index_of(submitter.submit(b"next".to_vec()).await);
    assert_eq!(
        after_timeout, 2,
        "the leader's no-op, then this one: the resumed loop skips the command whose caller gave up"
    );
    tokio::time::sleep(COMMAND_TIMEOUT * 3).await;
    let after_idling = index_of(submitter.submit(b"later".to_vec()).await);
    assert_eq!(after_idling, after_timeout + 1);
    pause.pause();
    let submitted = Instant::now();
    assert_eq!(
        submitter.submit(b"stalled".to_vec()).await,
        Err(ClientError::Timeout)
    );
    assert_on_time(submitted.elapsed());
    node.stop().await;
}
