//! Wing & Gong's backtracking search with Lowe's memoization, over one partition.
//!
//! Determinate calls and their returns sit in a doubly linked list in real-time order. The
//! search walks it from the front: at a call, it tries to linearize that operation now (the
//! model accepts it and the resulting configuration is new), lifting its call and return out of
//! the list. At a return, the operation it closes should already have been linearized: the
//! search then tries the indeterminate calls invoked before that return (they have no return:
//! they may be linearized anywhere after their call, or never), and when none is left, it
//! backtracks. The search succeeds when every determinate operation is linearized.
//!
//! Trying indeterminate calls last explores the configurations that linearized fewer of them
//! first, so that the memo can skip the ones they dominate (see [`Memo`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

use crate::linearizability::entries::{HEAD, List, NULL, lists};
use crate::linearizability::memo::{Memo, hash_state, mix, vec_bytes};
use crate::linearizability::set::LinearizedSet;
use crate::model::Model;

/// One call of a partition, ready for the search.
#[derive(Debug)]
pub(crate) struct Call<I, O> {
    /// Index of the operation in the history's paired operations.
    pub(crate) operation: usize,
    /// The model input.
    pub(crate) input: I,
    /// The observed output; `None` when indeterminate.
    pub(crate) output: Option<O>,
    /// Position of the invocation in the history.
    pub(crate) call: usize,
    /// Position of the completion, for determinate calls.
    pub(crate) ret: Option<usize>,
}

/// A partition's calls under a model.
pub(crate) type Calls<M> = Vec<Call<<M as Model>::Input, <M as Model>::Output>>;

/// When to give up.
pub(crate) struct Stop {
    /// The time limit.
    pub(crate) deadline: Option<Instant>,
    /// The most bytes the live searches may hold together (see
    /// [`CheckOptions::memory_budget`](crate::CheckOptions::memory_budget)).
    pub(crate) memory_budget: Option<usize>,
}

impl Stop {
    /// The limits of `options`, the time limit counted from `started`.
    pub(crate) fn new(started: Instant, options: &crate::CheckOptions) -> Stop {
        Stop {
            deadline: options.time_limit.map(|limit| started + limit),
            memory_budget: options.memory_budget,
        }
    }

    /// Whether the time limit has passed.
    fn timed_out(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }
}

/// How the search of one partition ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Searched {
    /// A linearization exists.
    Linearizable,
    /// None exists. In the furthest configuration reached, call `stuck` could not be
    /// linearized after the calls `linearized` (indices into the partition's calls, in order).
    Illegal {
        stuck: usize,
        linearized: Vec<usize>,
    },
    /// The time limit passed.
    TimedOut,
}

/// How many steps run between two looks at the clock.
const STEPS_PER_CHECK: u32 = 4096;

/// Where the search is in the current configuration's candidates.
#[derive(Debug, Clone, Copy)]
enum Cursor {
    /// At this entry of the determinate list.
    Determinate(u32),
    /// At this entry of the indeterminate list; candidates are invoked before `limit`, the
    /// position of the first pending return.
    Indeterminate(u32, usize),
}

/// A linearized call on the search stack.
struct Frame {
    /// Where it was taken from; the search resumes after it when backtracking.
    cursor: Cursor,
    /// The memo entry of the state before it.
    previous: u32,
    /// The memo variant of the configuration it led to, finished when it is backtracked.
    variant: u32,
    /// Whether it was forced (read-only and legal): then the configuration before it has no
    /// linearization either, and backtracking goes on past it.
    forced: bool,
}

/// The furthest configuration the search reached: where its longest linearizable prefix ends.
struct Furthest {
    /// The position of the return it stopped at.
    position: usize,
    /// Whether it was reached at all.
    reached: bool,
    /// The call of that return.
    stuck: usize,
    /// The calls linearized there, in order (kept incrementally, see `low_water`).
    linearized: Vec<usize>,
    /// The stack has not dropped below this height since `linearized` was taken, so its first
    /// `low_water` calls are still the stack's.
    low_water: usize,
}

impl Furthest {
    /// Records the configuration at a pending return, if it is the furthest yet.
    fn reach(&mut self, position: usize, stuck: usize, stack: &[Frame], lists: &Lists) {
        if self.reached && position <= self.position {
            return;
        }
        self.reached = true;
        self.position = position;
        self.stuck = stuck;
        self.linearized.truncate(self.low_water);
        let newer = stack[self.low_water..]
            .iter()
            .map(|frame| lists.call_at(frame.cursor));
        self.linearized.extend(newer);
        self.low_water = stack.len();
    }
}

/// Both lists.
struct Lists {
    determinate: List,
    indeterminate: List,
}

impl Lists {
    fn call_at(&self, cursor: Cursor) -> usize {
        match cursor {
            Cursor::Determinate(entry) => self.determinate.call[entry as usize] as usize,
            Cursor::Indeterminate(entry, _) => self.indeterminate.call[entry as usize] as usize,
        }
    }

    fn lift(&mut self, cursor: Cursor) {
        match cursor {
            Cursor::Determinate(entry) => self.determinate.lift(entry),
            Cursor::Indeterminate(entry, _) => self.indeterminate.lift(entry),
        }
    }

