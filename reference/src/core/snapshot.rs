//! Snapshots and log compaction in the core (Raft §7, Figure 13; Ongaro's dissertation,
//! chapter 5): when to take a snapshot, compacting the log behind a durable one, sending a
//! snapshot to a follower whose entries are gone, and installing one from the leader.
//!
//! The core never touches snapshot bytes: the driver writes, streams, receives and restores
//! them, and reports each outcome back as an input here. The choices follow etcd/raft and
//! hashicorp/raft: a snapshot is taken of the applied (= committed) state every
//! `snapshot_threshold_entries` entries or `snapshot_threshold_bytes` bytes; the log keeps
//! `snapshot_keep_entries` entries behind it for slow followers (etcd's
//! `SnapshotCatchUpEntries`, hashicorp's `TrailingLogs`); a follower whose next index was
//! compacted away is sent the snapshot, one transfer at a time, and probed from the
//! snapshot's index + 1 once it installed it (etcd's `StateSnapshot`). While a follower is in
//! snapshot catch-up (from the start of a transfer until its match index reaches the leader's
//! latest snapshot), a leader's compaction keeps the entries after the snapshot it was sent,
//! up to `snapshot_catch_up_hold_entries` more than it would keep otherwise (openraft's purge
//! lag, etcd's check against a follower's pending snapshot): else a snapshot taken while the
//! follower installs compacts its next entries away and it is sent a snapshot again, for
//! ever when snapshots come faster than one transfer takes.

use std::time::Duration;

use super::progress::ReplicationState;
use super::{Action, Core, Mutation, Role};
use crate::membership::Membership;
use crate::message::{InstallSnapshot, InstallSnapshotResponse};
use crate::snapshot::SnapshotMeta;
use crate::types::{Entry, HardState, LogIndex, NodeId, Term};

/// What a node restarts from: its hard state, its latest snapshot (restored into the state
/// machine already) and its log after the compacted prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartState {
    /// The persisted hard state.
    pub hard_state: HardState,
    /// The latest durable snapshot's last included index and term, if any.
    pub snapshot: Option<(LogIndex, Term)>,
    /// The configuration the snapshot carries (as of its last included index), if any; a
    /// snapshot written before configurations were carried has none, and the bootstrap
    /// configuration stands in for it.
    pub snapshot_membership: Option<Membership>,
    /// The log's compacted index (`first_index() - 1`) and its term; `(0, 0)` if never
    /// compacted.
    pub compacted: (LogIndex, Term),
    /// The log's entries, contiguous from `compacted.0 + 1`.
    pub entries: Vec<Entry>,
}

/// The core's answer to one InstallSnapshot chunk ([`Core::install_snapshot_request`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstallDecision {
    /// Figure 13 step 1: the leader's term is stale (or the request is malformed): reply at
    /// once with this term, not installed, and drop the chunk.
    Refuse {
        /// The receiver's current term.
        term: Term,
    },
    /// The node's commit index already covers the snapshot: answer installed without
    /// touching any state (a snapshot never moves a node backwards).
    Stale {
        /// The receiver's current term.
        term: Term,
    },
    /// Store the chunk; once the whole snapshot is received and verified, restore it and
    /// report [`Core::snapshot_installed`].
    Accept {
        /// The receiver's current term.
        term: Term,
    },
}

impl Core {
    /// The driver finished writing the snapshot asked for by [`Action::TakeSnapshot`]: it is
    /// durable in the store. The core records it and compacts the log behind it, keeping
    /// `snapshot_keep_entries` entries ([`Action::CompactLog`]).
    pub fn snapshot_taken(&mut self, now: Duration, meta: SnapshotMeta) {
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        self.snapshot_pending = None;
        let index = meta.last_included_index;
        if index > self.snapshot.0 {
            self.snapshot = (index, meta.last_included_term);
            self.configurations.snapshot(index, None);
            let compact_to = if self.mutations.breaks(Mutation::CompactPastSnapshot) {
                self.log.last_index()
            } else {
                self.hold_for_catch_up(
                    index,
                    index.saturating_sub(self.config.snapshot_keep_entries),
                )
            };
            self.compact_log(compact_to);
        }
        self.finish_input(before);
    }

