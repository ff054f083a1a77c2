//! Tests of the in-process network, against a handler that records what reaches it.

use std::sync::Mutex;

use tokio::time::Instant;

use super::*;

/// Records every request it handles; sleeps `work` before answering.
#[derive(Default)]
struct Recorder {
    id: NodeId,
    work: Duration,
    handled: Mutex<Vec<String>>,
}

impl Recorder {
    fn new(id: NodeId) -> Arc<Recorder> {
        Arc::new(Recorder {
            id,
            ..Recorder::default()
        })
    }

    fn handled(&self) -> Vec<String> {
        self.handled.lock().unwrap().clone()
    }

    async fn record(&self, what: String) {
        tokio::time::sleep(self.work).await;
        self.handled.lock().unwrap().push(what);
    }
}

#[async_trait]
impl RpcHandler for Recorder {
    async fn request_vote(&self, request: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        self.record(format!("vote from {}", request.candidate_id))
            .await;
        Ok(RequestVoteResponse {
            term: request.term,
            vote_granted: true,
            pre_vote: false,
        })
    }

    async fn append_entries(
        &self,
        request: AppendEntries,
    ) -> Result<AppendEntriesResponse, PeerError> {
        self.record(format!("append from {}", request.leader_id))
            .await;
        Ok(AppendEntriesResponse {
            term: request.term,
            success: true,
            match_index: request.prev_log_index,
            conflict: None,
        })
    }

    async fn install_snapshot(
        &self,
        request: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        self.record(format!("snapshot from {}", request.leader_id))
            .await;
        Ok(InstallSnapshotResponse {
            term: request.term,
            last_included_index: request.last_included_index,
            next_offset: request.offset + request.data.len() as u64,
            installed: request.done,
        })
    }

    async fn forward(&self, command: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        if command.is_empty() {
            return Err(PeerError::Rejected {
                peer: self.id,
                reason: "empty".into(),
            });
        }
        self.record(format!("forward {command:?}")).await;
        Ok(ForwardResponse::Applied(command))
    }

    async fn timeout_now(&self, request: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        self.record(format!("timeout_now from {}", request.leader_id))
            .await;
        Ok(TimeoutNowResponse {
            term: request.term + 1,
            campaigning: true,
        })
    }
}

const TIMEOUT: Duration = Duration::from_millis(100);

fn vote(candidate_id: NodeId) -> RequestVote {
    RequestVote {
        term: 3,
        candidate_id,
        last_log_index: 0,
        last_log_term: 0,
        pre_vote: false,
        transfer: false,
    }
}

/// A middle chunk (offset 4096, 3000 bytes) of a snapshot up to index 40, from `leader_id`.
fn snapshot_chunk(leader_id: NodeId) -> InstallSnapshot {
    InstallSnapshot {
        term: 3,
        leader_id,
        last_included_index: 40,
        last_included_term: 2,
        size_bytes: 10_000,
        checksum: 0xABCD,
        offset: 4096,
        data: vec![9; 3000],
        done: false,
    }
}

/// A network with a recorder registered for each of `ids`.
fn network_of(ids: &[NodeId]) -> (InProcessNetwork, Vec<Arc<Recorder>>) {
    let network = InProcessNetwork::new();
    let recorders: Vec<_> = ids.iter().map(|&id| Recorder::new(id)).collect();
    for (id, recorder) in ids.iter().zip(&recorders) {
        network.register(*id, recorder.clone());
    }
    (network, recorders)
}

async fn vote_call(network: &InProcessNetwork, from: NodeId, to: NodeId) -> Result<(), PeerError> {
    network
        .peer(from, to)
        .request_vote(vote(from), TIMEOUT)
        .await
        .map(|_| ())
}

fn assert_unreachable(result: Result<(), PeerError>, peer: NodeId, reason_part: &str) {
    match result {
        Err(PeerError::Unreachable { peer: p, reason }) if p == peer => {
            assert!(
                reason.contains(reason_part),
                "{reason:?} lacks {reason_part:?}"
            )
        }
        other => panic!("expected Unreachable({peer}, ..{reason_part}..), got {other:?}"),
    }
}

