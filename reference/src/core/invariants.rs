//! The core's invariants, asserted after every input in debug builds and whenever
//! [`Core::set_check_invariants`] asked for it. A broken invariant is a bug: it panics.

use super::{Core, Role};
use crate::types::{LogIndex, NodeId, Term};

/// What the invariants compare against: the state before an input.
pub(super) struct Snapshot {
    term: Term,
    voted_for: Option<NodeId>,
    commit_index: LogIndex,
    last_index: LogIndex,
    role: Role,
}

impl Core {
    /// The state before an input, or `None` when invariants are not checked.
    pub(super) fn invariant_snapshot(&self) -> Option<Snapshot> {
        (self.check_invariants || cfg!(debug_assertions)).then(|| Snapshot {
            term: self.term(),
            voted_for: self.hard_state.voted_for,
            commit_index: self.commit_index,
            last_index: self.log.last_index(),
            role: self.role,
        })
    }

    pub(super) fn assert_invariants(&self, before: &Snapshot) {
        let id = self.id;
        assert!(self.term() >= before.term, "node {id}: term went back");
        assert!(
            self.commit_index >= before.commit_index,
            "node {id}: commit index went back from {} to {}",
            before.commit_index,
            self.commit_index
        );
        assert!(
            self.commit_index <= self.log.last_index(),
            "node {id}: commit index {} past last index {}",
            self.commit_index,
            self.log.last_index()
        );
        assert!(
            self.snapshot.0 <= self.commit_index,
            "node {id}: the snapshot covers index {} above the commit (and applied) index {}",
            self.snapshot.0,
            self.commit_index
        );
        assert!(
            self.log.compacted().0 <= self.snapshot.0,
            "node {id}: the log is compacted through {}, past the snapshot at {}",
            self.log.compacted().0,
            self.snapshot.0
        );
        if self.term() == before.term && before.voted_for.is_some() {
            assert_eq!(
                self.hard_state.voted_for, before.voted_for,
                "node {id}: two votes in term {}",
                before.term
            );
        }
        if before.role == Role::Leader && self.role == Role::Leader && self.term() == before.term {
            assert!(
                self.log.last_index() >= before.last_index,
                "node {id}: the leader's log lost entries"
            );
        }
        assert_eq!(
            self.persisted_index,
            self.log.last_index(),
            "node {id}: entries in the in-memory log without an AppendToLog"
        );
        assert!(
            self.log.last_term() <= self.term(),
            "node {id}: log holds a term above the current term"
        );
        if self.role == Role::Leader {
            assert_eq!(
                self.leader,
                Some(id),
                "node {id}: leader does not know itself"
            );
            assert_eq!(
                self.hard_state.voted_for,
                Some(id),
                "node {id}: leader did not vote for itself"
            );
        }
        if self.role == Role::Leader {
            // §4.2/§4.3: a leader appends a configuration entry only when none after its
            // commit index exists, so its own term holds at most one uncommitted one.
            let own_uncommitted = self
                .configurations
                .indices_after(self.commit_index)
                .filter(|index| self.log.term(*index) == Some(self.term()))
                .count();
            assert!(
                own_uncommitted <= 1,
                "node {id}: {own_uncommitted} uncommitted configuration entries of term {}",
                self.term()
            );
            assert!(
                self.progress
                    .keys()
                    .all(|peer| self.membership().contains(*peer) && *peer != id),
                "node {id}: the leader tracks a node outside its configuration"
            );
        }
        for (peer, progress) in &self.progress {
            assert!(
                progress.match_index < progress.next_index
                    && progress.match_index <= self.log.last_index(),
                "node {id}: progress of {peer} inconsistent: {progress:?}"
            );
        }
    }
}
