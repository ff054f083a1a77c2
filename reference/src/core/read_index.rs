//! Reads without the log (dissertation §6.4): ReadIndex, and lease reads (§6.4.1) when the
//! configuration enables them.
//!
//! A read asks the leader for an index to serve at. The leader
//!
//! 1. waits until it has committed an entry of its own term (its no-op, §8), so its commit
//!    index is at least that of every earlier leader; the read index is its commit index then;
//! 2. confirms it is still the leader: a majority (itself included) must answer an
//!    AppendEntries *sent after the read arrived* in its term. Requests are numbered in the
//!    order their [`Action::Send`]s are emitted and the driver reports each answer with its
//!    request's number ([`Core::step_response`]), so an answer to an older request never
//!    confirms a newer read. One round of heartbeats serves every read that arrived before it
//!    (the reads of one [`Core::read_many`] share one); at most [`MAX_ROUNDS_IN_FLIGHT`]
//!    rounds are out at once (pipelined, as appends are), later reads waiting for the next;
//!    appends and the periodic heartbeats confirm reads too;
//! 3. releases the read ([`Action::ReadReady`]) at the read index: the driver serves it once
//!    its state machine applied that far.
//!
//! A lease read (§6.4.1) skips step 2 while the leader's lease holds: a majority answered
//! requests sent at time `t` or later, and none of them grants a pre-vote before its own
//! `t + election_timeout_min` (thesis §9.6), so no other leader can exist before then. The
//! lease ends `lease_read_margin` earlier, the bound on how far clocks may drift within one
//! lease. The time is the one that comes with each input: the core reads no clock.
//!
//! A leader that steps down fails every read still waiting ([`Action::ReadFailed`]).

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use super::{Action, Core, Mutation, NotLeader, Role, quorum};
use crate::message::Message;
use crate::types::{LogIndex, NodeId};

/// A read's id, chosen by the caller and echoed in [`Action::ReadReady`] or
/// [`Action::ReadFailed`].
pub type ReadId = u64;

/// How a leader confirms a read (dissertation §6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// ReadIndex: a round of heartbeats acknowledged by a majority (§6.4).
    Index,
    /// A lease (§6.4.1) while it holds, ReadIndex otherwise (and when leases are off).
    Lease,
}

/// A leader's lease read (§6.4.1), published for reads served outside the core
/// ([`Core::lease_read`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseRead {
    /// The local time the lease ends: a read is served at once only before it.
    pub until: Duration,
    /// The read index: the commit index, of an entry of the leader's term.
    pub index: LogIndex,
}

/// The most broadcast times a leader remembers for its lease.
const MAX_ROUNDS: usize = 64;
/// The most rounds of heartbeats started for reads that a majority has not confirmed yet.
pub const MAX_ROUNDS_IN_FLIGHT: usize = 4;

/// A read waiting for its heartbeat round or for an entry of the leader's term to commit.
#[derive(Clone, Copy, Debug)]
struct PendingRead {
    id: ReadId,
    /// The sequence number of the last request emitted before the read arrived: only answers
    /// to later requests confirm it.
    after: u64,
    /// The commit index when the read arrived, if an entry of the leader's term was committed
    /// then (§6.4 step 1); otherwise the commit index when one is.
    index: Option<LogIndex>,
}

/// The leader's read state (and the request numbering every role keeps).
#[derive(Debug, Default)]
pub(super) struct Reads {
    /// The sequence number of the last [`Action::Send`] emitted (numbers start at 1).
    last_sent: u64,
    /// Per peer: the highest sequence number of a request of this leadership it answered in
    /// the leader's term.
    answered: BTreeMap<NodeId, u64>,
    /// The broadcasts of this leadership, oldest first: the sequence number before each and
    /// when it went out. Every request numbered after one went out at its time or later.
    rounds: VecDeque<(u64, Duration)>,
    /// Reads waiting, in arrival order.
    pending: VecDeque<PendingRead>,
    /// True once this leadership sent a TimeoutNow (§3.10): its target may win an election
    /// at once, whatever the voters' leases, so no lease holds for the rest of it, even after
    /// the transfer is given up (the order may still arrive).
    lease_void: bool,
}

impl Reads {
    /// Number the next request.
    pub(super) fn next_sequence(&mut self) -> u64 {
        self.last_sent += 1;
        self.last_sent
    }
}

