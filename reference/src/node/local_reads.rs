//! Reads served in the caller's task (dissertation §6.4): the state machine is shared with the
//! event loop, so a read that needs no confirmation, or whose confirmation the loop has
//! published, reads it without a turn of the loop, a channel hop or a reply of its own.
//!
//! * Stale reads query the state machine at once.
//! * Lease reads (§6.4.1) compare the node's local time with the lease the loop publishes
//!   after every input ([`Core::lease_read`], published before the input's actions run, so a
//!   TimeoutNow never leaves ahead of the lease's end) and serve once applied through its read
//!   index; when no lease holds they become ReadIndex reads of the lease kind. The local time
//!   is read before the lock, which then covers only the check and the query.
//! * ReadIndex reads share confirmation rounds: a read joins the round that is open when it
//!   arrives; the loop, woken by a round's first reader, closes it and gives it to the core
//!   as one read (so the core's heartbeats confirming it are sent after every read of the
//!   round arrived), at most one round per mode out at a time (`reads.rs`: readers arriving
//!   meanwhile gather in the next round), and publishes the round's outcome, the read index
//!   or a refusal, waking every reader at once. Each reader then waits until the state
//!   machine applied through the read index (published by the loop under the same lock) and
//!   queries it in its own task. A waiting reader costs one lock per poll and one waker in
//!   its round's list; it has no `Notify` or timer of its own (a [`Submitter`] bounds it with
//!   the client's one timer).
//!
//! Architecture invariant: a reader never answers from state the core has not vouched for: a
//! stale read says so; a lease read only before the published lease's end, at a local time
//! never earlier than one the core was given; a ReadIndex read only with its own round's
//! outcome, and only once applied through its read index.
//!
//! [`Core::lease_read`]: crate::core::Core::lease_read
//! [`Submitter`]: super::Submitter

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::clock::Clock;
use crate::client::ClientError;
use crate::core::{LeaseRead, ReadMode};
use crate::state_machine::StateMachine;
use crate::types::{LogIndex, NodeId};

/// The state machine and the index it applied through, shared by the event loop (which
/// applies, snapshots and restores under the lock) and the readers (which query under it).
pub(super) struct Applied<S> {
    pub(super) state_machine: S,
    pub(super) last_applied: LogIndex,
    /// The core's lease (§6.4.1), as the event loop last published it: beside the state
    /// machine, so a lease read checks it and queries under one lock.
    pub(super) lease: Option<LeaseRead>,
    /// Set when the event loop ended: nothing is served any more.
    pub(super) closed: bool,
}

/// The lock a node's state machine lives behind.
pub(super) type SharedStateMachine<S> = Mutex<Applied<S>>;

/// What a query found.
enum Served {
    Answer(Option<Vec<u8>>),
    /// The state machine has not applied through the index yet.
    NotApplied,
    /// The node stopped.
    Closed,
    /// No lease holds (for a lease read).
    NoLease,
}

/// A reader's view of the state machine, whatever its type.
trait Queryable: Send + Sync {
    /// Answer `query` if the state machine applied through `index`.
    fn query_at(&self, index: LogIndex, query: &[u8]) -> Served;

    /// Answer `query` if the lease, read under the lock, holds at `now` (a local time read
    /// during this read, before the lock: the lock is held no longer than the query needs)
    /// and the state machine applied through its read index.
    fn query_leased(&self, now: Duration, query: &[u8]) -> Served;
}

impl<S: StateMachine> Queryable for SharedStateMachine<S> {
    fn query_at(&self, index: LogIndex, query: &[u8]) -> Served {
        // Poisoned: the state machine panicked mid-apply, and the node stopped.
        let Ok(applied) = self.lock() else {
            return Served::Closed;
        };
        if applied.closed {
            Served::Closed
        } else if applied.last_applied < index {
            Served::NotApplied
        } else {
            Served::Answer(applied.state_machine.query(query))
        }
    }

    fn query_leased(&self, now: Duration, query: &[u8]) -> Served {
        let Ok(applied) = self.lock() else {
            return Served::Closed;
        };
        if applied.closed {
            return Served::Closed;
        }
        match applied.lease {
            Some(lease) if now < lease.until => {
                if applied.last_applied < lease.index {
                    Served::NotApplied
                } else {
                    Served::Answer(applied.state_machine.query(query))
                }
            }
            _ => Served::NoLease,
        }
    }
}

