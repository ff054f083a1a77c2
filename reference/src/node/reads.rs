//! The driver's side of reads without the log (dissertation §6.4): ReadIndex and lease reads
//! go to the core, which releases each at a read index ([`Action::ReadReady`]); the driver
//! serves it from the state machine once applied that far. Stale reads are served at once.
//! A follower with `follower_reads` on gets its read index from the leader (the core asks);
//! as leader, this node answers followers' ReadIndex requests once the core confirms them.
//!
//! [`Action::ReadReady`]: crate::core::Action::ReadReady

use std::collections::BTreeMap;

use tokio::sync::oneshot;

use super::driver::{Driver, Incoming};
use super::waiters::ReplyTo;
use crate::client::{ClientError, ReadConsistency};
use crate::core::{ReadId, ReadMode};
use crate::log::{Log, LogError};
use crate::message::{Message, ReadIndexResponse};
use crate::state_machine::StateMachine;
use crate::types::{LogIndex, NodeId};

/// The most reads taken from the queue in one go (they share the core's heartbeat round).
const MAX_READ_BATCH: usize = 1024;

/// A read on its way to the event loop.
pub(super) struct ReadRequest {
    /// The state machine query ([`StateMachine::query`]).
    pub(super) query: Vec<u8>,
    /// How to make it consistent; never [`ReadConsistency::Log`] (that is a submission).
    pub(super) consistency: ReadConsistency,
    pub(super) reply: ReplyTo,
}

/// A read the core has not released yet, or released at an index not applied yet.
struct Waiting {
    query: Vec<u8>,
    reply: ReplyTo,
}

/// A follower's ReadIndex request (§6.4) this leader is confirming: answered with the read
/// index once the core releases it, without waiting to apply (the follower applies).
struct Remote {
    request_id: u64,
    reply: oneshot::Sender<Message>,
}

/// The reads of one consistency taken from the queue in one go: the core confirms them as
/// one read (one id, one [`Action::ReadReady`]), so a batch costs the core and the maps one
/// entry however many reads it holds.
///
/// [`Action::ReadReady`]: crate::core::Action::ReadReady
type Batch = Vec<Waiting>;

/// The reads in the event loop's hands.
#[derive(Default)]
pub(super) struct Reads {
    next_id: ReadId,
    /// Batches given to the core, by read id.
    confirming: BTreeMap<ReadId, Batch>,
    /// Followers' ReadIndex requests given to the core, by read id.
    remote: BTreeMap<ReadId, Remote>,
    /// Batches released at an index this node has not applied yet, by (index, id).
    released: BTreeMap<(LogIndex, ReadId), Batch>,
}

impl Reads {
    /// Forget reads whose callers gave up, and the batches left empty.
    pub(super) fn prune_abandoned(&mut self) {
        self.confirming.retain(|_, batch| keep_waiting(batch));
        self.remote.retain(|_, read| !read.reply.is_closed());
        self.released.retain(|_, batch| keep_waiting(batch));
    }

    fn next_id(&mut self) -> ReadId {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

/// Drop the reads of `batch` whose callers gave up; whether any is left.
fn keep_waiting(batch: &mut Batch) -> bool {
    batch.retain(|read| !read.reply.is_closed());
    !batch.is_empty()
}

impl<L: Log, S: StateMachine> Driver<L, S> {
    /// Take `first` and the reads queued behind it: stale ones are served now, the others
    /// given to the core together, so one heartbeat round confirms them all.
    pub(super) fn on_reads(&mut self, first: ReadRequest) -> Result<(), LogError> {
        let mut batch = vec![first];
        while batch.len() < MAX_READ_BATCH {
            match self.channels.reads.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let now = self.now();
        let mut by_mode: [(ReadMode, Batch); 2] =
            [(ReadMode::Index, Vec::new()), (ReadMode::Lease, Vec::new())];
        for read in batch {
            if read.reply.is_closed() {
                continue;
            }
            let mode = match read.consistency {
                ReadConsistency::Stale => {
                    self.serve(read.query, read.reply);
                    continue;
                }
                ReadConsistency::Lease => 1,
                ReadConsistency::Linearizable | ReadConsistency::Log => 0,
            };
            let waiting = Waiting {
                query: read.query,
                reply: read.reply,
            };
            by_mode[mode].1.push(waiting);
        }
        let mut given = [None, None];
        for (slot, (_, reads)) in by_mode.iter_mut().enumerate() {
            if !reads.is_empty() {
                let id = self.reads.next_id();
                self.reads.confirming.insert(id, std::mem::take(reads));
                given[slot] = Some(id);
            }
        }
        for ((mode, _), id) in by_mode.into_iter().zip(given) {
            let Some(id) = id else { continue };
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

    /// The core released read `id` (a batch) at `index`: serve it once applied that far.
    pub(super) fn read_ready(&mut self, id: ReadId, index: LogIndex) {
        if let Some(remote) = self.reads.remote.remove(&id) {
            let answer = self.read_index_answer(remote.request_id, Some(index), None);
            let _ = remote.reply.send(answer);
            return;
        }
        let Some(batch) = self.reads.confirming.remove(&id) else {
            return; // Its callers gave up.
        };
        if self.last_applied >= index {
            self.serve_batch(batch);
        } else {
            self.reads.released.insert((index, id), batch);
        }
    }

    /// The core could not confirm read `id` (a batch): it stopped leading. Definite.
    pub(super) fn read_failed(&mut self, id: ReadId, leader_hint: Option<NodeId>) {
        if let Some(remote) = self.reads.remote.remove(&id) {
            let answer = self.read_index_answer(remote.request_id, None, leader_hint);
            let _ = remote.reply.send(answer);
            return;
        }
        for read in self.reads.confirming.remove(&id).unwrap_or_default() {
            let _ = read.reply.send(Err(ClientError::NotLeader { leader_hint }));
        }
    }

    /// Serve the released batches whose index is now applied.
    pub(super) fn serve_applied_reads(&mut self) {
        while let Some(entry) = self.reads.released.first_entry() {
            if entry.key().0 > self.last_applied {
                break;
            }
            let batch = entry.remove();
            self.serve_batch(batch);
        }
    }

    fn serve_batch(&self, batch: Batch) {
        for read in batch {
            self.serve(read.query, read.reply);
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

    fn serve(&self, query: Vec<u8>, reply: ReplyTo) {
        let answer = self
            .state_machine
            .query(&query)
            .ok_or(ClientError::QueryUnsupported);
        let _ = reply.send(answer);
    }
}