impl Core {
    /// A client read (dissertation §6.4): confirm this leader and release it with
    /// [`Action::ReadReady`] at an index at which it is linearizable (the driver serves it
    /// once applied that far), or fail it with [`Action::ReadFailed`] if this node stops
    /// leading first. With [`ReadMode::Lease`] and a lease holding (§6.4.1), released at
    /// once. Refused by a node that is not the leader, unless it is a follower of a known
    /// leader with `follower_reads` on: it then asks the leader for the read index and
    /// releases the read once it applied that far (`follower_read.rs`).
    pub fn read(&mut self, now: Duration, id: ReadId, mode: ReadMode) -> Result<(), NotLeader> {
        self.read_many(now, &[id], mode)
    }

    /// [`Core::read`] for several reads at once: they share one round of heartbeats.
    pub fn read_many(
        &mut self,
        now: Duration,
        ids: &[ReadId],
        mode: ReadMode,
    ) -> Result<(), NotLeader> {
        if self.role != Role::Leader {
            if !self.reads_through_leader() {
                return Err(NotLeader {
                    leader_hint: self.leader,
                });
            }
            let before = self.invariant_snapshot();
            self.advance_clock(now);
            self.read_through_leader(ids, mode);
            self.finish_input(before);
            return Ok(());
        }
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        let index = self
            .committed_in_term()
            .then_some(self.commit_index)
            .or_else(|| {
                self.mutations
                    .breaks(Mutation::ReadBeforeTermCommitted)
                    .then_some(self.commit_index)
            });
        let leased = mode == ReadMode::Lease && index.is_some() && self.lease_holds();
        for &id in ids {
            match index {
                Some(index) if leased => self.emit(Action::ReadReady { id, index }),
                _ => {
                    let after = self.reads.last_sent;
                    self.reads
                        .pending
                        .push_back(PendingRead { id, after, index });
                }
            }
        }
        self.finish_input(before);
        Ok(())
    }

    /// Handle the answer `message` from `from` to the request this core emitted with
    /// number `sequence` ([`Action::Send`]): as [`Core::step`], and an AppendEntries answer in this
    /// leader's term confirms the reads that arrived before that request (§6.4).
    pub fn step_response(&mut self, now: Duration, from: NodeId, sequence: u64, message: Message) {
        if let Message::AppendEntriesResponse(response) = &message
            && self.role == Role::Leader
            && response.term == self.term()
            && self.progress.contains_key(&from)
        {
            let answered = self.reads.answered.entry(from).or_default();
            *answered = (*answered).max(sequence);
        }
        self.step(now, from, message);
    }

    /// The number of the last request emitted ([`Action::Send`]s are numbered from 1 in the
    /// order emitted; 0 before any).
    pub fn last_request_number(&self) -> u64 {
        self.reads.last_sent
    }

    /// The reads waiting for a heartbeat round or an entry of this leader's term (for tests).
    pub fn pending_reads(&self) -> usize {
        self.reads.pending.len()
    }

    /// Whether the entry at the commit index is of the current term (§6.4 step 1, §8).
    fn committed_in_term(&self) -> bool {
        self.log.term(self.commit_index) == Some(self.term())
    }

    /// A new leadership starts with no answers and no broadcasts.
    pub(super) fn reset_reads_for_leadership(&mut self) {
        self.reads.answered.clear();
        self.reads.rounds.clear();
        self.reads.lease_void = false;
    }

    /// A TimeoutNow goes out (§3.10): this leadership's lease is void from now on.
    pub(super) fn void_lease(&mut self) {
        self.reads.lease_void = true;
    }

    /// Note that a broadcast to every peer starts now: it opens a round.
    pub(super) fn note_broadcast(&mut self) {
        if self.reads.rounds.len() == MAX_ROUNDS {
            self.reads.rounds.pop_front();
        }
        self.reads
            .rounds
            .push_back((self.reads.last_sent, self.now));
    }

    /// Send every peer what it lacks, or a heartbeat, to confirm the waiting reads.
    fn broadcast_read_round(&mut self) {
        self.note_broadcast();
        for peer in self.peers.clone() {
            if !self.send_append(peer) {
                self.send_heartbeat(peer);
            }
        }
    }

    /// The highest sequence number such that a majority answered a request numbered at least
    /// that (this node counts as having answered everything).
    fn confirmed_sequence(&self) -> u64 {
        let answered = |peer: NodeId| {
            if peer == self.id {
                u64::MAX
            } else {
                self.reads.answered.get(&peer).copied().unwrap_or(0)
            }
        };
        quorum::joint::committed_index(self.membership(), answered, self.counting())
    }

