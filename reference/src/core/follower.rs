//! The receiving side of AppendEntries (§5.3): the consistency check, conflict truncation,
//! the fast-backtracking hint, and the follower's commit index.

use super::{Action, Core, Mutation, Role};
use crate::message::{AppendEntries, AppendEntriesResponse, ConflictHint, Message};
use crate::types::{Entry, LogIndex};

impl Core {
    /// Answer an AppendEntries; entries it acknowledges are persisted before the reply.
    pub(super) fn handle_append_entries(&mut self, request: AppendEntries) {
        if request.term < self.term() && !self.mutations.breaks(Mutation::AcceptAppendFromOlderTerm)
        {
            return self.reply_append(false, request.prev_log_index, None);
        }
        if request.term == self.term() && self.role == Role::Leader {
            tracing::error!(
                node = self.id,
                other = request.leader_id,
                term = request.term,
                "two leaders in one term: a peer broke Election Safety"
            );
            return self.reply_append(false, request.prev_log_index, None);
        }
        if !is_well_formed(&request) {
            tracing::error!(node = self.id, ?request, "malformed AppendEntries ignored");
            return self.reply_append(false, request.prev_log_index, None);
        }
        self.become_follower(request.term, Some(request.leader_id));
        self.last_leader_contact = Some(self.now);
        self.reset_election_timer();
        // The entries this request vouches for end here, whatever part of them is compacted.
        let last_new_index = request
            .entries
            .last()
            .map_or(request.prev_log_index, |entry| entry.index);
        let request = self.skip_compacted(request);
        if let Err(hint) = self.check_previous_entry(&request) {
            return self.reply_append(false, request.prev_log_index, Some(hint));
        }
        if let Some(conflict) = self.first_conflict(&request.entries)
            && conflict.index <= self.commit_index
        {
            tracing::error!(
                node = self.id,
                leader = request.leader_id,
                term = request.term,
                index = conflict.index,
                entry_term = conflict.term,
                commit_index = self.commit_index,
                "protocol violation: the leader's entry conflicts with an entry this node knows \
                 is committed (§5.4, Leader Completeness); AppendEntries refused, log kept"
            );
            return self.reply_append(false, request.prev_log_index, None);
        }
        self.store_entries(request.entries);
        let acknowledged = if self.mutations.breaks(Mutation::AcknowledgeWholeLog) {
            self.log.last_index()
        } else {
            last_new_index
        };
        self.reply_append(true, acknowledged, None);
        let commit = if self.mutations.breaks(Mutation::FollowerAppliesUncommitted) {
            last_new_index
        } else if self
            .mutations
            .breaks(Mutation::FollowerCommitsPastLastNewEntry)
        {
            request.leader_commit.min(self.log.last_index())
        } else {
            request.leader_commit.min(last_new_index)
        };
        self.advance_commit_to(commit);
    }

    /// §7: entries up to the compacted index are committed (a snapshot covers them), so they
    /// match the leader's: a request starting before it is answered as if it started there
    /// (as etcd/raft does for an AppendEntries below the commit index).
    fn skip_compacted(&self, mut request: AppendEntries) -> AppendEntries {
        let (compacted, compacted_term) = self.log.compacted();
        if request.prev_log_index < compacted {
            request.entries.retain(|entry| entry.index > compacted);
            request.prev_log_index = compacted;
            request.prev_log_term = compacted_term;
        }
        request
    }

    fn reply_append(
        &mut self,
        success: bool,
        match_index: LogIndex,
        conflict: Option<ConflictHint>,
    ) {
        self.reply(Message::AppendEntriesResponse(AppendEntriesResponse {
            term: self.term(),
            success,
            match_index,
            conflict,
        }));
    }

    /// §5.3: the log must hold an entry at `prev_log_index` with `prev_log_term`. If not,
    /// return where the leader should look next.
    fn check_previous_entry(&self, request: &AppendEntries) -> Result<(), ConflictHint> {
        match self.log.term(request.prev_log_index) {
            None => Err(ConflictHint {
                term: None,
                index: self.log.last_index() + 1,
            }),
            Some(term)
                if term != request.prev_log_term
                    && !self
                        .mutations
                        .breaks(Mutation::AppendWithoutPreviousTermCheck) =>
            {
                Err(ConflictHint {
                    term: Some(term),
                    index: self.log.first_index_of_term_at(request.prev_log_index),
                })
            }
            Some(_) => Ok(()),
        }
    }

