//! The cases of the peer suite; each starts the reference server, and the suite stops it after.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::reference::{
    DELAY_TAG, REJECT, ReferenceServer, STALL, append_answer, forward_answer, snapshot_answer,
    timeout_now_answer, vote_answer,
};
use super::snapshot_cases::snapshot_chunk;
use super::{CLIENT_ID, PeerHarness, SERVER_ID};
use crate::message::{AppendEntries, RequestVote, TimeoutNow};
use crate::peer::{Peer, PeerError, RpcHandler};
use crate::types::{Entry, Payload};

/// What a case returns.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + 'a>>;

/// A deadline for calls expected to succeed.
pub(super) const TIMEOUT: Duration = Duration::from_secs(5);
/// A short deadline, for calls expected to time out.
pub(super) const SHORT: Duration = Duration::from_millis(300);
/// How late past its deadline a call may return (scheduling on a loaded machine, connection
/// teardown).
const SLACK: Duration = Duration::from_secs(2);
/// The deadline of calls made beside a stalled one: short next to the stalled call's.
const BESIDE: Duration = Duration::from_secs(1);

/// A harness no case runs with: it only lets [`super::case_names`] name the cases.
pub struct Unused;

#[async_trait]
impl PeerHarness for Unused {
    async fn start(&mut self, _: Arc<dyn RpcHandler>) -> Result<(), String> {
        Err("unused".into())
    }
    async fn stop(&mut self) {}
    async fn peer(&mut self) -> Result<Arc<dyn Peer>, String> {
        Err("unused".into())
    }
}

/// Start the reference server and make a peer to it.
pub(super) async fn setup(
    harness: &mut impl PeerHarness,
) -> Result<(Arc<ReferenceServer>, Arc<dyn Peer>), String> {
    let server = Arc::new(ReferenceServer::default());
    harness
        .start(server.clone())
        .await
        .map_err(|error| format!("start failed: {error}"))?;
    let peer = harness
        .peer()
        .await
        .map_err(|error| format!("peer failed: {error}"))?;
    Ok((server, peer))
}

/// Await `call`, which has deadline `timeout`, but never longer than the deadline plus slack.
pub(super) async fn bounded<T>(
    what: &str,
    timeout: Duration,
    call: impl Future<Output = Result<T, PeerError>>,
) -> Result<Result<T, PeerError>, String> {
    tokio::time::timeout(timeout + SLACK, call)
        .await
        .map_err(|_| format!("{what}: no answer {SLACK:?} after its {timeout:?} deadline"))
}

/// Await a call expected to succeed, and its answer.
pub(super) async fn answer<T>(
    what: &str,
    call: impl Future<Output = Result<T, PeerError>>,
) -> Result<T, String> {
    bounded(what, TIMEOUT, call)
        .await?
        .map_err(|error| format!("{what} failed: {error}"))
}

pub(super) fn expect_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    got: T,
    want: T,
) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

fn vote(last_log_index: u64, pre_vote: bool) -> RequestVote {
    RequestVote {
        term: 7,
        candidate_id: super::CLIENT_ID,
        last_log_index,
        last_log_term: 3,
        pre_vote,
        transfer: false,
    }
}

fn append(prev_log_index: u64, entries: Vec<Entry>) -> AppendEntries {
    AppendEntries {
        term: 7,
        leader_id: super::CLIENT_ID,
        prev_log_index,
        prev_log_term: 3,
        entries,
        leader_commit: prev_log_index,
    }
}

fn command_entries(first: u64, count: u64, bytes: usize) -> Vec<Entry> {
    (first..first + count)
        .map(|index| Entry {
            term: 3,
            index,
            payload: Payload::Command((0..bytes).map(|i| (i as u64 * 7 + index) as u8).collect()),
        })
        .collect()
}

/// Each kind of call, with answers of each kind, comes back as the server gave it.
pub async fn every_call_round_trips(harness: &mut impl PeerHarness) -> Result<(), String> {
    let (_server, peer) = setup(harness).await?;
    expect_eq("peer.id()", peer.id(), SERVER_ID)?;
    for request in [
        vote(10, false),
        vote(3, false),
        vote(12, true),
        vote(0, true),
    ] {
        let got = answer("request_vote", peer.request_vote(request.clone(), TIMEOUT)).await?;
        expect_eq("request_vote answer", got, vote_answer(&request))?;
    }
    let mut entries = command_entries(5, 2, 10);
    entries.insert(
        0,
        Entry {
            term: 3,
            index: 4,
            payload: Payload::Noop,
        },
    );
    for request in [append(4, vec![]), append(3, entries), append(0, vec![])] {
        let got = answer(
            "append_entries",
            peer.append_entries(request.clone(), TIMEOUT),
        )
        .await?;
        expect_eq("append_entries answer", got, append_answer(&request))?;
    }
    for command in [vec![], b"x".to_vec(), (0..=255).collect()] {
        let got = answer("forward", peer.forward(command.clone(), TIMEOUT)).await?;
        expect_eq("forward answer", got, forward_answer(&command))?;
    }
    for request in [
        TimeoutNow {
            term: 4,
            leader_id: CLIENT_ID,
        },
        TimeoutNow {
            term: u64::MAX,
            leader_id: 8,
        },
    ] {
        let got = answer("timeout_now", peer.timeout_now(request.clone(), TIMEOUT)).await?;
        expect_eq("timeout_now answer", got, timeout_now_answer(&request))?;
    }
    Ok(())
}

