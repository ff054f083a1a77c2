//! Follower reads (dissertation §6.4, "reads from followers"): a follower serves ReadIndex and
//! lease reads itself, when the configuration enables them (`follower_reads`).
//!
//! 1. The follower asks the leader it knows for a read index ([`Message::ReadIndex`]): the
//!    leader confirms it still leads exactly as for a read of its own (a heartbeat round, or
//!    its lease for lease reads) and answers its read index. The reads that arrive while
//!    [`MAX_REQUESTS_IN_FLIGHT`] requests are out wait and share the next request.
//! 2. The follower releases each read ([`Action::ReadReady`]) once its commit index reached
//!    the read index: every [`Action::Apply`] up to there came before, so the driver serves it
//!    from a state machine that applied at least everything the leader had committed when the
//!    read arrived. Serving before that could miss a write that completed before the read
//!    began.
//!
//! A refusal (the node asked no longer leads), a failed request, or this node leaving the
//! follower role fails the reads ([`Action::ReadFailed`]): definite, a read changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, Core, Mutation, ReadId, ReadMode, Role};
use crate::message::{Message, ReadIndexRequest, ReadIndexResponse};
use crate::types::LogIndex;

/// The most ReadIndex requests a follower has out at once; later reads wait for the next.
pub const MAX_REQUESTS_IN_FLIGHT: usize = 4;

/// A follower's reads on their way through the leader.
#[derive(Debug, Default)]
pub(super) struct FollowerReads {
    /// The number of the last request sent.
    last_request: u64,
    /// Reads not asked for yet: ReadIndex reads, then lease reads.
    unsent: [Vec<ReadId>; 2],
    /// The requests out, by number, with their reads.
    asked: BTreeMap<u64, Vec<ReadId>>,
    /// Reads the leader answered, by (read index, id), waiting for the commit index.
    answered: BTreeSet<(LogIndex, ReadId)>,
}

impl FollowerReads {
    /// Whether no read is in this follower's hands.
    fn is_empty(&self) -> bool {
        self.unsent.iter().all(Vec::is_empty) && self.asked.is_empty() && self.answered.is_empty()
    }
}

impl Core {
    /// Whether this node serves `read_many` as a follower: it follows a known leader and the
    /// configuration enables follower reads.
    pub(super) fn reads_through_leader(&self) -> bool {
        self.config.follower_reads
            && self.role == Role::Follower
            && self.leader.is_some_and(|leader| leader != self.id)
    }

    /// Queue reads to ask the leader about (see [`Core::read_many`]).
    pub(super) fn read_through_leader(&mut self, ids: &[ReadId], mode: ReadMode) {
        let slot = match mode {
            ReadMode::Index => 0,
            ReadMode::Lease => 1,
        };
        self.follower_reads.unsent[slot].extend_from_slice(ids);
    }

    /// A ReadIndex request reached this core through [`Core::step`]: a driver hands them to
    /// [`Core::read_many`] instead and answers once the read is confirmed (the node module
    /// does). Answered at once with no index, as a node that is not the leader would.
    pub(super) fn handle_read_index_request(&mut self, request: ReadIndexRequest) {
        self.reply(Message::ReadIndexResponse(ReadIndexResponse {
            term: self.term(),
            request_id: request.request_id,
            read_index: None,
            leader_hint: self.leader,
        }));
    }

    /// The leader answered request `response.request_id`: its reads wait for the read index,
    /// or fail if it refused.
    pub(super) fn handle_read_index_response(&mut self, response: ReadIndexResponse) {
        let Some(ids) = self.follower_reads.asked.remove(&response.request_id) else {
            return;
        };
        match response.read_index {
            Some(index) => {
                let answered = &mut self.follower_reads.answered;
                answered.extend(ids.into_iter().map(|id| (index, id)));
            }
            None => self.fail_reads(ids, response.leader_hint),
        }
    }

    /// ReadIndex request `request` got no answer: its reads fail.
    pub(super) fn read_index_failed(&mut self, request: &ReadIndexRequest) {
        if let Some(ids) = self.follower_reads.asked.remove(&request.request_id) {
            self.fail_reads(ids, self.leader);
        }
    }

    /// After every input: release the answered reads this node has applied far enough for,
    /// ask the leader about the waiting ones, and fail them all once this node is no longer a
    /// follower of a known leader.
    pub(super) fn settle_follower_reads(&mut self) {
        if self.follower_reads.is_empty() {
            return;
        }
        if !self.reads_through_leader() {
            let reads = &mut self.follower_reads;
            let mut ids: Vec<ReadId> = reads.unsent.iter_mut().flat_map(std::mem::take).collect();
            ids.extend(
                std::mem::take(&mut reads.answered)
                    .into_iter()
                    .map(|(_, id)| id),
            );
            let leader_hint = self.leader.filter(|leader| *leader != self.id);
            self.fail_reads(ids, leader_hint);
            // The requests out fail when their answers come.
            return;
        }
        self.release_applied_follower_reads();
        self.ask_leader_for_read_index();
    }

    /// §6.4: a follower serves a read once it applied through the read index.
    fn release_applied_follower_reads(&mut self) {
        let before_apply = self.mutations.breaks(Mutation::FollowerReadBeforeApply);
        while let Some(&(index, id)) = self.follower_reads.answered.first() {
            let index = if before_apply {
                // The bug: serve what this node has applied as soon as the leader answered.
                index.min(self.commit_index)
            } else if index <= self.commit_index {
                index
            } else {
                break;
            };
            self.follower_reads.answered.pop_first();
            self.emit(Action::ReadReady { id, index });
        }
    }

    /// Send the waiting reads to the leader, one request per mode, while fewer than
    /// [`MAX_REQUESTS_IN_FLIGHT`] are out.
    fn ask_leader_for_read_index(&mut self) {
        let Some(leader) = self.leader else { return };
        for (slot, lease) in [(0, false), (1, true)] {
            if self.follower_reads.unsent[slot].is_empty()
                || self.follower_reads.asked.len() >= MAX_REQUESTS_IN_FLIGHT
            {
                continue;
            }
            let ids = std::mem::take(&mut self.follower_reads.unsent[slot]);
            self.follower_reads.last_request += 1;
            let request_id = self.follower_reads.last_request;
            self.follower_reads.asked.insert(request_id, ids);
            let request = ReadIndexRequest {
                term: self.term(),
                follower_id: self.id,
                request_id,
                lease,
            };
            self.send(leader, Message::ReadIndex(request));
        }
    }

    fn fail_reads(&mut self, ids: Vec<ReadId>, leader_hint: Option<crate::types::NodeId>) {
        for id in ids {
            self.emit(Action::ReadFailed { id, leader_hint });
        }
    }

    /// The reads this follower holds: not asked yet, asked, and answered but not applied (for
    /// tests).
    pub fn follower_reads_waiting(&self) -> (usize, usize, usize) {
        let reads = &self.follower_reads;
        let unsent = reads.unsent.iter().map(Vec::len).sum();
        let asked = reads.asked.values().map(Vec::len).sum();
        (unsent, asked, reads.answered.len())
    }
}

#[cfg(test)]
mod tests;
