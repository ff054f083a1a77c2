//! The leader's side of log replication (§5.3): appending proposals, sending batches within
//! the limits, heartbeats, handling answers with fast backtracking, the commit rule (§5.4.2)
//! and check-quorum (thesis §6.2).

use std::collections::BTreeSet;

use super::progress::Progress;
use super::{Core, Mutation, Role, quorum};
use crate::message::{AppendEntries, AppendEntriesResponse, ConflictHint, Message};
use crate::types::{Entry, LogIndex, NodeId, Payload};

impl Core {
    /// Append `payloads` to the leader's log in its term, send the new entries to followers,
    /// persist them, then commit what a majority now holds (a single node commits alone).
    ///
    /// The order is that of Raft thesis §10.2.1 ("the leader can write to its disk in parallel
    /// with replicating to its followers"): the AppendEntries carrying the new entries are
    /// emitted *before* their [`AppendToLog`](super::Action::AppendToLog), so a driver that
    /// starts a send without waiting for it (rafty's spawns a task per RPC) overlaps the
    /// followers' writes with the leader's own instead of putting them in series. It is safe
    /// because:
    ///
    /// * The leader counts itself toward a commit majority only up to `persisted_index`, which
    ///   covers these entries only once their `AppendToLog` is emitted. Any later input runs
    ///   after the whole action list, so after the write is durable; a commit computed within
    ///   this input ([`Core::maybe_commit`] below, which lets a single node commit alone) is
    ///   emitted after the `AppendToLog`, so its [`Apply`](super::Action::Apply) (and every
    ///   AppendEntries carrying the new commit index) executes once the entries are durable
    ///   here. [`Core::advance_commit_to`] asserts this; the core's invariants assert that no
    ///   input ends with entries in the in-memory log whose `AppendToLog` was not emitted.
    /// * Entries sent later (heartbeats, [`Core::handle_append_response`]) were persisted in
    ///   an earlier input; sending before persisting happens only here.
    /// * A follower acknowledges only what it persisted itself, so an acknowledged entry is on
    ///   the follower's disk whatever happened to the leader's write.
    /// * If the leader crashes between the sends and its `AppendToLog`, followers may hold
    ///   entries of its term that its own log lost. That is harmless: its vote for itself in
    ///   this term was persisted before it became leader, so after a restart it can never lead
    ///   this term again and will never create different entries at those indices in it; the
    ///   entries are a valid part of this leader's log, which a later leader either commits
    ///   (with a majority that did persist them) or overwrites like any uncommitted entries
    ///   (§5.3). Nothing was counted as committed on the strength of the lost write.
    /// * The `SaveHardState` that made this node leader (term, vote) is flushed before the
    ///   first action of the input, so it is durable before any AppendEntries of the term
    ///   leaves, as before.
    pub(super) fn append_as_leader(&mut self, payloads: Vec<Payload>) {
        if payloads.is_empty() {
            return;
        }
        let first = self.log.last_index() + 1;
        let entries: Vec<Entry> = payloads
            .into_iter()
            .zip(first..)
            .map(|(payload, index)| Entry {
                term: self.term(),
                index,
                payload,
            })
            .collect();
        self.log.append(&entries);
        if self.configurations.appended(&entries) {
            self.configuration_changed();
        }
        for peer in self.peers.clone() {
            self.send_append(peer);
        }
        self.persist_entries(entries);
        self.maybe_commit();
    }

    /// The leader's timers: check-quorum every minimum election timeout, then heartbeats.
    pub(super) fn tick_leader(&mut self) {
        self.expire_transfer();
        if self.now >= self.check_quorum_deadline {
            self.check_quorum();
            if self.role != Role::Leader {
                return;
            }
        }
        if self.now >= self.heartbeat_deadline {
            self.heartbeat_deadline = self.now + self.config.heartbeat_interval;
            self.note_broadcast();
            for peer in self.peers.clone() {
                if !self.send_append(peer) {
                    self.send_heartbeat(peer);
                }
            }
        }
    }

    /// Thesis §6.2: step down unless a majority (this node included) answered since the last
    /// check.
    fn check_quorum(&mut self) {
        let active: BTreeSet<NodeId> = self
            .progress
            .iter()
            .filter(|(_, progress)| progress.recent_active)
            .map(|(peer, _)| *peer)
            .chain([self.id])
            .collect();
        if !self.is_quorum(&active) {
            tracing::debug!(
                node = self.id,
                ?active,
                "check-quorum failed, stepping down"
            );
            return self.become_follower(self.term(), None);
        }
        for progress in self.progress.values_mut() {
            progress.recent_active = false;
        }
        self.check_quorum_deadline = self.now + self.config.election_timeout_min;
    }

