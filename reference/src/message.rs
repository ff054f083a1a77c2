//! The RPCs of Figure 2, with the additions production Raft libraries make: a pre-vote flag
//! (§9.6 of Ongaro's thesis) and a conflict hint for fast backtracking (§5.3, end).

use serde::{Deserialize, Serialize};

use crate::types::{Entry, LogIndex, NodeId, Term};

/// RequestVote arguments (Figure 2). With `pre_vote`, the receiver only says whether it *would*
/// vote for the candidate in `term`; it changes neither its term nor its vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVote {
    /// The candidate's term (for a pre-vote: the term it would campaign in).
    pub term: Term,
    /// The candidate requesting the vote.
    pub candidate_id: NodeId,
    /// Index of the candidate's last log entry (§5.4.1).
    pub last_log_index: LogIndex,
    /// Term of the candidate's last log entry (§5.4.1).
    pub last_log_term: Term,
    /// True for a pre-vote round, which changes no state on the receiver.
    pub pre_vote: bool,
    /// True when the candidate campaigns because its leader ordered it to
    /// ([`TimeoutNow`], leadership transfer, §3.10; etcd's `campaignTransfer`). A voter
    /// grants such a vote even within an election timeout of hearing from a leader, where
    /// with lease reads on it refuses every other (§4.2.3, §6.4.1): the leader voided its
    /// lease when it sent the order. Absent from older encodings, where it reads as `false`
    /// (the TCP transport carries it as a request kind of its own from protocol version 5).
    #[serde(default)]
    pub transfer: bool,
}

/// RequestVote results (Figure 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestVoteResponse {
    /// The receiver's current term, for the candidate to update itself. For a rejected pre-vote
    /// this may be lower than the requested term.
    pub term: Term,
    /// True means the candidate received the (pre-)vote.
    pub vote_granted: bool,
    /// Echoes the request's `pre_vote` flag.
    pub pre_vote: bool,
}

/// AppendEntries arguments (Figure 2); with no entries it is a heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntries {
    /// The leader's term.
    pub term: Term,
    /// The leader, so followers can redirect clients.
    pub leader_id: NodeId,
    /// Index of the log entry immediately preceding the new ones.
    pub prev_log_index: LogIndex,
    /// Term of the entry at `prev_log_index`.
    pub prev_log_term: Term,
    /// Entries to store, in index order starting at `prev_log_index + 1`; empty for a heartbeat.
    pub entries: Vec<Entry>,
    /// The leader's commit index.
    pub leader_commit: LogIndex,
}

/// AppendEntries results (Figure 2), with a conflict hint for fast backtracking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendEntriesResponse {
    /// The receiver's current term, for the leader to update itself.
    pub term: Term,
    /// True if the follower contained an entry matching `prev_log_index` and `prev_log_term`.
    pub success: bool,
    /// On success: the index of the last entry known to match the leader's log
    /// (`prev_log_index + entries.len()`). On failure: the request's `prev_log_index`, so the
    /// leader can tell a stale rejection from a current one.
    pub match_index: LogIndex,
    /// On failure, where the leader should retry from: the follower's hint (§5.3), see
    /// [`ConflictHint`].
    pub conflict: Option<ConflictHint>,
}

/// The follower's hint on rejection: if its log is shorter than `prev_log_index`, `term` is
/// `None` and `index` is its last index + 1; otherwise `term` is the term of its entry at
/// `prev_log_index` and `index` the first index it holds with that term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictHint {
    /// The conflicting term, or `None` when the follower's log is too short.
    pub term: Option<Term>,
    /// The first index of `term` in the follower's log, or its last index + 1.
    pub index: LogIndex,
}

/// InstallSnapshot arguments (Figure 13), one chunk of the leader's snapshot. Chunks go in
/// order of `offset`; the receiver writes each at its offset and restores the whole snapshot
/// when `done` arrives. A chunk at an unexpected offset is answered with the offset the
/// receiver expects, so a leader resumes an interrupted transfer instead of restarting it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshot {
    /// The leader's term.
    pub term: Term,
    /// The leader, so followers can redirect clients.
    pub leader_id: NodeId,
    /// The snapshot replaces all entries up to and including this index.
    pub last_included_index: LogIndex,
    /// The term of `last_included_index`.
    pub last_included_term: Term,
    /// The snapshot's total size in bytes.
    pub size_bytes: u64,
    /// CRC32C of the whole snapshot; the receiver checks it before restoring.
    pub checksum: u32,
    /// The byte offset of this chunk in the snapshot.
    pub offset: u64,
    /// The chunk's bytes.
    pub data: Vec<u8>,
    /// True for the last chunk.
    pub done: bool,
}