/// The request never reached the handler: definite.
fn assert_not_sent(result: Result<(), PeerError>, peer: NodeId, reason_part: &str) {
    match result {
        Err(error @ PeerError::NotSent { .. }) if error.peer() == peer => {
            assert!(error.is_definite());
            assert!(
                error.to_string().contains(reason_part),
                "{error} lacks {reason_part:?}"
            )
        }
        other => panic!("expected NotSent({peer}, ..{reason_part}..), got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn every_call_kind_reaches_the_handler_and_returns_its_answer() {
    let (network, recorders) = network_of(&[1, 2]);
    let peer = network.peer(1, 2);
    assert_eq!(peer.id(), 2);
    let answer = peer.request_vote(vote(1), TIMEOUT).await.unwrap();
    assert!(answer.vote_granted);
    let append = AppendEntries {
        term: 3,
        leader_id: 1,
        prev_log_index: 5,
        prev_log_term: 2,
        entries: vec![],
        leader_commit: 0,
    };
    assert_eq!(
        peer.append_entries(append, TIMEOUT)
            .await
            .unwrap()
            .match_index,
        5
    );
    let forwarded = peer.forward(vec![7], TIMEOUT).await.unwrap();
    assert_eq!(forwarded, ForwardResponse::Applied(vec![7]));
    let installed = peer
        .install_snapshot(snapshot_chunk(1), TIMEOUT)
        .await
        .unwrap();
    assert_eq!(
        installed,
        InstallSnapshotResponse {
            term: 3,
            last_included_index: 40,
            next_offset: 4096 + 3000,
            installed: false
        }
    );
    assert_eq!(
        recorders[1].handled(),
        [
            "vote from 1",
            "append from 1",
            "forward [7]",
            "snapshot from 1"
        ]
    );
    assert!(recorders[0].handled().is_empty());
}

#[tokio::test(start_paused = true)]
async fn handler_errors_pass_through() {
    let (network, _) = network_of(&[1, 2]);
    let error = network
        .peer(1, 2)
        .forward(vec![], TIMEOUT)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        PeerError::Rejected {
            peer: 2,
            reason: "empty".into()
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_to_an_unknown_node_is_not_sent() {
    let (network, _) = network_of(&[1]);
    assert_not_sent(vote_call(&network, 1, 9).await, 9, "no handler");
}

#[tokio::test(start_paused = true)]
async fn dropped_request_never_reaches_the_handler_and_is_not_sent() {
    let (network, recorders) = network_of(&[1, 2]);
    network.drop_link(1, 2);
    assert_not_sent(vote_call(&network, 1, 2).await, 2, "link 1 -> 2");
    assert!(recorders[1].handled().is_empty());
    // The other direction delivers the request; only its response is lost: indefinite.
    assert_unreachable(vote_call(&network, 2, 1).await, 1, "link 1 -> 2");
    assert_eq!(recorders[0].handled(), ["vote from 2"]);
    network.restore_link(1, 2);
    vote_call(&network, 1, 2).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn dropped_response_is_unreachable_after_the_handler_ran() {
    let (network, recorders) = network_of(&[1, 2]);
    network.drop_link(2, 1);
    assert_unreachable(vote_call(&network, 1, 2).await, 2, "link 2 -> 1");
    assert_eq!(recorders[1].handled(), ["vote from 1"]);
}

#[tokio::test(start_paused = true)]
async fn a_crash_after_the_handler_ran_is_indefinite() {
    let network = InProcessNetwork::new();
    let slow = Arc::new(Recorder {
        id: 2,
        work: Duration::from_millis(20),
        ..Recorder::default()
    });
    network.register(1, Recorder::new(1));
    network.register(2, slow.clone());
    let call = tokio::spawn({
        let network = network.clone();
        async move { vote_call(&network, 1, 2).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    // The handler has the request; its answer is lost on the way back.
    network.crash(2);
    let error = call.await.unwrap().unwrap_err();
    assert!(!error.is_definite(), "{error:?}");
    assert_unreachable(Err(error), 2, "sender 2 is crashed");
    assert_eq!(slow.handled(), ["vote from 1"]);
}

/// Answers every forward with a `NotSent` about a call of its own.
struct Relay;

#[async_trait]
impl RpcHandler for Relay {
    async fn request_vote(&self, _: RequestVote) -> Result<RequestVoteResponse, PeerError> {
        unreachable!("only forwards")
    }

    async fn append_entries(&self, _: AppendEntries) -> Result<AppendEntriesResponse, PeerError> {
        unreachable!("only forwards")
    }

    async fn forward(&self, _: Vec<u8>) -> Result<ForwardResponse, PeerError> {
        Err(PeerError::NotSent {
            peer: 3,
            reason: "relay could not dial".into(),
        })
    }

    async fn install_snapshot(
        &self,
        _: InstallSnapshot,
    ) -> Result<InstallSnapshotResponse, PeerError> {
        unreachable!("only forwards")
    }

    async fn timeout_now(&self, _: TimeoutNow) -> Result<TimeoutNowResponse, PeerError> {
        unreachable!("only forwards")
    }
}

#[tokio::test(start_paused = true)]
async fn a_not_sent_from_the_handler_is_indefinite_for_the_caller() {
    let network = InProcessNetwork::new();
    network.register(2, Arc::new(Relay));
    let error = network
        .peer(1, 2)
        .forward(vec![1], TIMEOUT)
        .await
        .unwrap_err();
    assert!(!error.is_definite(), "{error:?}");
    assert!(matches!(error, PeerError::Unreachable { .. }), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn isolated_node_neither_sends_nor_receives() {
    let (network, _) = network_of(&[1, 2, 3]);
    network.isolate(1);
    assert_not_sent(vote_call(&network, 1, 2).await, 2, "node 1 is isolated");
    assert_not_sent(vote_call(&network, 3, 1).await, 1, "node 1 is isolated");
    vote_call(&network, 2, 3).await.unwrap();
    network.rejoin(1);
    vote_call(&network, 1, 2).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn partition_cuts_between_groups_and_heal_restores() {
    let (network, _) = network_of(&[1, 2, 3, 4]);
    network.partition(&[&[1, 2], &[3]]);
    vote_call(&network, 1, 2).await.unwrap();
    assert_not_sent(vote_call(&network, 1, 3).await, 3, "partition");
    assert_not_sent(vote_call(&network, 3, 2).await, 2, "partition");
    // Node 4 is in no group: cut off from everyone.
    assert_not_sent(vote_call(&network, 4, 3).await, 3, "partition");
    network.heal();
    for (from, to) in [(1, 3), (3, 2), (4, 3)] {
        vote_call(&network, from, to).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn heal_clears_drops_and_isolation() {
    let (network, _) = network_of(&[1, 2, 3]);
    network.drop_link(1, 2);
    network.isolate(3);
    network.heal();
    vote_call(&network, 1, 2).await.unwrap();
    vote_call(&network, 1, 3).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn delay_applies_to_each_leg() {
    let (network, _) = network_of(&[1, 2]);
    network.set_delay(1, 2, Duration::from_millis(30));
    network.set_delay(2, 1, Duration::from_millis(20));
    let start = Instant::now();
    vote_call(&network, 1, 2).await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(50));
    network.clear_delays();
    let start = Instant::now();
    vote_call(&network, 1, 2).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn delay_past_the_deadline_times_out_but_the_handler_still_runs() {
    let (network, recorders) = network_of(&[1, 2]);
    network.set_delay(1, 2, Duration::from_millis(150));
    let start = Instant::now();
    let error = vote_call(&network, 1, 2).await.unwrap_err();
    assert_eq!(
        error,
        PeerError::TimedOut {
            peer: 2,
            timeout: TIMEOUT
        }
    );
    assert_eq!(start.elapsed(), TIMEOUT);
    assert!(recorders[1].handled().is_empty());
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(recorders[1].handled(), ["vote from 1"]);
}

#[tokio::test(start_paused = true)]
async fn slow_handler_times_out() {
    let network = InProcessNetwork::new();
    let slow = Arc::new(Recorder {
        id: 2,
        work: Duration::from_secs(1),
        ..Recorder::default()
    });
    network.register(2, slow);
    let error = vote_call(&network, 1, 2).await.unwrap_err();
    assert_eq!(
        error,
        PeerError::TimedOut {
            peer: 2,
            timeout: TIMEOUT
        }
    );
}

#[tokio::test(start_paused = true)]
async fn partition_during_the_delay_loses_the_message() {
    let (network, recorders) = network_of(&[1, 2]);
    network.set_delay(1, 2, Duration::from_millis(50));
    let call = tokio::spawn({
        let network = network.clone();
        async move { vote_call(&network, 1, 2).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    network.partition(&[&[1], &[2]]);
    assert_not_sent(call.await.unwrap(), 2, "partition");
    assert!(recorders[1].handled().is_empty());
}

#[tokio::test(start_paused = true)]
async fn crashed_node_is_unreachable_and_silent_until_registered_again() {
    let (network, recorders) = network_of(&[1, 2]);
    assert!(network.crash(2).is_some());
    assert!(!network.is_registered(2));
    assert_not_sent(vote_call(&network, 1, 2).await, 2, "node 2 is down");
    assert_not_sent(vote_call(&network, 2, 1).await, 1, "sender 2 is crashed");
    assert!(recorders[0].handled().is_empty());
    network.register(2, recorders[1].clone());
    vote_call(&network, 1, 2).await.unwrap();
    vote_call(&network, 2, 1).await.unwrap();
}

/// The two calls compared in [`install_snapshot_meets_every_fault_as_append_entries_does`].
#[derive(Clone, Copy, Debug, PartialEq)]
enum Call {
    Append,
    Snapshot,
}

impl Call {
    async fn make(
        self,
        network: &InProcessNetwork,
        from: NodeId,
        to: NodeId,
    ) -> Result<(), PeerError> {
        let peer = network.peer(from, to);
        match self {
            Call::Append => {
                let append = AppendEntries {
                    term: 3,
                    leader_id: from,
                    prev_log_index: 0,
                    prev_log_term: 0,
                    entries: vec![],
                    leader_commit: 0,
                };
                peer.append_entries(append, TIMEOUT).await.map(drop)
            }
            Call::Snapshot => peer
                .install_snapshot(snapshot_chunk(from), TIMEOUT)
                .await
                .map(drop),
        }
    }
}

/// The faults of [`install_snapshot_meets_every_fault_as_append_entries_does`].
#[derive(Clone, Copy, Debug)]
enum Fault {
    None,
    RequestLinkDropped,
    ResponseLinkDropped,
    CallerIsolated,
    CalleeIsolated,
    Partitioned,
    CalleeCrashed,
    CallerCrashed,
    CalleeCrashedWhileHandling,
    Delayed,
    DelayedPastTheDeadline,
    PartitionedDuringTheDelay,
}

/// What a call from node 1 to node 2 met under `fault`: its result, what node 2's handler
/// recorded (the call kind's word taken out), and the time it took.
async fn outcome(fault: Fault, call: Call) -> (Result<(), PeerError>, Vec<String>, Duration) {
    let network = InProcessNetwork::new();
    let callee = Arc::new(Recorder {
        id: 2,
        work: match fault {
            Fault::CalleeCrashedWhileHandling => Duration::from_millis(20),
            _ => Duration::ZERO,
        },
        ..Recorder::default()
    });
    network.register(1, Recorder::new(1));
    network.register(2, callee.clone());
    match fault {
        Fault::None | Fault::CalleeCrashedWhileHandling | Fault::PartitionedDuringTheDelay => {}
        Fault::RequestLinkDropped => network.drop_link(1, 2),
        Fault::ResponseLinkDropped => network.drop_link(2, 1),
        Fault::CallerIsolated => network.isolate(1),
        Fault::CalleeIsolated => network.isolate(2),
        Fault::Partitioned => network.partition(&[&[1], &[2]]),
        Fault::CalleeCrashed => drop(network.crash(2)),
        Fault::CallerCrashed => drop(network.crash(1)),
        Fault::Delayed => {
            network.set_delay(1, 2, Duration::from_millis(30));
            network.set_delay(2, 1, Duration::from_millis(20));
        }
        Fault::DelayedPastTheDeadline => network.set_delay(1, 2, TIMEOUT * 2),
    }
    if let Fault::PartitionedDuringTheDelay = fault {
        network.set_delay(1, 2, Duration::from_millis(50));
    }
    let start = Instant::now();
    let running = tokio::spawn({
        let network = network.clone();
        async move { call.make(&network, 1, 2).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    match fault {
        Fault::CalleeCrashedWhileHandling => drop(network.crash(2)),
        Fault::PartitionedDuringTheDelay => network.partition(&[&[1], &[2]]),
        _ => {}
    }
    let result = running.await.unwrap();
    let elapsed = start.elapsed();
    // Let a handler still running (a deadline passed first) finish.
    tokio::time::sleep(TIMEOUT * 3).await;
    let handled = callee
        .handled()
        .into_iter()
        .map(|line| line.replace("append", "call").replace("snapshot", "call"))
        .collect();
    (result, handled, elapsed)
}

/// InstallSnapshot travels like AppendEntries: the same definite or indefinite error, the
/// handler reached or not, at the same time, under every switch the network has. Each fault's
/// expected outcome is also checked, so the comparison is not between two equal failures of
/// the test itself.
#[tokio::test(start_paused = true)]
async fn install_snapshot_meets_every_fault_as_append_entries_does() {
    use Fault::*;
    let reached = || vec!["call from 1".to_string()];
    let expected: [(Fault, Option<bool>, Vec<String>); 12] = [
        (None, Option::None, reached()),
        (RequestLinkDropped, Some(true), vec![]),
        (ResponseLinkDropped, Some(false), reached()),
        (CallerIsolated, Some(true), vec![]),
        (CalleeIsolated, Some(true), vec![]),
        (Partitioned, Some(true), vec![]),
        (CalleeCrashed, Some(true), vec![]),
        (CallerCrashed, Some(true), vec![]),
        (CalleeCrashedWhileHandling, Some(false), reached()),
        (Delayed, Option::None, reached()),
        (DelayedPastTheDeadline, Some(false), reached()),
        (PartitionedDuringTheDelay, Some(true), vec![]),
    ];
    for (fault, definite, handled) in expected {
        let append = outcome(fault, Call::Append).await;
        let snapshot = outcome(fault, Call::Snapshot).await;
        assert_eq!(snapshot, append, "{fault:?}");
        let (result, got_handled, elapsed) = snapshot;
        if let Delayed = fault {
            assert_eq!(elapsed, Duration::from_millis(50), "both legs delayed");
        }
        assert_eq!(
            result.as_ref().err().map(PeerError::is_definite),
            definite,
            "{fault:?}: {result:?}"
        );
        assert_eq!(got_handled, handled, "{fault:?}");
    }
}
