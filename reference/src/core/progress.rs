//! What a leader knows about each follower (Figure 2, "volatile state on leaders"), plus the
//! flow control of production Raft libraries: probing versus pipelined replication, and a
//! bounded number of AppendEntries in flight.

use std::collections::VecDeque;

use crate::types::LogIndex;

/// How a leader sends entries to one follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ReplicationState {
    /// Where the follower's log matches is unknown: one AppendEntries at a time, and the next
    /// index moves only on an answer.
    Probe,
    /// The follower's log matches up to `match_index`: pipeline up to the in-flight limit,
    /// advancing the next index optimistically.
    Replicate,
    /// The entries the follower needs are compacted away: a snapshot is being sent
    /// ([`super::Action::SendSnapshot`]); no AppendEntries carrying entries until its outcome.
    Snapshot,
}

/// One AppendEntries carrying entries that has not been answered yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlight {
    prev_log_index: LogIndex,
    last_index: LogIndex,
}

/// The leader's view of one follower.
#[derive(Clone, Debug)]
pub(super) struct Progress {
    /// The index of the next entry to send (Figure 2).
    pub(super) next_index: LogIndex,
    /// The highest index known to be replicated on the follower (Figure 2).
    pub(super) match_index: LogIndex,
    pub(super) state: ReplicationState,
    /// True once the follower answered since the last check-quorum.
    pub(super) recent_active: bool,
    /// In snapshot catch-up: the index of the last snapshot a transfer to this follower
    /// started with, kept from the transfer's start until the follower's match index reaches
    /// the leader's latest snapshot; compaction holds the entries after it
    /// (`Settings::snapshot_catch_up_hold_entries`).
    pub(super) snapshot_catch_up: Option<LogIndex>,
    in_flight: VecDeque<InFlight>,
}

impl Progress {
    /// A follower a new leader knows nothing about yet (§5.3: next index = last index + 1).
    pub(super) fn new(next_index: LogIndex) -> Progress {
        Progress {
            next_index,
            match_index: 0,
            state: ReplicationState::Probe,
            recent_active: false,
            snapshot_catch_up: None,
            in_flight: VecDeque::new(),
        }
    }