    /// The snapshot asked for could not be taken or written; a later commit asks again.
    pub fn snapshot_failed(&mut self, now: Duration) {
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        self.snapshot_pending = None;
        self.finish_input(before);
    }

    /// One chunk of an InstallSnapshot arrived (§7, Figure 13). Like an AppendEntries, a
    /// current leader's chunk makes this node its follower (term updated, election timer
    /// reset); the decision says what to do with the chunk. The driver executes the
    /// actions this emits (a new term is saved) before it replies.
    pub fn install_snapshot_request(
        &mut self,
        now: Duration,
        request: &InstallSnapshot,
    ) -> InstallDecision {
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        let decision = self.decide_install(request);
        self.finish_input(before);
        decision
    }

    fn decide_install(&mut self, request: &InstallSnapshot) -> InstallDecision {
        if request.term < self.term() {
            return InstallDecision::Refuse { term: self.term() };
        }
        if request.term == self.term() && self.role == Role::Leader {
            tracing::error!(
                node = self.id,
                other = request.leader_id,
                term = request.term,
                "two leaders in one term: a peer broke Election Safety"
            );
            return InstallDecision::Refuse { term: self.term() };
        }
        if request.last_included_term > request.term || request.last_included_term == 0 {
            tracing::error!(node = self.id, ?request.last_included_term, "malformed InstallSnapshot");
            return InstallDecision::Refuse { term: self.term() };
        }
        self.become_follower(request.term, Some(request.leader_id));
        self.last_leader_contact = Some(self.now);
        self.reset_election_timer();
        if self.snapshot_is_stale(request.last_included_index) {
            InstallDecision::Stale { term: self.term() }
        } else {
            InstallDecision::Accept { term: self.term() }
        }
    }

    /// Whether a snapshot through `index` would move this node backwards: its commit index
    /// (and so its applied state) covers it already. The driver asks right before restoring.
    pub fn snapshot_is_stale(&self, index: LogIndex) -> bool {
        index <= self.commit_index && !self.mutations.breaks(Mutation::InstallStaleSnapshot)
    }

    /// The leader's snapshot `meta` is durable in the store and restored into the state
    /// machine (Figure 13 steps 5-8): if the log holds its last included entry, keep the
    /// entries after it, else discard the whole log; the commit index (and so the applied
    /// index) becomes its last included index. A stale snapshot changes nothing.
    ///
    /// `membership` is the configuration the snapshot carries (`None` for a snapshot from
    /// before configurations were carried): it is in effect unless the kept log names a later
    /// one (dissertation §4.1, §5.4).
    pub fn snapshot_installed(
        &mut self,
        now: Duration,
        meta: SnapshotMeta,
        membership: Option<Membership>,
    ) {
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        let (index, term) = (meta.last_included_index, meta.last_included_term);
        if !self.snapshot_is_stale(index) {
            if self.log.term(index) == Some(term) {
                self.configurations.snapshot(index, membership);
            } else {
                self.configurations.reset(index, membership);
            }
            self.log.compact(index, term);
            self.configuration_changed();
            self.persisted_index = self.log.last_index();
            self.commit_index = index;
            self.snapshot = (index, term);
            self.bytes_since_snapshot = 0;
            self.emit(Action::CompactLog { index, term });
        }
        self.finish_input(before);
    }

    /// The transfer of a snapshot to `to` in the leader's `term` ended: `response` is the
    /// follower's last answer, `None` if the transfer failed (the follower is probed again
    /// at the next heartbeat, which retries).
    pub fn snapshot_sent(
        &mut self,
        now: Duration,
        to: NodeId,
        term: Term,
        response: Option<InstallSnapshotResponse>,
    ) {
        let before = self.invariant_snapshot();
        self.advance_clock(now);
        self.handle_snapshot_sent(to, term, response);
        self.finish_input(before);
    }