    /// Send `peer` as many batches of entries as its progress state and the in-flight limit
    /// allow. Returns true if at least one AppendEntries went out.
    pub(super) fn send_append(&mut self, peer: NodeId) -> bool {
        let mut sent = false;
        while let Some(request) = self.next_append(peer) {
            self.send(peer, Message::AppendEntries(request));
            sent = true;
        }
        sent
    }

    /// The next batch for `peer`, recorded as in flight, if one may go out now.
    fn next_append(&mut self, peer: NodeId) -> Option<AppendEntries> {
        let max_in_flight = self.config.max_inflight_appends;
        let progress = self.progress.get(&peer)?;
        if !progress.can_send(max_in_flight) || progress.next_index > self.log.last_index() {
            return None;
        }
        if progress.next_index <= self.log.compacted().0 {
            // §7: the entries this follower needs are compacted away.
            self.start_snapshot_send(peer);
            return None;
        }
        let prev_log_index = progress.next_index - 1;
        let entries = self.log.batch(
            progress.next_index,
            self.config.max_append_entries,
            self.config.max_append_bytes,
        );
        let last_index = entries.last().expect("a batch holds an entry").index;
        let request = self.append_request(prev_log_index, entries);
        let progress = self.progress.get_mut(&peer).expect("progress exists");
        progress.on_sent(prev_log_index, last_index);
        Some(request)
    }

    /// A heartbeat anchored at the follower's match index, which its log is known to hold, so
    /// reordered heartbeats are never rejected and never disturb probing.
    pub(super) fn send_heartbeat(&mut self, peer: NodeId) {
        let Some(progress) = self.progress.get(&peer) else {
            return;
        };
        if self.log.term(progress.match_index).is_none() {
            // Compacted away: the follower is being sent a snapshot, whose chunks keep it.
            return;
        }
        let request = self.append_request(progress.match_index, Vec::new());
        self.send(peer, Message::AppendEntries(request));
    }

    fn append_request(&self, prev_log_index: LogIndex, entries: Vec<Entry>) -> AppendEntries {
        AppendEntries {
            term: self.term(),
            leader_id: self.id,
            prev_log_index,
            prev_log_term: self
                .log
                .term(prev_log_index)
                .expect("prev index in the log"),
            entries,
            leader_commit: self.commit_index,
        }
    }

    /// Handle a follower's answer to an AppendEntries: advance or backtrack its progress,
    /// commit what a majority holds, and send what the follower still lacks.
    pub(super) fn handle_append_response(&mut self, from: NodeId, response: AppendEntriesResponse) {
        if response.term > self.term()
            && !self
                .mutations
                .breaks(Mutation::LeaderIgnoresHigherTermInResponse)
        {
            return self.become_follower(response.term, None);
        }
        if self.role != Role::Leader || response.term < self.term() {
            return;
        }
        let last_index = self.log.last_index();
        let Some(progress) = self.progress.get_mut(&from) else {
            return;
        };
        progress.recent_active = true;
        if response.success {
            if response.match_index > last_index {
                tracing::error!(node = self.id, from, ?response, "match index past our log");
                return;
            }
            progress.on_success(response.match_index);
            self.maybe_commit();
            if self.role != Role::Leader {
                return;
            }
            self.maybe_order_timeout_now();
        } else if progress.on_rejection(response.match_index) {
            let next_index = self.next_index_after_rejection(&response);
            let progress = self.progress.get_mut(&from).expect("progress exists");
            progress.probe_from(next_index);
        }
        self.send_append(from);
    }

    /// §5.3 fast backtracking: if the leader holds the conflicting term, resume after its last
    /// entry of that term; otherwise at the follower's hint. Always before the rejected
    /// previous index, so backtracking terminates.
    fn next_index_after_rejection(&self, response: &AppendEntriesResponse) -> LogIndex {
        let rejected_prev = response.match_index;
        let hinted = match response.conflict {
            Some(ConflictHint {
                term: Some(term),
                index,
            }) => self
                .log
                .last_index_of_term(term)
                .map_or(index, |last| last + 1),
            Some(ConflictHint { term: None, index }) => index,
            None => rejected_prev,
        };
        if self.mutations.breaks(Mutation::FastBacktrackSkipsEntry) {
            return hinted.saturating_add(1);
        }
        hinted.min(rejected_prev)
    }