    fn unlift(&mut self, cursor: Cursor) {
        match cursor {
            Cursor::Determinate(entry) => self.determinate.unlift(entry),
            Cursor::Indeterminate(entry, _) => self.indeterminate.unlift(entry),
        }
    }

    /// The candidate after `cursor`'s.
    fn after(&self, cursor: Cursor) -> Cursor {
        match cursor {
            Cursor::Determinate(entry) => {
                Cursor::Determinate(self.determinate.next[entry as usize])
            }
            Cursor::Indeterminate(entry, limit) => {
                Cursor::Indeterminate(self.indeterminate.next[entry as usize], limit)
            }
        }
    }

    fn first(&self) -> Cursor {
        Cursor::Determinate(self.determinate.next[HEAD as usize])
    }
}

/// A resumable search over one partition: [`Search::run`] takes steps until a verdict, a step
/// budget or a stop, and a later call resumes where it paused. The steps taken depend only on
/// the calls, never on timing, so a schedule of budgets gives the same outcome every run.
pub(crate) struct Search<'c, M: Model> {
    model: &'c M,
    calls: Vec<Call<M::Input, M::Output>>,
    lists: Lists,
    twins: Vec<u32>,
    linearized: LinearizedSet,
    /// Scratch for the memo key.
    key: Vec<u64>,
    memo: Memo<M::State>,
    /// The memo entry holding the current state (every state the search stands in is
    /// memoized, the initial one included: the memo's copy is the only one).
    state: u32,
    stack: Vec<Frame>,
    /// Determinate calls not yet linearized.
    remaining: usize,
    furthest: Furthest,
    cursor: Cursor,
    /// Steps taken so far (one per candidate looked at or frame backtracked).
    steps: u64,
    /// The verdict, once reached.
    done: Option<Searched>,
}

impl<'c, M: Model> Search<'c, M> {
    /// A search of `calls` (one partition) under `model`, not started.
    pub(crate) fn new(model: &'c M, mut calls: Vec<Call<M::Input, M::Output>>) -> Search<'c, M> {
        // Held for the whole search: no room for growth it will not have.
        calls.shrink_to_fit();
        let (determinate, indeterminate) = lists(&calls);
        let lists = Lists {
            determinate,
            indeterminate,
        };
        let cursor = lists.first();
        let mut memo = Memo::new();
        let state = memo.initial(model.init());
        Search {
            model,
            lists,
            twins: twins(&calls),
            linearized: LinearizedSet::new(calls.iter().map(|call| call.ret.is_some())),
            key: Vec::new(),
            memo,
            state,
            stack: Vec::new(),
            remaining: calls.iter().filter(|call| call.ret.is_some()).count(),
            calls,
            furthest: Furthest {
                position: 0,
                reached: false,
                stuck: 0,
                linearized: Vec::new(),
                low_water: 0,
            },
            cursor,
            steps: 0,
            done: None,
        }
    }

    /// Configurations memoized so far (what the search's memory grows with).
    pub(crate) fn memoized(&self) -> usize {
        self.memo.len()
    }

    /// The bytes the search holds: its calls, lists, memo, stack and the rest (what it has
    /// allocated; a value's own heap, such as a long string's, is not counted). The same
    /// every run of the same calls and steps.
    pub(crate) fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + vec_bytes(&self.calls)
            + self.lists.determinate.heap_bytes()
            + self.lists.indeterminate.heap_bytes()
            + vec_bytes(&self.twins)
            + self.linearized.heap_bytes()
            + vec_bytes(&self.key)
            + self.memo.heap_bytes()
            + vec_bytes(&self.stack)
            + vec_bytes(&self.furthest.linearized)
    }

    /// Steps taken so far.
    pub(crate) fn steps(&self) -> u64 {
        self.steps
    }

    /// Runs until the verdict (returned, and again on every later call), until `steps()`
    /// reaches `budget` (`None`: paused, resume with a larger budget), or until the time limit
    /// passes ([`Searched::TimedOut`], final too).
    pub(crate) fn run(&mut self, budget: u64, stop: &Stop) -> Option<&Searched> {
        if self.done.is_none() {
            self.done = self.advance(budget, stop);
        }
        self.done.as_ref()
    }

    /// The verdict, once reached.
    pub(crate) fn verdict(&self) -> Option<&Searched> {
        self.done.as_ref()
    }

    /// The calls searched.
    pub(crate) fn calls(&self) -> &[Call<M::Input, M::Output>] {
        &self.calls
    }

    /// The verdict, once reached, and the calls searched, by value.
    pub(crate) fn into_parts(self) -> (Option<Searched>, Calls<M>) {
        (self.done, self.calls)
    }

    fn advance(&mut self, budget: u64, stop: &Stop) -> Option<Searched> {
        // Look at the clock on the first step, then every STEPS_PER_CHECK.
        let mut since_check = STEPS_PER_CHECK - 1;
        while self.remaining > 0 {
            if self.steps >= budget {
                return None;
            }
            self.steps += 1;
            since_check += 1;
            if since_check == STEPS_PER_CHECK {
                since_check = 0;
                if stop.timed_out() {
                    return Some(Searched::TimedOut);
                }
            }
            if let Some(illegal) = self.step() {
                return Some(illegal);
            }
        }
        Some(Searched::Linearizable)
    }