    fn handle_snapshot_sent(
        &mut self,
        to: NodeId,
        term: Term,
        response: Option<InstallSnapshotResponse>,
    ) {
        if let Some(response) = &response
            && response.term > self.term()
        {
            return self.become_follower(response.term, None);
        }
        if self.role != Role::Leader || term != self.term() {
            return;
        }
        let last_index = self.log.last_index();
        let Some(progress) = self.progress.get_mut(&to) else {
            return;
        };
        if progress.state != ReplicationState::Snapshot {
            return;
        }
        match response {
            Some(response) if response.installed && response.last_included_index <= last_index => {
                progress.recent_active = true;
                progress.match_index = progress.match_index.max(response.last_included_index);
                progress.probe_from(response.last_included_index + 1);
                self.maybe_commit();
                self.send_append(to);
            }
            _ => progress.probe_from(progress.match_index + 1),
        }
    }

    /// The leader has compacted the entries `peer` needs: send it the snapshot instead.
    pub(super) fn start_snapshot_send(&mut self, peer: NodeId) {
        let Some(progress) = self.progress.get_mut(&peer) else {
            return;
        };
        progress.state = ReplicationState::Snapshot;
        progress.snapshot_catch_up = Some(self.snapshot.0);
        let (last_included_index, last_included_term) = self.snapshot;
        self.emit(Action::SendSnapshot {
            to: peer,
            term: self.term(),
            last_included_index,
            last_included_term,
        });
    }

    /// The snapshot policy: ask for a snapshot of the applied state once enough entries or
    /// bytes were committed since the last one, and none is being taken. Called right after
    /// an [`Action::Apply`], so the state machine is at the commit index when it runs.
    pub(super) fn maybe_take_snapshot(&mut self) {
        if self.snapshot_pending.is_some() {
            return;
        }
        let entries = self.commit_index - self.snapshot.0;
        let by_entries = self.config.snapshot_threshold_entries > 0
            && entries >= self.config.snapshot_threshold_entries;
        let by_bytes = self.config.snapshot_threshold_bytes > 0
            && self.bytes_since_snapshot >= self.config.snapshot_threshold_bytes;
        if !(by_entries || by_bytes) {
            return;
        }
        let index = if self.mutations.breaks(Mutation::SnapshotUncommitted) {
            self.log.last_index()
        } else {
            self.commit_index
        };
        let term = self
            .log
            .term(index)
            .expect("the commit index is in the log");
        self.snapshot_pending = Some(index);
        self.bytes_since_snapshot = 0;
        let membership = self.configurations.at(index).clone();
        self.emit(Action::TakeSnapshot {
            index,
            term,
            membership,
        });
    }

    /// Where a leader's compaction behind its new snapshot through `snapshot` stops instead of
    /// `wanted`: at the lowest index a follower in snapshot catch-up has (the snapshot it was
    /// sent, or its match index if higher), but no more than `snapshot_catch_up_hold_entries`
    /// below `wanted`, or the entries one snapshot compacts (`snapshot_threshold_entries -
    /// snapshot_keep_entries`) if that is more, so a follower sent the previous snapshot is
    /// always covered. A follower whose match index reached `snapshot` is caught up: its
    /// catch-up ends here. Followers and candidates compact to `wanted`.
    fn hold_for_catch_up(&mut self, snapshot: LogIndex, wanted: LogIndex) -> LogIndex {
        let hold = self.config.snapshot_catch_up_hold_entries;
        if self.role != Role::Leader || hold == 0 {
            return wanted;
        }
        let one_snapshot = self
            .config
            .snapshot_threshold_entries
            .saturating_sub(self.config.snapshot_keep_entries);
        let floor = wanted.saturating_sub(hold.max(one_snapshot));
        let mut compact_to = wanted;
        for progress in self.progress.values_mut() {
            let Some(sent) = progress.snapshot_catch_up else {
                continue;
            };
            let has = sent.max(progress.match_index);
            if has >= snapshot {
                progress.snapshot_catch_up = None;
            } else {
                compact_to = compact_to.min(has);
            }
        }
        compact_to.max(floor)
    }

    /// Compact the log through `index` (if that is past what is compacted already).
    fn compact_log(&mut self, index: LogIndex) {
        if index <= self.log.compacted().0 {
            return;
        }
        let term = self
            .log
            .term(index)
            .expect("compaction stays within the log");
        self.log.compact(index, term);
        self.emit(Action::CompactLog { index, term });
    }
}

#[cfg(test)]
mod tests;