    /// An AppendEntries of this leadership got no answer: free its slot and probe again.
    pub(super) fn append_failed(&mut self, to: NodeId, request: &AppendEntries) {
        if self.role != Role::Leader || request.term != self.term() || request.entries.is_empty() {
            return;
        }
        if let Some(progress) = self.progress.get_mut(&to) {
            progress.on_send_failed(request.prev_log_index);
        }
    }

    /// §5.4.2: commit the highest index a majority holds, but only if its entry is of the
    /// leader's current term; earlier entries are then committed indirectly.
    ///
    /// The leader's own match index is `persisted_index`, not its last index: thesis §10.2.1
    /// lets it replicate entries before its own write of them is durable, "as long as it does
    /// not count itself toward the majority" for them until it is (see
    /// [`Core::append_as_leader`]).
    ///
    /// The count is against the configuration in effect (dissertation §4.1, §4.3: a majority
    /// of each half while joint); learners never count, and a leader that is not a voter of
    /// it (it is being removed) does not count itself (§4.2.2).
    pub(super) fn maybe_commit(&mut self) {
        let match_index = |peer: NodeId| {
            if peer == self.id {
                self.persisted_index
            } else {
                self.progress
                    .get(&peer)
                    .map_or(0, |progress: &Progress| progress.match_index)
            }
        };
        let majority = if self.mutations.breaks(Mutation::CommitFromHighestMatch) {
            (self.progress.values().map(|progress| progress.match_index))
                .chain([self.persisted_index])
                .max()
                .unwrap_or(0)
        } else {
            quorum::joint::committed_index(self.membership(), match_index, self.counting())
        };
        if majority <= self.commit_index {
            return;
        }
        let of_current_term = self.log.term(majority) == Some(self.term());
        if of_current_term || self.mutations.breaks(Mutation::CommitPreviousTermByCount) {
            self.advance_commit_to(majority);
            self.after_commit_as_leader();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::Action;
    use crate::message::RequestVoteResponse;
    use crate::settings::Config;
    use crate::types::HardState;

    /// Node 1 of three, elected in term 1 with node 2's votes; its no-op (index 1) is in
    /// flight to both followers.
    fn leader_of_three() -> Core {
        let mut core = Core::new(
            1,
            vec![2, 3],
            Config::default(),
            HardState::default(),
            vec![],
            Duration::ZERO,
            7,
        );
        core.set_check_invariants(true);
        let now = core.next_deadline();
        core.tick(now);
        for pre_vote in [true, false] {
            let granted = RequestVoteResponse {
                term: 1,
                vote_granted: true,
                pre_vote,
            };
            core.step(now, 2, Message::RequestVoteResponse(granted));
        }
        assert_eq!(core.role(), Role::Leader);
        core.take_actions();
        core
    }

    /// Thesis §10.2.1: between the AppendEntries that carry new entries and the leader's own
    /// `AppendToLog` of them (the middle of `append_as_leader`), a follower's copy plus the
    /// leader's *unpersisted* copy is not a majority: the leader's self-count is its
    /// persisted index. Once the `AppendToLog` is emitted, the same acknowledgement commits,
    /// and the `Apply` comes after the `AppendToLog`.
    #[test]
    fn leader_does_not_count_itself_for_entries_whose_append_to_log_is_not_emitted() {
        let mut core = leader_of_three();
        let entry = Entry {
            term: 1,
            index: 2,
            payload: Payload::Command(b"x".to_vec()),
        };
        // As append_as_leader does: in the in-memory log and sent, not yet persisted.
        core.log.append(std::slice::from_ref(&entry));
        core.send_append(2);
        // Follower 2 persisted and acknowledged both entries.
        core.progress.get_mut(&2).expect("follower 2").on_success(2);
        core.maybe_commit();
        assert_eq!(
            core.commit_index(),
            1,
            "index 2 is persisted only on follower 2: not a majority of three"
        );
        core.persist_entries(vec![entry.clone()]);
        core.maybe_commit();
        assert_eq!(core.commit_index(), 2);
        let actions = core.take_actions();
        let append_at = actions
            .iter()
            .position(|action| *action == Action::AppendToLog(vec![entry.clone()]));
        let apply_at = actions
            .iter()
            .position(|action| *action == Action::Apply(vec![entry.clone()]));
        assert!(
            matches!((append_at, apply_at), (Some(append), Some(apply)) if append < apply),
            "{actions:?}"
        );
    }
}