/// A confirmation round's outcome: the read index, or the leader hint of a refusal.
type Outcome = Result<LogIndex, Option<NodeId>>;

/// A confirmation round readers have joined.
#[derive(Default)]
struct Round {
    /// The readers still waiting for it.
    readers: usize,
    outcome: Option<Outcome>,
    /// The readers waiting for its outcome, or for the state machine to apply through its
    /// read index: woken all at once when either comes, with no lock of their own (a reader
    /// registers here under the same lock the loop publishes under, so no wake is lost).
    wakers: Vec<Waker>,
}

impl Round {
    fn wake(&mut self) -> Vec<Waker> {
        std::mem::take(&mut self.wakers)
    }
}

/// The most confirmation rounds of one mode the loop has closed and not seen settled or
/// abandoned. Readers arriving while that many are out join the open round, which the loop
/// closes as soon as one settles: at 64 closed-loop readers, a round closed the moment the
/// loop was free held one or two of them (a loop turn, a core read and a heartbeat round
/// each), one closed when the previous one settles holds every reader that arrived meanwhile.
/// (Two out per mode measured 0.7x of one at 64 clients in `rafty bench --reads index`:
/// rounds of half the readers, twice the loop turns.)
pub(super) const MAX_ROUNDS_OUT_PER_MODE: usize = 1;

/// The confirmation rounds of one read mode.
#[derive(Default)]
struct Gate {
    /// The round a read arriving now joins (its generation).
    open: u64,
    /// How many reads joined the open round.
    joined: usize,
    /// Rounds closed and not yet settled or abandoned. While [`MAX_ROUNDS_OUT_PER_MODE`] are
    /// out, the open round's first reader does not wake the loop: the loop closes the open
    /// round itself in the turn one settles, so a wake-up then would be a turn for nothing.
    out: usize,
    /// The rounds some reader still waits for, by generation.
    rounds: BTreeMap<u64, Round>,
}

/// What the event loop publishes for readers.
#[derive(Default)]
struct Published {
    /// [`ReadMode::Index`], [`ReadMode::Lease`].
    gates: [Gate; 2],
    /// The index the state machine applied through, published by the loop after the apply:
    /// never ahead of the state machine's own.
    applied: LogIndex,
    closed: bool,
}

/// The part of a node that readers and the event loop share.
pub(super) struct LocalReads {
    published: Mutex<Published>,
    state_machine: Arc<dyn Queryable>,
    /// Wakes the event loop: a round has readers.
    wanted: Notify,
    /// When the node's time started (the driver's epoch).
    epoch: Instant,
    clock: Option<Arc<dyn Clock>>,
    /// The latest local time the event loop read, in nanoseconds: the core never goes back
    /// in time (`advance_clock`), so neither does a lease check.
    high_water: AtomicU64,
}

fn slot(mode: ReadMode) -> usize {
    match mode {
        ReadMode::Index => 0,
        ReadMode::Lease => 1,
    }
}

impl LocalReads {
    /// Share `state_machine`; the node's time is `clock`'s (or the real time) since `epoch`.
    pub(super) fn new<S: StateMachine>(
        state_machine: Arc<SharedStateMachine<S>>,
        epoch: Instant,
        clock: Option<Arc<dyn Clock>>,
    ) -> LocalReads {
        let applied = lock(&state_machine).last_applied;
        LocalReads {
            published: Mutex::new(Published {
                applied,
                ..Published::default()
            }),
            state_machine,
            wanted: Notify::new(),
            epoch,
            clock,
            high_water: AtomicU64::new(0),
        }
    }

    /// The node's local time now.
    fn local_now(&self) -> Duration {
        let elapsed = Instant::now().duration_since(self.epoch);
        match &self.clock {
            None => elapsed,
            Some(clock) => clock.local(elapsed),
        }
    }

    /// The node's local time now, for the event loop to give the core.
    pub(super) fn loop_now(&self) -> Duration {
        let local = self.local_now();
        let nanos = u64::try_from(local.as_nanos()).unwrap_or(u64::MAX);
        self.high_water.fetch_max(nanos, Ordering::Relaxed);
        local
    }

