//! Commit latency as Raft defines it, measured inside the leader: from the moment the leader's
//! core accepts a client command ([`Observer::on_proposed`], called by the driver right after
//! `Core::propose` and before the sends and the leader's own write that follow) to the moment
//! the leader learns that the command's entry is committed ([`NodeEvent::Committed`], reported
//! by the driver when it executes the core's `Apply` of that entry, before the state machine
//! runs it). Neither the client's hops to and from the leader nor the state machine are in it.
//!
//! A [`CommitClock`] is one node's observer; only entries proposed between
//! [`CommitClock::start`] and [`CommitClock::stop`] and committed before the stop are
//! recorded, in an hdrhistogram (the same bounds as the client latencies). Real mode also
//! wraps each node's log in a [`TimedLog`], which records how long each append (write +
//! fsync) took in the same window. Both read the OS clock, so they are for `rafty bench`
//! only; the simulation never installs them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rafty::core::Role;
use rafty::node::{NodeEvent, Observer};
use rafty::{Entry, HardState, Log, LogError, LogIndex, NodeId, Term};

use super::stats::{new_histogram, record_n_clamped};

/// Entries proposed together, waiting for their commit.
struct Batch {
    first: LogIndex,
    count: u64,
    proposed_at: Instant,
}

struct State {
    measuring: bool,
    /// Proposals of the window not known committed yet, in index order.
    pending: VecDeque<Batch>,
    histogram: Histogram<u64>,
    /// How long the node's log appends of the window took (write + fsync of each batch).
    appends: Histogram<u64>,
}

/// What a [`CommitClock`] measured over one window, in nanoseconds.
pub struct Measured {
    /// The commit latency of each entry the node proposed as leader.
    pub commits: Histogram<u64>,
    /// The duration of each of the node's log appends ([`TimedLog`]), leader or follower.
    pub appends: Histogram<u64>,
}

/// Measures one node's commit latency of the entries it proposes as leader (see the module).
pub struct CommitClock {
    state: Mutex<State>,
}

impl Default for CommitClock {
    fn default() -> Self {
        CommitClock {
            state: Mutex::new(State {
                measuring: false,
                pending: VecDeque::new(),
                histogram: new_histogram(),
                appends: new_histogram(),
            }),
        }
    }
}

impl CommitClock {
    /// From now on, record the entries this node proposes.
    pub fn start(&self) {
        let mut state = self.lock();
        state.measuring = true;
        state.pending.clear();
        state.histogram.reset();
        state.appends.reset();
    }

    /// Stop recording and hand over the commit latencies of the entries proposed since
    /// [`Self::start`] that committed before now, and the log appends since then. Entries
    /// still waiting are dropped, as a client operation that finishes after the window is.
    pub fn stop(&self) -> Measured {
        let mut state = self.lock();
        state.measuring = false;
        state.pending.clear();
        Measured {
            commits: std::mem::replace(&mut state.histogram, new_histogram()),
            appends: std::mem::replace(&mut state.appends, new_histogram()),
        }
    }

