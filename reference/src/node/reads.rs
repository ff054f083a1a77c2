//! The driver's side of reads without the log (dissertation §6.4). Readers join confirmation
//! rounds in [`LocalReads`]; the loop closes each round that has readers and gives it to the
//! core as one read, which releases it at a read index ([`Action::ReadReady`]) or fails it;
//! the loop publishes that outcome and the readers serve themselves (stale and lease reads
//! never come here while the lease holds). A follower with `follower_reads` on gets its read
//! index from the leader (the core asks); as leader, this node answers followers' ReadIndex
//! requests once the core confirms them.
//!
//! [`Action::ReadReady`]: crate::core::Action::ReadReady
//! [`LocalReads`]: super::local_reads::LocalReads

use std::collections::BTreeMap;

use tokio::sync::oneshot;

use super::driver::{Driver, Incoming};
use crate::core::{ReadId, ReadMode};
use crate::log::{Log, LogError};
use crate::message::{Message, ReadIndexResponse};
use crate::state_machine::StateMachine;
use crate::types::{LogIndex, NodeId};

/// A follower's ReadIndex request (§6.4) this leader is confirming: answered with the read
/// index once the core releases it, without waiting to apply (the follower applies).
struct Remote {
    request_id: u64,
    reply: oneshot::Sender<Message>,
}

/// The reads in the event loop's hands.
#[derive(Default)]
pub(super) struct Reads {
    next_id: ReadId,
    /// Confirmation rounds given to the core, by read id: their mode and generation.
    confirming: BTreeMap<ReadId, (ReadMode, u64)>,
    /// Followers' ReadIndex requests given to the core, by read id.
    remote: BTreeMap<ReadId, Remote>,
    /// A round given to the core settled or was abandoned since the loop last closed rounds:
    /// an open round held back ([`MAX_ROUNDS_OUT_PER_MODE`]) may go now.
    ///
    /// [`MAX_ROUNDS_OUT_PER_MODE`]: super::local_reads::MAX_ROUNDS_OUT_PER_MODE
    pub(super) freed: bool,
}

impl Reads {
    fn next_id(&mut self) -> ReadId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

impl<L: Log, S: StateMachine> Driver<L, S> {
    /// Forget reads whose callers gave up.
    pub(super) fn prune_abandoned_reads(&mut self) {
        self.reads.remote.retain(|_, read| !read.reply.is_closed());
        let local = &self.local;
        let before = self.reads.confirming.len();
        self.reads.confirming.retain(|_, (mode, round)| {
            let waited_for = local.round_has_readers(*mode, *round);
            if !waited_for {
                local.abandon_round(*mode);
            }
            waited_for
        });
        self.reads.freed |= self.reads.confirming.len() != before;
    }

    /// Rounds went out of the core's hands: close the open rounds held back meanwhile.
    pub(super) fn on_rounds_freed(&mut self) -> Result<(), LogError> {
        if !std::mem::take(&mut self.reads.freed) {
            return Ok(());
        }
        self.on_reads()
    }

    /// Readers joined a round: close the open round of each mode that has readers and fewer
    /// than [`MAX_ROUNDS_OUT_PER_MODE`] rounds out, and give it to the core as one read, so
    /// one heartbeat round, sent after every one of them arrived, confirms them all.
    ///
    /// [`MAX_ROUNDS_OUT_PER_MODE`]: super::local_reads::MAX_ROUNDS_OUT_PER_MODE
    pub(super) fn on_reads(&mut self) -> Result<(), LogError> {
        let now = self.now();
        for mode in [ReadMode::Index, ReadMode::Lease] {
            let Some(round) = self.local.close_round(mode) else {
                continue;
            };
            self.counters.read_rounds += 1;
            let id = self.reads.next_id();
            self.reads.confirming.insert(id, (mode, round));
            if let Err(refusal) = self.core.read(now, id, mode) {
                self.read_failed(id, refusal.leader_hint);
            }
        }
        self.execute(None)
    }

    /// A follower asks this node for a read index (§6.4): the core confirms it as a read of
    /// its own, and [`Driver::read_ready`] answers with the index.
    pub(super) fn on_read_index_request(&mut self, incoming: Incoming) -> Result<(), LogError> {
        let Message::ReadIndex(request) = incoming.message else {
            unreachable!("only ReadIndex requests come here");
        };
        let id = self.reads.next_id();
        let mode = if request.lease {
            ReadMode::Lease
        } else {
            ReadMode::Index
        };
        let remote = Remote {
            request_id: request.request_id,
            reply: incoming.reply,
        };
        self.reads.remote.insert(id, remote);
        if let Err(refusal) = self.core.read_many(self.now(), &[id], mode) {
            self.read_failed(id, refusal.leader_hint);
        }
        self.execute(None)
    }

    /// The core released read `id` (a round) at `index`: its readers serve once applied
    /// that far.
    pub(super) fn read_ready(&mut self, id: ReadId, index: LogIndex) {
        if let Some(remote) = self.reads.remote.remove(&id) {
            let answer = self.read_index_answer(remote.request_id, Some(index), None);
            let _ = remote.reply.send(answer);
            return;
        }
        if let Some((mode, round)) = self.reads.confirming.remove(&id) {
            self.reads.freed = true;
            self.local.settle_round(mode, round, Ok(index));
        }
    }

    /// The core could not confirm read `id` (a round): it stopped leading. Definite.
    pub(super) fn read_failed(&mut self, id: ReadId, leader_hint: Option<NodeId>) {
        if let Some(remote) = self.reads.remote.remove(&id) {
            let answer = self.read_index_answer(remote.request_id, None, leader_hint);
            let _ = remote.reply.send(answer);
            return;
        }
        if let Some((mode, round)) = self.reads.confirming.remove(&id) {
            self.reads.freed = true;
            self.local.settle_round(mode, round, Err(leader_hint));
        }
    }

    fn read_index_answer(
        &self,
        request_id: u64,
        read_index: Option<LogIndex>,
        leader_hint: Option<NodeId>,
    ) -> Message {
        Message::ReadIndexResponse(ReadIndexResponse {
            term: self.core.term(),
            request_id,
            read_index,
            leader_hint,
        })
    }
}