/// An error the server returns comes back as [`PeerError::Rejected`].
pub async fn remote_errors_are_typed(harness: &mut impl PeerHarness) -> Result<(), String> {
    let (_server, peer) = setup(harness).await?;
    match bounded("forward", TIMEOUT, peer.forward(REJECT.to_vec(), TIMEOUT)).await? {
        Err(PeerError::Rejected { .. }) => {}
        other => {
            return Err(format!(
                "a rejected forward: expected Rejected, got {other:?}"
            ));
        }
    }
    let after = answer(
        "forward after a rejection",
        peer.forward(b"ok".to_vec(), TIMEOUT),
    )
    .await?;
    expect_eq("forward answer", after, forward_answer(b"ok"))
}

/// With a server that never answers, every kind of call returns `TimedOut` by its deadline;
/// once the server answers again, so do calls.
pub async fn deadlines_are_honoured_against_a_stalling_server(
    harness: &mut impl PeerHarness,
) -> Result<(), String> {
    let (server, peer) = setup(harness).await?;
    answer("a first call", peer.forward(b"warm".to_vec(), TIMEOUT)).await?;
    server.set_stall(true);
    for kind in [
        "request_vote",
        "append_entries",
        "install_snapshot",
        "forward",
    ] {
        let started = Instant::now();
        let result = match kind {
            "request_vote" => bounded(kind, SHORT, peer.request_vote(vote(1, false), SHORT))
                .await?
                .map(drop),
            "append_entries" => bounded(kind, SHORT, peer.append_entries(append(0, vec![]), SHORT))
                .await?
                .map(drop),
            "install_snapshot" => {
                let chunk = snapshot_chunk(0, vec![1; 16], false);
                bounded(kind, SHORT, peer.install_snapshot(chunk, SHORT))
                    .await?
                    .map(drop)
            }
            _ => bounded(kind, SHORT, peer.forward(b"x".to_vec(), SHORT))
                .await?
                .map(drop),
        };
        match result {
            Err(PeerError::TimedOut { .. }) => {}
            other => {
                return Err(format!(
                    "{kind} to a stalled server: expected TimedOut, got {other:?}"
                ));
            }
        }
        let elapsed = started.elapsed();
        if elapsed + Duration::from_millis(5) < SHORT {
            return Err(format!(
                "{kind} timed out after {elapsed:?}, before its {SHORT:?} deadline"
            ));
        }
    }
    server.set_stall(false);
    let got = answer(
        "forward after the stall",
        peer.forward(b"back".to_vec(), TIMEOUT),
    )
    .await?;
    expect_eq("forward answer", got, forward_answer(b"back"))
}

