//! Shared builders for the core's unit tests: messages, entries, and cores in a known state.
#![allow(dead_code)]

use std::time::Duration;

use rafty::core::{Action, Core, Role};
use rafty::{
    AppendEntries, AppendEntriesResponse, Config, ConflictHint, Entry, HardState, LogIndex,
    Message, NodeId, Payload, RequestVote, RequestVoteResponse, Term,
};

pub fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

/// 150-300 ms elections, 50 ms heartbeats, generous batches.
pub fn config() -> Config {
    Config {
        election_timeout_min: ms(150),
        election_timeout_max: ms(300),
        heartbeat_interval: ms(50),
        ..Config::default()
    }
}

pub fn command(term: Term, index: LogIndex) -> Entry {
    Entry {
        term,
        index,
        payload: Payload::Command(format!("command {index}").into_bytes()),
    }
}

pub fn noop(term: Term, index: LogIndex) -> Entry {
    Entry {
        term,
        index,
        payload: Payload::Noop,
    }
}

/// A log whose entry `i + 1` has term `terms[i]`.
pub fn log_with_terms(terms: &[Term]) -> Vec<Entry> {
    terms
        .iter()
        .zip(1..)
        .map(|(&term, index)| command(term, index))
        .collect()
}

pub fn hard_state(current_term: Term, voted_for: Option<NodeId>) -> HardState {
    HardState {
        current_term,
        voted_for,
    }
}

/// Node `id` of a cluster with ids `1..=size`, started at time 0.
pub fn core_in_cluster(
    id: NodeId,
    size: u64,
    config: Config,
    hard_state: HardState,
    entries: Vec<Entry>,
) -> Core {
    let peers = (1..=size).filter(|peer| *peer != id).collect();
    let mut core = Core::new(id, peers, config, hard_state, entries, Duration::ZERO, 7);
    core.set_check_invariants(true);
    core
}

pub fn vote_request(term: Term, candidate: NodeId, last: (LogIndex, Term), pre: bool) -> Message {
    Message::RequestVote(RequestVote {
        term,
        candidate_id: candidate,
        last_log_index: last.0,
        last_log_term: last.1,
        pre_vote: pre,
        transfer: false,
    })
}

pub fn vote_response(term: Term, granted: bool, pre: bool) -> Message {
    Message::RequestVoteResponse(RequestVoteResponse {
        term,
        vote_granted: granted,
        pre_vote: pre,
    })
}

pub fn append(
    term: Term,
    leader: NodeId,
    prev: (LogIndex, Term),
    entries: Vec<Entry>,
    leader_commit: LogIndex,
) -> Message {
    Message::AppendEntries(AppendEntries {
        term,
        leader_id: leader,
        prev_log_index: prev.0,
        prev_log_term: prev.1,
        entries,
        leader_commit,
    })
}

pub fn append_ok(term: Term, match_index: LogIndex) -> Message {
    Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        success: true,
        match_index,
        conflict: None,
    })
}

pub fn append_rejected(term: Term, prev: LogIndex, hint: Option<ConflictHint>) -> Message {
    Message::AppendEntriesResponse(AppendEntriesResponse {
        term,
        success: false,
        match_index: prev,
        conflict: hint,
    })
}

pub fn send(to: NodeId, message: Message) -> Action {
    Action::Send { to, message }
}

pub fn role_changed(role: Role, term: Term, leader: Option<NodeId>) -> Action {
    Action::RoleChanged { role, term, leader }
}

/// Drive `core` (node 1 of its cluster) through pre-vote and election with just enough
/// grants, then discard the actions. Returns the time of the election.
pub fn elect(core: &mut Core) -> Duration {
    let now = core.next_deadline();
    core.tick(now);
    let quorum = rafty::core::quorum::quorum_size(core.peers().len() + 1);
    let voters: Vec<NodeId> = core.peers().iter().copied().take(quorum - 1).collect();
    let next_term = core.term() + 1;
    for &voter in &voters {
        if core.role() == Role::PreCandidate {
            core.step(now, voter, vote_response(next_term, true, true));
        }
    }
    for &voter in &voters {
        if core.role() == Role::Candidate {
            core.step(now, voter, vote_response(next_term, true, false));
        }
    }
    assert_eq!(core.role(), Role::Leader, "elect() failed");
    core.take_actions();
    now
}

/// The `Send` actions in `actions`, as (to, AppendEntries).
pub fn sent_appends(actions: &[Action]) -> Vec<(NodeId, AppendEntries)> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Send {
                to,
                message: Message::AppendEntries(request),
            } => Some((*to, request.clone())),
            _ => None,
        })
        .collect()
}