    /// After every input: release the reads a majority confirmed, fail them all if this node
    /// no longer leads.
    pub(super) fn settle_reads(&mut self) {
        if self.reads.pending.is_empty() {
            return;
        }
        if self.role != Role::Leader {
            let leader_hint = self.leader;
            for read in std::mem::take(&mut self.reads.pending) {
                self.emit(Action::ReadFailed {
                    id: read.id,
                    leader_hint,
                });
            }
            return;
        }
        if self.committed_in_term() {
            let commit_index = self.commit_index;
            for read in &mut self.reads.pending {
                read.index.get_or_insert(commit_index);
            }
        }
        let confirmed = if self.mutations.breaks(Mutation::ReadWithoutHeartbeat) {
            u64::MAX
        } else {
            self.confirmed_sequence()
        };
        while let Some(read) = self.reads.pending.front().copied() {
            let Some(index) = read.index else { break };
            if read.after >= confirmed {
                break;
            }
            self.reads.pending.pop_front();
            self.emit(Action::ReadReady { id: read.id, index });
        }
        // A read that arrived after the latest round began needs a round of its own.
        let latest = self.reads.rounds.back().map(|(before, _)| *before);
        let unserved = self
            .reads
            .pending
            .back()
            .is_some_and(|read| latest.is_none_or(|before| read.after > before));
        let in_flight = self
            .reads
            .rounds
            .iter()
            .filter(|(before, _)| *before >= confirmed)
            .count();
        if unserved && in_flight < MAX_ROUNDS_IN_FLIGHT {
            self.broadcast_read_round();
        }
    }

    /// §6.4.1, for a driver that serves lease reads outside the core: while this node leads,
    /// has committed an entry of its term and its lease holds, the local time the lease ends
    /// (a read whose local time, never earlier than any time given to the core, is before it
    /// may be served at once) and the read index to serve at (the commit index). `None`
    /// whenever [`Core::read`] with [`ReadMode::Lease`] would not release a read at once.
    /// Valid until the next input; a driver publishes it after every input, before it
    /// executes the actions (a TimeoutNow among them voids the lease, §3.10).
    pub fn lease_read(&self) -> Option<LeaseRead> {
        if self.role != Role::Leader {
            return None;
        }
        let index = self
            .committed_in_term()
            .then_some(self.commit_index)
            .or_else(|| {
                self.mutations
                    .breaks(Mutation::ReadBeforeTermCommitted)
                    .then_some(self.commit_index)
            })?;
        let until = self.lease_expiry()?;
        (self.now < until).then_some(LeaseRead { until, index })
    }

    /// §6.4.1: whether a majority answered requests sent within the lease, shortened by the
    /// drift margin (see [`Core::lease_expiry`]).
    fn lease_holds(&self) -> bool {
        self.lease_expiry().is_some_and(|until| self.now < until)
    }

    /// §6.4.1: when the lease ends: the start of the latest requests a majority answered plus
    /// the election timeout, shortened by the drift margin; `None` during a leadership
    /// transfer, once this leadership sent a TimeoutNow (its target campaigns at once,
    /// §3.10), before any answer, and when leases are off.
    fn lease_expiry(&self) -> Option<Duration> {
        let margin = self.config.lease_read_margin?;
        if self.transfer.is_some() || self.reads.lease_void {
            return None;
        }
        let margin = if self.mutations.breaks(Mutation::LeaseWithoutDriftMargin) {
            Duration::ZERO
        } else {
            margin
        };
        let lease = self.config.election_timeout_min.checked_sub(margin)?;
        self.lease_start().map(|start| start + lease)
    }

    /// When the oldest request of the latest ones a majority answered was sent, at the
    /// earliest (`None` before any broadcast of this leadership).
    fn lease_start(&self) -> Option<Duration> {
        let sent_at = |sequence: u64| {
            self.reads
                .rounds
                .iter()
                .rev()
                .find(|(before, _)| *before < sequence)
                .map(|(_, at)| *at)
        };
        let nanos = |peer: NodeId| {
            if peer == self.id {
                return u64::MAX;
            }
            let sequence = self.reads.answered.get(&peer).copied().unwrap_or(0);
            sent_at(sequence).map_or(0, |at| at.as_nanos() as u64 + 1)
        };
        let start = quorum::joint::committed_index(self.membership(), nanos, self.counting());
        (start > 0 && start < u64::MAX).then(|| Duration::from_nanos(start - 1))
    }
}

#[cfg(test)]
mod tests;