    /// The node's local time now, but never before a time given to the core: what the core
    /// would take for now.
    fn monotonic_now(&self) -> Duration {
        let local = self.local_now();
        local.max(Duration::from_nanos(
            self.high_water.load(Ordering::Relaxed),
        ))
    }

    /// A stale read: the state as this node applied it, now.
    pub(super) fn stale(&self, query: &[u8]) -> Result<Vec<u8>, ClientError> {
        match self.state_machine.query_at(0, query) {
            Served::Answer(answer) => answer.ok_or(ClientError::QueryUnsupported),
            Served::NotApplied | Served::NoLease | Served::Closed => Err(ClientError::Shutdown),
        }
    }

    /// A lease read served at once, if the published lease holds now and the state machine
    /// applied through its read index; `None` otherwise (confirm it instead).
    pub(super) fn leased(&self, query: &[u8]) -> Option<Result<Vec<u8>, ClientError>> {
        match self.state_machine.query_leased(self.monotonic_now(), query) {
            Served::Answer(answer) => Some(answer.ok_or(ClientError::QueryUnsupported)),
            Served::NotApplied | Served::NoLease => None,
            Served::Closed => Some(Err(ClientError::Shutdown)),
        }
    }

    /// A read confirmed by a round of `mode`: join the open round, wait for its outcome and
    /// for the state machine to apply through its read index, then query it. Not bounded in
    /// time: the caller bounds it.
    pub(super) async fn confirmed(
        &self,
        query: &[u8],
        mode: ReadMode,
    ) -> Result<Vec<u8>, ClientError> {
        let mut ticket = Ticket {
            reads: self,
            slot: slot(mode),
            round: None,
        };
        let index = std::future::poll_fn(|context| self.poll_round(&mut ticket, context)).await?;
        match self.state_machine.query_at(index, query) {
            Served::Answer(answer) => answer.ok_or(ClientError::QueryUnsupported),
            Served::Closed => Err(ClientError::Shutdown),
            Served::NotApplied | Served::NoLease => {
                unreachable!("the loop published index {index} applied before the state machine")
            }
        }
    }

    /// Join the open round (on the first poll; the round's first reader wakes the event
    /// loop), then wait, under one lock per poll, until the round's outcome is published and,
    /// if it released the read, the state machine applied through its read index; the reader
    /// leaves the round then, under the same lock.
    fn poll_round(
        &self,
        ticket: &mut Ticket<'_>,
        context: &mut Context<'_>,
    ) -> Poll<Result<LogIndex, ClientError>> {
        let mut published = lock(&self.published);
        if published.closed {
            return Poll::Ready(Err(ClientError::Shutdown));
        }
        let applied = published.applied;
        let gate = &mut published.gates[ticket.slot];
        let (round, first) = match ticket.round {
            Some(round) => (round, false),
            None => {
                let round = gate.open;
                gate.joined += 1;
                gate.rounds.entry(round).or_default().readers += 1;
                ticket.round = Some(round);
                (round, gate.joined == 1)
            }
        };
        let entry = gate
            .rounds
            .get_mut(&round)
            .expect("a round stays while a reader waits for it");
        let ready = match entry.outcome {
            Some(Err(leader_hint)) => Some(Err(ClientError::NotLeader { leader_hint })),
            Some(Ok(index)) if applied >= index => Some(Ok(index)),
            _ => None,
        };
        if let Some(ready) = ready {
            leave(&mut published, ticket.slot, round);
            ticket.round = None;
            return Poll::Ready(ready);
        }
        entry.wakers.push(context.waker().clone());
        // With a round of this mode out, the loop closes the open round when that one
        // settles (`close_round` and `settle_round` run under this lock, so the reader either
        // joined before the loop looked or sees the round out gone and wakes the loop).
        let wake_loop = first && gate.out < MAX_ROUNDS_OUT_PER_MODE;
        drop(published);
        if wake_loop {
            self.wanted.notify_one();
        }
        Poll::Pending
    }

    // The event loop's side.

    /// Resolves when a round has readers (a permit is kept if the loop is busy).
    pub(super) async fn wanted(&self) {
        self.wanted.notified().await;
    }

