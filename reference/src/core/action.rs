//! What the core asks its driver to do, and the roles it reports.

use serde::{Deserialize, Serialize};

use super::ReadId;
use crate::membership::Membership;
use crate::message::Message;
use crate::types::{Entry, HardState, LogIndex, NodeId, Term};

/// The role a node plays (§5.1), plus the pre-vote stage of Ongaro's thesis (§9.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Answers leaders and candidates; starts a pre-vote when its election timer fires.
    Follower,
    /// Asks for pre-votes for `term + 1` without changing its term.
    PreCandidate,
    /// Campaigns for votes in its current term (§5.2).
    Candidate,
    /// Accepts commands and replicates its log (§5.3).
    Leader,
}

/// One thing the driver must do, in the order the core emitted it.
///
/// The driver executes actions strictly in order, and a storage action
/// ([`Action::SaveHardState`], [`Action::AppendToLog`], [`Action::TruncateLog`],
/// [`Action::CompactLog`]) must be durable
/// before the next action executes: this is how no vote and no append acknowledgement leaves the
/// node before the state it depends on is on disk.
///
/// One thing a driver must *not* assume is that an AppendEntries it sends carries only entries
/// that are durable locally. A leader emits the AppendEntries for newly appended entries
/// before their [`Action::AppendToLog`] (Raft thesis §10.2.1: the leader writes its own log in
/// parallel with replicating it), so a driver that starts sends without waiting for them lets
/// the followers' writes overlap the leader's. The core keeps this safe on its side: the leader
/// counts itself toward a commit majority only for entries whose `AppendToLog` came earlier
/// in the action lists, so every [`Action::Apply`] (and every commit index it sends) executes
/// after the applied entries are durable on the leader too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Persist the hard state (current term, voted-for); durable before any later action.
    SaveHardState(HardState),
    /// Append these entries (contiguous, the first right after the log's last index); durable
    /// before any later action. On a leader, the [`Action::Send`]s replicating these entries
    /// come *before* this action in the same list (thesis §10.2.1); the leader counts them as
    /// its own only once this action is executed, so a commit that needs its copy is always
    /// emitted after it.
    AppendToLog(Vec<Entry>),
    /// Remove every entry with index `>=` this one; durable before any later action.
    TruncateLog(LogIndex),
    /// Send a request (RequestVote or AppendEntries) to a peer. Requests are numbered in the
    /// order the core emits them, from 1 over its life ([`super::Core::last_request_number`]):
    /// the driver counts the `Send`s it executes the same way. It must report the outcome:
    /// the response through [`super::Core::step_response`] with the request's number (or
    /// [`super::Core::step`], which confirms no read, §6.4), or a failure through
    /// [`super::Core::send_failed`]. A leader's AppendEntries may carry entries whose
    /// [`Action::AppendToLog`] comes later in the same list (thesis §10.2.1); the driver may
    /// start the send before executing that append, and should not wait for the response.
    Send {
        /// The peer to call.
        to: NodeId,
        /// The request.
        message: Message,
    },
    /// The response to the request being handled by [`super::Core::step`]; exactly one per
    /// request, after the storage actions it depends on.
    Reply(Message),
    /// Entries that became committed, in index order, each exactly once (no-ops included: the
    /// driver skips them when applying commands). Always after these entries are durable on this
    /// node: loaded at start, or an `AppendToLog` earlier in this list or an earlier one.
    Apply(Vec<Entry>),
    /// Snapshot the state machine now (Raft §7): every [`Action::Apply`] up to `index` came
    /// before this action and none after it, so the state machine has applied exactly the
    /// entries up to `index` (of term `term`). The driver takes a frozen copy
    /// ([`crate::StateMachine::snapshot`]), writes it to its snapshot store away from the event
    /// loop, and reports the durable snapshot through [`super::Core::snapshot_taken`] (or a
    /// failure through [`super::Core::snapshot_failed`]). At most one is outstanding.
    TakeSnapshot {
        /// The last index the snapshot covers (the commit index).
        index: LogIndex,
        /// The term of the entry at `index`.
        term: Term,
        /// The configuration as of `index` (dissertation §5.4: a snapshot's metadata holds
        /// the latest configuration it covers), which the snapshot must carry.
        membership: Membership,
    },
    /// Compact the log through `index` ([`crate::Log::compact`]), whose term is `term`;
    /// always behind a snapshot that is durable already. Durable before any later action.
    CompactLog {
        /// The last index to discard.
        index: LogIndex,
        /// Its term.
        term: Term,
    },
    /// The leader's log no longer holds the entries follower `to` needs: stream it the
    /// latest snapshot (at least through `last_included_index`) with InstallSnapshot
    /// chunks in `term` (§7, Figure 13), one transfer per follower at a time, and report the
    /// outcome through [`super::Core::snapshot_sent`].
    SendSnapshot {
        /// The follower.
        to: NodeId,
        /// The leader's term the transfer belongs to.
        term: Term,
        /// The snapshot's last included index.
        last_included_index: LogIndex,
        /// The snapshot's last included term.
        last_included_term: Term,
    },
    /// Serve read `id` (from [`super::Core::read`]) once the state machine applied through
    /// `index`: every `Apply` up to the commit index came before this action, so on the
    /// leader it is applied already; the read is linearizable at `index` (§6.4).
    ReadReady {
        /// The read.
        id: ReadId,
        /// The read index.
        index: LogIndex,
    },
    /// Read `id` cannot be confirmed: this node stopped leading before it was. Definite: a
    /// read changes nothing; ask `leader_hint`.
    ReadFailed {
        /// The read.
        id: ReadId,
        /// The leader this node knows of, if any.
        leader_hint: Option<NodeId>,
    },
    /// The role, term or known leader changed since the last `RoleChanged`. Roles a node passes
    /// through within one input (a single node goes from follower to leader in one tick) are
    /// not reported.
    RoleChanged {
        /// The new role.
        role: Role,
        /// The current term.
        term: Term,
        /// The leader this node knows of in `term`, if any.
        leader: Option<NodeId>,
    },
}