    /// A log append took `duration` (recorded while measuring).
    fn appended(&self, duration: Duration) {
        let mut state = self.lock();
        if state.measuring {
            let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
            record_n_clamped(&mut state.appends, nanos, 1);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Observer for CommitClock {
    fn on_proposed(&self, _node: NodeId, first_index: LogIndex, count: u64, _term: Term) {
        let proposed_at = Instant::now();
        let mut state = self.lock();
        if state.measuring && count > 0 {
            state.pending.push_back(Batch {
                first: first_index,
                count,
                proposed_at,
            });
        }
    }

    fn on_event(&self, _node: NodeId, event: &NodeEvent) {
        match event {
            NodeEvent::Committed { index } => {
                let committed_at = Instant::now();
                let mut state = self.lock();
                let state = &mut *state;
                while let Some(batch) = state.pending.front_mut() {
                    if batch.first > *index {
                        break;
                    }
                    let last = batch.first + batch.count - 1;
                    let done = last.min(*index) - batch.first + 1;
                    let nanos = committed_at.duration_since(batch.proposed_at).as_nanos();
                    let nanos = u64::try_from(nanos).unwrap_or(u64::MAX);
                    record_n_clamped(&mut state.histogram, nanos, done);
                    if done == batch.count {
                        state.pending.pop_front();
                    } else {
                        batch.first += done;
                        batch.count -= done;
                    }
                }
            }
            // A deposed leader's uncommitted entries may be overwritten: whatever commits at
            // their indexes later is not what it proposed.
            NodeEvent::RoleChanged { role, .. } if *role != Role::Leader => {
                self.lock().pending.clear();
            }
            _ => {}
        }
    }
}

/// A [`Log`] that times its appends into a [`CommitClock`]: what the disk cost each node
/// during the window (write + fsync of each batch, with the other nodes writing to the same
/// disk), to set beside the fsync probe measured alone before the round.
pub struct TimedLog<L> {
    inner: L,
    clock: Arc<CommitClock>,
}

impl<L: Log> TimedLog<L> {
    /// Time `inner`'s appends into `clock`.
    pub fn new(inner: L, clock: Arc<CommitClock>) -> TimedLog<L> {
        TimedLog { inner, clock }
    }
}

impl<L: Log> Log for TimedLog<L> {
    fn hard_state(&self) -> HardState {
        self.inner.hard_state()
    }

    fn save_hard_state(&mut self, state: HardState) -> Result<(), LogError> {
        self.inner.save_hard_state(state)
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        let start = Instant::now();
        let appended = self.inner.append(entries);
        self.clock.appended(start.elapsed());
        appended
    }

    fn truncate(&mut self, from: LogIndex) -> Result<(), LogError> {
        self.inner.truncate(from)
    }

    fn entries(&self, low: LogIndex, high: LogIndex) -> Result<Vec<Entry>, LogError> {
        self.inner.entries(low, high)
    }

    fn term(&self, index: LogIndex) -> Result<Option<Term>, LogError> {
        self.inner.term(index)
    }

    fn first_index(&self) -> LogIndex {
        self.inner.first_index()
    }

    fn last_index(&self) -> LogIndex {
        self.inner.last_index()
    }

    fn compact(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        self.inner.compact(index, term)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_window_proposals_once_committed() {
        let clock = CommitClock::default();
        clock.on_proposed(1, 1, 1, 1);
        clock.start();
        clock.on_proposed(1, 2, 3, 1);
        clock.on_proposed(1, 5, 1, 1);
        clock.on_event(1, &NodeEvent::Committed { index: 3 });
        assert_eq!(clock.lock().histogram.len(), 2);
        clock.on_event(1, &NodeEvent::Committed { index: 4 });
        assert_eq!(clock.lock().histogram.len(), 3);
        clock.appended(Duration::from_micros(100));
        let measured = clock.stop();
        assert_eq!(measured.commits.len(), 3, "index 5 never committed");
        assert_eq!(measured.appends.len(), 1);
        clock.on_proposed(1, 6, 1, 1);
        clock.on_event(1, &NodeEvent::Committed { index: 6 });
        clock.appended(Duration::from_micros(100));
        let measured = clock.stop();
        assert_eq!(measured.commits.len(), 0, "not measuring");
        assert_eq!(measured.appends.len(), 0, "not measuring");
    }

    #[test]
    fn a_deposed_leader_forgets_its_pending_entries() {
        let clock = CommitClock::default();
        clock.start();
        clock.on_proposed(1, 1, 2, 1);
        let deposed = NodeEvent::RoleChanged {
            role: Role::Follower,
            term: 2,
            leader: Some(2),
        };
        clock.on_event(1, &deposed);
        clock.on_event(1, &NodeEvent::Committed { index: 2 });
        assert_eq!(clock.stop().commits.len(), 0);
    }
}