/// A call the server never answers does not hold up the calls made while it waits.
pub async fn a_stalled_call_does_not_hold_up_others(
    harness: &mut impl PeerHarness,
) -> Result<(), String> {
    let (_server, peer) = setup(harness).await?;
    let stalled = {
        let peer = peer.clone();
        tokio::spawn(async move { peer.forward(STALL.to_vec(), TIMEOUT).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    for i in 0..10u8 {
        let command = vec![i; 3];
        let got = bounded(
            "a call beside a stalled one",
            BESIDE,
            peer.forward(command.clone(), BESIDE),
        )
        .await?
        .map_err(|error| format!("a call beside a stalled one failed: {error}"))?;
        expect_eq("its answer", got, forward_answer(&command))?;
    }
    stalled.abort();
    Ok(())
}

/// Messages of half the transport's maximum, both ways, arrive byte for byte: a forwarded
/// command, an AppendEntries, and an InstallSnapshot chunk.
pub async fn large_messages_arrive_intact(harness: &mut impl PeerHarness) -> Result<(), String> {
    let half = harness.max_message_bytes() / 2;
    let (server, peer) = setup(harness).await?;
    let command: Vec<u8> = (0..half).map(|i| (i * 31 % 251) as u8).collect();
    let got = answer("a large forward", peer.forward(command.clone(), TIMEOUT)).await?;
    if got != forward_answer(&command) {
        return Err(format!("a forward of {half} bytes came back altered"));
    }
    let request = append(2, command_entries(3, 4, half / 4));
    let got = answer(
        "a large append_entries",
        peer.append_entries(request.clone(), TIMEOUT),
    )
    .await?;
    expect_eq("large append_entries answer", got, append_answer(&request))?;
    let chunk = snapshot_chunk(0, command, true);
    let got = answer(
        "a large install_snapshot",
        peer.install_snapshot(chunk.clone(), TIMEOUT),
    )
    .await?;
    expect_eq(
        "large install_snapshot answer",
        got,
        snapshot_answer(&chunk),
    )?;
    match server.snapshots_seen().last() {
        Some(seen) if *seen == chunk => Ok(()),
        Some(seen) => Err(format!(
            "an InstallSnapshot chunk of {half} bytes arrived altered ({} bytes at offset {})",
            seen.data.len(),
            seen.offset
        )),
        None => Err("a large install_snapshot never reached the handler".into()),
    }
}

/// Many calls in flight at once, answered out of order, each get their own answer.
pub async fn concurrent_calls_get_their_own_answers(
    harness: &mut impl PeerHarness,
) -> Result<(), String> {
    let (_server, peer) = setup(harness).await?;
    let mut calls = JoinSet::new();
    for i in 0..48u8 {
        let forwarder = peer.clone();
        calls.spawn(async move {
            // Later calls sleep less, so answers come back in another order.
            let command = vec![DELAY_TAG, 48 - i, i, i.wrapping_mul(7)];
            let got = forwarder.forward(command.clone(), TIMEOUT).await;
            let got = got.map_err(|error| format!("concurrent forward {i} failed: {error}"))?;
            expect_eq(
                &format!("concurrent forward {i}"),
                got,
                forward_answer(&command),
            )
        });
        let appender = peer.clone();
        calls.spawn(async move {
            let request = append(u64::from(i) * 2, command_entries(1, u64::from(i % 4), 8));
            let got = appender.append_entries(request.clone(), TIMEOUT).await;
            let got = got.map_err(|error| format!("concurrent append {i} failed: {error}"))?;
            expect_eq(
                &format!("concurrent append {i}"),
                got,
                append_answer(&request),
            )
        });
    }
    let deadline = TIMEOUT + SLACK;
    while let Some(joined) = tokio::time::timeout(deadline, calls.join_next())
        .await
        .map_err(|_| format!("concurrent calls still running {deadline:?} after they began"))?
    {
        joined.map_err(|error| format!("a call task failed: {error}"))??;
    }
    Ok(())
}

/// Calls fail by their deadline while the server is gone, and succeed again through the same
/// peer once it is back.
pub async fn a_server_that_goes_away_and_comes_back(
    harness: &mut impl PeerHarness,
) -> Result<(), String> {
    let (server, peer) = setup(harness).await?;
    answer(
        "a call before the server goes",
        peer.forward(b"1".to_vec(), TIMEOUT),
    )
    .await?;
    harness.stop().await;
    for attempt in 0..3 {
        let result = bounded(
            "a call to a stopped server",
            SHORT,
            peer.forward(b"2".to_vec(), SHORT),
        )
        .await?;
        if let Ok(answer) = result {
            return Err(format!(
                "call {attempt} to a stopped server was answered: {answer:?}"
            ));
        }
    }
    harness
        .start(server)
        .await
        .map_err(|error| format!("restart failed: {error}"))?;
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        match bounded(
            "a call after the restart",
            SHORT,
            peer.forward(b"3".to_vec(), SHORT),
        )
        .await?
        {
            Ok(got) => return expect_eq("answer after the restart", got, forward_answer(b"3")),
            Err(error) if Instant::now() >= give_up => {
                return Err(format!(
                    "calls still fail 10 s after the server came back: {error}"
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// [`PeerError::NotSent`] is claimed only for requests the handler never saw: never for a
/// call the handler holds unanswered, and never for a call to a stopped server that the
/// transport delivers after all once the server is back (a queued request sent on reconnect).
pub async fn not_sent_only_for_requests_the_handler_never_saw(
    harness: &mut impl PeerHarness,
) -> Result<(), String> {
    let (server, peer) = setup(harness).await?;
    answer("a first call", peer.forward(b"warm".to_vec(), TIMEOUT)).await?;
    match bounded(
        "a stalled forward",
        SHORT,
        peer.forward(STALL.to_vec(), SHORT),
    )
    .await?
    {
        Ok(got) => return Err(format!("a stalled forward was answered: {got:?}")),
        Err(error) if error.is_definite() && server.forwards_seen().contains(&STALL.to_vec()) => {
            return Err(format!(
                "a forward the handler holds was reported not sent: {error}"
            ));
        }
        Err(_) => {}
    }
    harness.stop().await;
    let mut claimed = Vec::new();
    for attempt in 0..3u8 {
        let command = vec![b'n', attempt];
        let result = bounded(
            "a call to a stopped server",
            SHORT,
            peer.forward(command.clone(), SHORT),
        )
        .await?;
        if matches!(&result, Err(error) if error.is_definite()) {
            claimed.push(command);
        }
    }
    harness
        .start(server.clone())
        .await
        .map_err(|error| format!("restart failed: {error}"))?;
    let give_up = Instant::now() + Duration::from_secs(10);
    while bounded(
        "a call after the restart",
        SHORT,
        peer.forward(b"back".to_vec(), SHORT),
    )
    .await?
    .is_err()
    {
        if Instant::now() >= give_up {
            return Err("calls still fail 10 s after the server came back".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Room for a late delivery of anything still queued.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let seen = server.forwards_seen();
    match claimed.iter().find(|command| seen.contains(command)) {
        Some(command) => Err(format!(
            "forward {command:?} was reported not sent but reached the handler"
        )),
        None => Ok(()),
    }
}