    /// The first of `entries` that this log holds with a different term (§5.3: "an existing
    /// entry conflicts with a new one"), if any.
    fn first_conflict<'a>(&self, entries: &'a [Entry]) -> Option<&'a Entry> {
        entries.iter().find(|entry| {
            self.log
                .term(entry.index)
                .is_some_and(|term| term != entry.term)
        })
    }

    /// §5.3: skip entries already held, truncate at the first conflicting one, append the rest.
    /// A stale, shorter AppendEntries never truncates matching entries after it. The caller
    /// refused any conflict with a committed entry.
    fn store_entries(&mut self, entries: Vec<Entry>) {
        let keep_conflicts = self.mutations.breaks(Mutation::KeepConflictingEntries);
        let first_new = entries
            .iter()
            .position(|entry| match self.log.term(entry.index) {
                Some(_) if keep_conflicts => false,
                term => term != Some(entry.term),
            });
        let Some(first_new) = first_new else {
            return;
        };
        let index = entries[first_new].index;
        if index <= self.log.last_index() {
            self.truncate_log(index);
        }
        let new_entries = entries[first_new..].to_vec();
        self.log.append(&new_entries);
        if self.configurations.appended(&new_entries) {
            self.configuration_changed();
        }
        self.persist_entries(new_entries);
    }

    fn truncate_log(&mut self, from: LogIndex) {
        assert!(
            from > self.commit_index,
            "refusing to truncate committed entries: truncate from {from}, commit index {}",
            self.commit_index
        );
        assert_ne!(
            self.role,
            Role::Leader,
            "a leader never truncates its own log"
        );
        self.log.truncate(from);
        if self.configurations.truncated(from) {
            self.configuration_changed();
        }
        self.persisted_index = self.persisted_index.min(from - 1);
        self.emit(Action::TruncateLog(from));
    }
}

/// Entries must continue `prev_log_index` contiguously, with terms of at least 1 that never
/// decrease (from `prev_log_term` on) and never exceed the leader's term; `prev_log_term`
/// itself cannot exceed the leader's term either (§5.1, §5.3).
fn is_well_formed(request: &AppendEntries) -> bool {
    if request.prev_log_term > request.term {
        return false;
    }
    let mut previous = (request.prev_log_index, request.prev_log_term);
    for entry in &request.entries {
        // `checked_add`: a peer's `prev_log_index` may be `u64::MAX`.
        let contiguous = previous.0.checked_add(1) == Some(entry.index);
        let term_in_range = (previous.1.max(1)..=request.term).contains(&entry.term);
        if !contiguous || !term_in_range {
            return false;
        }
        previous = (entry.index, entry.term);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Payload;

    fn request(prev_log_index: LogIndex, indices: &[LogIndex]) -> AppendEntries {
        AppendEntries {
            term: 2,
            leader_id: 1,
            prev_log_index,
            prev_log_term: 1,
            entries: indices
                .iter()
                .map(|&index| Entry {
                    term: 2,
                    index,
                    payload: Payload::Noop,
                })
                .collect(),
            leader_commit: 0,
        }
    }

    #[test]
    fn entries_must_continue_the_previous_index() {
        assert!(is_well_formed(&request(3, &[4, 5])));
        assert!(!is_well_formed(&request(3, &[5])));
        assert!(!is_well_formed(&request(3, &[4, 4])));
    }

    /// A peer's `prev_log_index` of `u64::MAX` is malformed input, not an overflow panic.
    #[test]
    fn a_previous_index_at_the_maximum_is_malformed_not_a_panic() {
        assert!(!is_well_formed(&request(LogIndex::MAX, &[0])));
        assert!(is_well_formed(&request(LogIndex::MAX, &[])));
    }
}