/// InstallSnapshot results (Figure 13), with where the next chunk should start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstallSnapshotResponse {
    /// The receiver's current term, for the leader to update itself.
    pub term: Term,
    /// Echoes the request's `last_included_index`, so the leader can tell answers about an
    /// older snapshot from current ones.
    pub last_included_index: LogIndex,
    /// The offset the receiver expects next (the bytes it holds of this snapshot). After the
    /// last chunk was accepted, the snapshot's size.
    pub next_offset: u64,
    /// True once the receiver holds the whole snapshot and has installed it, or already had a
    /// state at least as recent (its log or snapshot covers `last_included_index` with
    /// `last_included_term`): the leader may then send entries after `last_included_index`.
    pub installed: bool,
}

/// TimeoutNow (dissertation §3.10): the leader tells the target of a leadership transfer,
/// whose log it has brought up to date, to start an election at once, without waiting for its
/// election timer and without a pre-vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutNow {
    /// The leader's term.
    pub term: Term,
    /// The leader handing over.
    pub leader_id: NodeId,
}

/// The answer to a [`TimeoutNow`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutNowResponse {
    /// The receiver's current term (the new one if it started campaigning).
    pub term: Term,
    /// True if the receiver started an election.
    pub campaigning: bool,
}

/// A follower's request for a read index (dissertation §6.4, follower reads): the leader
/// confirms it still leads as for a read of its own and answers the index at which the
/// follower may serve, once it has applied that far. Not a Raft RPC of Figure 2: it changes no
/// state on either side, and its term is only informative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadIndexRequest {
    /// The follower's current term.
    pub term: Term,
    /// The follower asking.
    pub follower_id: NodeId,
    /// The follower's number for this request, echoed in the answer.
    pub request_id: u64,
    /// True: the leader may answer from its lease (§6.4.1) instead of a heartbeat round.
    pub lease: bool,
}

/// The answer to a [`ReadIndexRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadIndexResponse {
    /// The answering node's current term.
    pub term: Term,
    /// The request's `request_id`.
    pub request_id: u64,
    /// The read index, confirmed by the leader; `None` when the receiver is not the leader or
    /// stopped leading before the read was confirmed.
    pub read_index: Option<LogIndex>,
    /// The leader the receiver knows of, when it refused.
    pub leader_hint: Option<NodeId>,
}

/// Every protocol message a node exchanges with its peers. Requests travel through
/// [`crate::Peer`] calls; responses come back as their results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// A (pre-)vote request.
    RequestVote(RequestVote),
    /// The answer to a (pre-)vote request.
    RequestVoteResponse(RequestVoteResponse),
    /// Log replication or heartbeat.
    AppendEntries(AppendEntries),
    /// The answer to an AppendEntries.
    AppendEntriesResponse(AppendEntriesResponse),
    /// A leadership transfer's order to campaign now (§3.10).
    TimeoutNow(TimeoutNow),
    /// The answer to a TimeoutNow.
    TimeoutNowResponse(TimeoutNowResponse),
    /// A follower asks the leader for a read index (§6.4).
    ReadIndex(ReadIndexRequest),
    /// The answer to a ReadIndex.
    ReadIndexResponse(ReadIndexResponse),
}

impl Message {
    /// The term the message carries.
    pub fn term(&self) -> Term {
        match self {
            Message::RequestVote(m) => m.term,
            Message::RequestVoteResponse(m) => m.term,
            Message::AppendEntries(m) => m.term,
            Message::AppendEntriesResponse(m) => m.term,
            Message::TimeoutNow(m) => m.term,
            Message::TimeoutNowResponse(m) => m.term,
            Message::ReadIndex(m) => m.term,
            Message::ReadIndexResponse(m) => m.term,
        }
    }
}