    /// One step: looks at the candidate under the cursor, linearizing it or moving past it,
    /// or backtracks when there is none. Returns the verdict when the search is exhausted.
    fn step(&mut self) -> Option<Searched> {
        let lists = &mut self.lists;
        let candidate = match self.cursor {
            Cursor::Determinate(entry) => {
                debug_assert_ne!(entry, NULL, "a determinate call's return is always ahead");
                if lists.determinate.is_call[entry as usize] {
                    Some(entry)
                } else {
                    // Past the determinate candidates: on to the indeterminate ones.
                    let position = lists.determinate.position[entry as usize];
                    let stuck = lists.determinate.call[entry as usize] as usize;
                    self.furthest.reach(position, stuck, &self.stack, lists);
                    self.cursor =
                        Cursor::Indeterminate(lists.indeterminate.next[HEAD as usize], position);
                    return None;
                }
            }
            Cursor::Indeterminate(entry, limit) => (entry != NULL
                && lists.indeterminate.position[entry as usize] < limit)
                .then_some(entry),
        };
        if candidate.is_none() {
            return self.backtrack();
        }
        let cursor = self.cursor;
        let index = lists.call_at(cursor);
        let call = &self.calls[index];
        if call.ret.is_none() && has_pending_twin(&self.twins, &self.linearized, index) {
            // A pending identical indeterminate call invoked earlier was tried here already,
            // and leads to the same configurations up to renaming.
            self.cursor = lists.after(cursor);
            return None;
        }
        let state = self.memo.state(self.state);
        let next_state = self
            .model
            .step(state, &call.input, call.output.as_ref())
            // An indeterminate call that leaves the state as it is need not be linearized
            // here: leaving it pending (to take effect later, or never) reaches every
            // configuration this would.
            .filter(|next_state| call.ret.is_some() || next_state != state);
        let Some(next_state) = next_state else {
            self.cursor = lists.after(cursor);
            return None;
        };
        self.linearized.insert(index);
        self.linearized.encode_determinate(&mut self.key);
        let hash = mix(self.linearized.determinate_hash() ^ hash_state(&next_state));
        let visited = self.memo.visit(
            hash,
            &self.key,
            next_state,
            self.linearized.indeterminate_hash(),
            self.linearized.indeterminate(),
        );
        let Some((entry, variant)) = visited else {
            self.linearized.remove(index);
            self.cursor = lists.after(cursor);
            return None;
        };
        // A read-only call legal here can be linearized here in any linearization from
        // here: if that fails, so does every other order.
        let forced =
            call.ret.is_some() && self.model.is_read_only(&call.input, call.output.as_ref());
        self.stack.push(Frame {
            cursor,
            previous: std::mem::replace(&mut self.state, entry),
            variant,
            forced,
        });
        self.remaining -= usize::from(call.ret.is_some());
        lists.lift(cursor);
        self.cursor = lists.first();
        None
    }

    /// Undoes the last linearized call (and the forced ones under it) and moves past it;
    /// [`Searched::Illegal`] when there is nothing left to undo.
    fn backtrack(&mut self) -> Option<Searched> {
        loop {
            let Some(frame) = self.stack.pop() else {
                return Some(Searched::Illegal {
                    stuck: self.furthest.stuck,
                    linearized: std::mem::take(&mut self.furthest.linearized),
                });
            };
            self.furthest.low_water = self.furthest.low_water.min(self.stack.len());
            self.memo.finish(frame.variant);
            self.state = frame.previous;
            let undone = self.lists.call_at(frame.cursor);
            self.linearized.remove(undone);
            self.remaining += usize::from(self.calls[undone].ret.is_some());
            self.lists.unlift(frame.cursor);
            self.cursor = self.lists.after(frame.cursor);
            if !frame.forced {
                return None;
            }
        }
    }
}

/// For each indeterminate call, the closest earlier indeterminate call with the same input
/// (`NULL` if none). Once both are invoked and pending they are interchangeable: neither has a
/// return to bound it.
fn twins<I: Eq + Hash, O>(calls: &[Call<I, O>]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..calls.len())
        .filter(|&i| calls[i].ret.is_none())
        .collect();
    order.sort_unstable_by_key(|&i| calls[i].call);
    let mut last: HashMap<&I, u32> = HashMap::new();
    let mut twins = vec![NULL; calls.len()];
    for i in order {
        if let Some(previous) = last.insert(&calls[i].input, i as u32) {
            twins[i] = previous;
        }
    }
    twins
}

/// Whether an earlier identical indeterminate call is still pending.
fn has_pending_twin(twins: &[u32], linearized: &LinearizedSet, mut index: usize) -> bool {
    loop {
        let twin = twins[index];
        if twin == NULL {
            return false;
        }
        index = twin as usize;
        if !linearized.contains(index) {
            return true;
        }
    }
}
