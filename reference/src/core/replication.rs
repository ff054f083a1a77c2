//! The leader's side of log replication (§5.3): appending proposals, sending batches within
//! the limits, heartbeats, handling answers with fast backtracking, the commit rule (§5.4.2)
//! and check-quorum (thesis §6.2).

use super::progress::Progress;
use super::{Action, Core, Role, quorum};
use crate::message::{AppendEntries, AppendEntriesResponse, ConflictHint, Message};
use crate::types::{Entry, LogIndex, NodeId, Payload};

impl Core {
    /// Append `payloads` to the leader's log in its term, commit what a majority now holds
    /// (a single node commits alone) and send the new entries to followers.
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
        self.emit(Action::AppendToLog(entries));
        self.maybe_commit();
        for peer in self.peers.clone() {
            self.send_append(peer);
        }
    }

    /// The leader's timers: check-quorum every minimum election timeout, then heartbeats.
    pub(super) fn tick_leader(&mut self) {
        if self.now >= self.check_quorum_deadline {
            self.check_quorum();
            if self.role != Role::Leader {
                return;
            }
        }
        if self.now >= self.heartbeat_deadline {
            self.heartbeat_deadline = self.now + self.config.heartbeat_interval;
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
        let active = 1 + self
            .progress
            .values()
            .filter(|progress| progress.recent_active)
            .count();
        if active < self.quorum() {
            tracing::debug!(node = self.id, active, "check-quorum failed, stepping down");
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
    fn send_heartbeat(&mut self, peer: NodeId) {
        let Some(progress) = self.progress.get(&peer) else {
            return;
        };
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
        if response.term > self.term() {
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
    pub(super) fn maybe_commit(&mut self) {
        let mut match_indices: Vec<LogIndex> = self
            .progress
            .values()
            .map(|progress: &Progress| progress.match_index)
            .collect();
        match_indices.push(self.log.last_index());
        let majority = quorum::majority_index(&match_indices);
        if majority <= self.commit_index {
            return;
        }
        let of_current_term = self.log.term(majority) == Some(self.term());
        if of_current_term || self.mutations.commit_previous_term_by_count {
            self.advance_commit_to(majority);
        }
    }
}