    /// The number of unanswered AppendEntries carrying entries.
    pub(super) fn in_flight_count(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether another AppendEntries carrying entries may go out now.
    pub(super) fn can_send(&self, max_in_flight: usize) -> bool {
        match self.state {
            ReplicationState::Probe => self.in_flight.is_empty(),
            ReplicationState::Replicate => self.in_flight.len() < max_in_flight,
            ReplicationState::Snapshot => false,
        }
    }

    /// Record an AppendEntries carrying `prev_log_index + 1 ..= last_index`.
    pub(super) fn on_sent(&mut self, prev_log_index: LogIndex, last_index: LogIndex) {
        self.in_flight.push_back(InFlight {
            prev_log_index,
            last_index,
        });
        if self.state == ReplicationState::Replicate {
            self.next_index = last_index + 1;
        }
    }

    /// The follower holds the leader's entries up to `match_index`.
    pub(super) fn on_success(&mut self, match_index: LogIndex) {
        self.in_flight.retain(|sent| sent.last_index > match_index);
        self.match_index = self.match_index.max(match_index);
        let probe_answered = match_index + 1 >= self.next_index;
        if self.state == ReplicationState::Probe && probe_answered {
            self.state = ReplicationState::Replicate;
        }
        self.next_index = self.next_index.max(self.match_index + 1);
    }

    /// The follower rejected the AppendEntries whose previous index was `prev_log_index`.
    /// Returns true when the rejection is current (it says something about where the logs
    /// diverge), false when it is stale and was only used to free its in-flight slot.
    ///
    /// A stale rejection can still leave entries unsent: a `Peer` may deliver pipelined
    /// AppendEntries out of order (rafty's TCP server hands each request to a task of its
    /// own), so a batch that overtook its predecessor is refused, and by the time its answer
    /// comes the predecessor's success has moved the match index up to the refused batch's
    /// previous index. Its entries are not on the follower, but the optimistic next index is
    /// past them: replication resumes right after the match index (else an idle leader never
    /// sends them, and the follower stays behind until the next client command).
    pub(super) fn on_rejection(&mut self, prev_log_index: LogIndex) -> bool {
        let rejected = self.release(prev_log_index);
        if prev_log_index <= self.match_index {
            let unsent = rejected.is_some_and(|sent| sent.last_index > self.match_index);
            if self.state == ReplicationState::Replicate
                && unsent
                && self.next_index > self.match_index + 1
            {
                self.probe_from(self.match_index + 1);
            }
            return false;
        }
        match self.state {
            // `checked_add`: the index comes from the follower, which may answer `u64::MAX`.
            ReplicationState::Probe => prev_log_index.checked_add(1) == Some(self.next_index),
            ReplicationState::Replicate => prev_log_index < self.next_index,
            ReplicationState::Snapshot => false,
        }
    }

    /// Start probing again from `next_index` (clamped above the match index).
    pub(super) fn probe_from(&mut self, next_index: LogIndex) {
        self.state = ReplicationState::Probe;
        self.next_index = next_index.max(self.match_index + 1);
    }

    /// The AppendEntries whose previous index was `prev_log_index` got no answer: free its
    /// slot and probe again from just after the match index.
    /// A lost request says nothing about the follower's log, so the probe resumes at the
    /// lost batch (never past an earlier next index), not back at the match index: after a
    /// new leader's first AppendEntries times out (match index 0), falling back to index 1
    /// would make it send a whole snapshot once its log is compacted (hashicorp/raft
    /// likewise retries the same batch). A snapshot transfer in progress is left alone: its
    /// own outcome ends it.
    pub(super) fn on_send_failed(&mut self, prev_log_index: LogIndex) {
        self.release(prev_log_index);
        if self.state != ReplicationState::Snapshot {
            let resume = self.next_index.min(prev_log_index.saturating_add(1));
            self.probe_from(resume);
        }
    }

    /// Free the slot of the AppendEntries whose previous index was `prev_log_index`; returns
    /// it, if it was in flight.
    fn release(&mut self, prev_log_index: LogIndex) -> Option<InFlight> {
        let found = self
            .in_flight
            .iter()
            .position(|sent| sent.prev_log_index == prev_log_index)?;
        self.in_flight.remove(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_sends_one_at_a_time_and_replicate_pipelines() {
        let mut progress = Progress::new(5);
        assert!(progress.can_send(3));
        progress.on_sent(4, 6);
        assert_eq!(
            progress.next_index, 5,
            "probing does not advance optimistically"
        );
        assert!(!progress.can_send(3));
        progress.on_success(6);
        assert_eq!(progress.state, ReplicationState::Replicate);
        assert_eq!((progress.match_index, progress.next_index), (6, 7));
        for last in 7..10 {
            assert!(progress.can_send(3));
            progress.on_sent(last - 1, last);
        }
        assert!(!progress.can_send(3));
        assert_eq!(progress.next_index, 10);
        progress.on_success(8);
        assert_eq!(progress.in_flight_count(), 1);
    }

    #[test]
    fn a_heartbeat_answer_does_not_end_a_probe() {
        let mut progress = Progress::new(10);
        progress.match_index = 3;
        progress.on_sent(9, 12);
        progress.on_success(3);
        assert_eq!(progress.state, ReplicationState::Probe);
        assert_eq!(progress.next_index, 10);
        assert_eq!(progress.in_flight_count(), 1);
    }

    #[test]
    fn stale_rejections_only_free_their_slot() {
        let mut progress = Progress::new(10);
        progress.on_sent(9, 12);
        assert!(!progress.on_rejection(7), "not the current probe");
        assert_eq!(progress.in_flight_count(), 1);
        assert!(progress.on_rejection(9));
        assert_eq!(progress.in_flight_count(), 0);
    }

    /// §5.3 (a refused AppendEntries is retried): a pipelined batch that reached the follower
    /// before its predecessor was refused; the predecessor's success arrives first, making
    /// the refusal stale, but the refused entries must still be sent again.
    #[test]
    fn a_batch_refused_for_overtaking_its_predecessor_is_sent_again() {
        let mut progress = Progress::new(1);
        progress.on_success(0);
        progress.on_sent(0, 4);
        progress.on_sent(4, 8);
        assert_eq!(progress.next_index, 9);
        progress.on_success(4);
        assert!(
            !progress.on_rejection(4),
            "stale: it says nothing of a divergence"
        );
        assert_eq!(
            (
                progress.state,
                progress.next_index,
                progress.in_flight_count()
            ),
            (ReplicationState::Probe, 5, 0)
        );
        assert!(progress.can_send(8));
    }

    /// A stale refusal of entries the follower has since acknowledged changes nothing.
    #[test]
    fn a_stale_refusal_of_acknowledged_entries_keeps_pipelining() {
        let mut progress = Progress::new(1);
        progress.on_success(0);
        progress.on_sent(0, 4);
        progress.on_sent(4, 8);
        progress.on_success(8);
        assert!(!progress.on_rejection(4));
        assert_eq!(
            (progress.state, progress.next_index),
            (ReplicationState::Replicate, 9)
        );
    }

    /// A new leader's first probe (at its last index) times out: the next probe goes to the
    /// same place, not back to index 1 (which a compacted log would answer with a snapshot).
    #[test]
    fn a_failed_probe_resumes_where_it_was_not_at_the_match_index() {
        let mut progress = Progress::new(715);
        progress.on_sent(714, 715);
        progress.on_send_failed(714);
        assert_eq!(
            (progress.state, progress.next_index),
            (ReplicationState::Probe, 715)
        );
    }

    #[test]
    fn a_failed_send_frees_its_slot_and_falls_back_to_probing() {
        let mut progress = Progress::new(1);
        progress.on_success(0);
        progress.on_sent(0, 4);
        progress.on_sent(4, 8);
        progress.on_send_failed(0);
        assert_eq!(progress.state, ReplicationState::Probe);
        assert_eq!(progress.next_index, 1);
        assert_eq!(progress.in_flight_count(), 1);
        assert!(
            !progress.can_send(8),
            "probe waits for the pipeline to drain"
        );
    }
}