    /// Close the open round of `mode` if it has readers and fewer than
    /// [`MAX_ROUNDS_OUT_PER_MODE`] rounds of `mode` are out: its generation, to confirm. The
    /// loop must then settle it ([`LocalReads::settle_round`]) or abandon it
    /// ([`LocalReads::abandon_round`]).
    pub(super) fn close_round(&self, mode: ReadMode) -> Option<u64> {
        let mut published = lock(&self.published);
        let gate = &mut published.gates[slot(mode)];
        if gate.joined == 0 || gate.out >= MAX_ROUNDS_OUT_PER_MODE {
            return None;
        }
        let round = gate.open;
        gate.open += 1;
        gate.joined = 0;
        gate.out += 1;
        Some(round)
    }

    /// The loop forgot a round of `mode` it closed, whose readers all gave up: it is no
    /// longer out.
    pub(super) fn abandon_round(&self, mode: ReadMode) {
        let gate = &mut lock(&self.published).gates[slot(mode)];
        gate.out = gate.out.saturating_sub(1);
    }

    /// Publish round `round` of `mode`'s outcome and wake its readers, all at once.
    pub(super) fn settle_round(&self, mode: ReadMode, round: u64, outcome: Outcome) {
        let mut published = lock(&self.published);
        let applied = published.applied;
        let gate = &mut published.gates[slot(mode)];
        gate.out = gate.out.saturating_sub(1);
        let Some(entry) = gate.rounds.get_mut(&round) else {
            return; // Its readers gave up.
        };
        entry.outcome = Some(outcome);
        if matches!(outcome, Ok(index) if index > applied) {
            return; // Its readers wait for the apply: `applied` wakes them.
        }
        let wakers = entry.wake();
        drop(published);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether some reader still waits for round `round` of `mode`.
    pub(super) fn round_has_readers(&self, mode: ReadMode, round: u64) -> bool {
        lock(&self.published).gates[slot(mode)]
            .rounds
            .contains_key(&round)
    }

    /// The state machine applied through `index` (after the apply, so a reader that sees it
    /// finds the state machine there): wake the readers of every round released at or below
    /// it.
    pub(super) fn applied(&self, index: LogIndex) {
        self.wake_rounds(
            Some(index),
            |round| matches!(round.outcome, Some(Ok(read_index)) if read_index <= index),
        );
    }

    /// Wake the readers of the rounds `which` picks, publishing `applied` first if given.
    fn wake_rounds(&self, applied: Option<LogIndex>, which: impl Fn(&Round) -> bool) {
        let mut published = lock(&self.published);
        if let Some(applied) = applied {
            published.applied = applied;
        }
        let wakers: Vec<Waker> = published
            .gates
            .iter_mut()
            .flat_map(|gate| gate.rounds.values_mut())
            .filter(|round| which(round))
            .flat_map(Round::wake)
            .collect();
        drop(published);
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The event loop ended: every reader, present and future, hears `Shutdown`.
    pub(super) fn close<S: StateMachine>(&self, state_machine: &SharedStateMachine<S>) {
        let mut applied = lock(state_machine);
        applied.closed = true;
        applied.lease = None;
        drop(applied);
        lock(&self.published).closed = true;
        self.wake_rounds(None, |_| true);
    }
}

/// A reader leaves round `round` (answered, or its caller gave up).
fn leave(published: &mut Published, slot: usize, round: u64) {
    let gate = &mut published.gates[slot];
    if round == gate.open {
        gate.joined -= 1;
    }
    if let Some(entry) = gate.rounds.get_mut(&round) {
        entry.readers -= 1;
        if entry.readers == 0 {
            gate.rounds.remove(&round);
        }
    }
}

/// A reader's place in a round, once it joined; leaving it (however the read ends) is
/// counted.
struct Ticket<'a> {
    reads: &'a LocalReads,
    slot: usize,
    /// The round joined and not yet left.
    round: Option<u64>,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(round) = self.round {
            leave(&mut lock(&self.reads.published), self.slot, round);
        }
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks but a state machine, and a node whose state
    // machine panicked is stopped (its readers hear `Shutdown`).
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
