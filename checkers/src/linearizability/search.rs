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
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::linearizability::entries::{HEAD, List, NULL, lists};
use crate::linearizability::memo::{Memo, hash_state, mix};
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

/// When to give up.
pub(crate) struct Stop<'a> {
    /// The time limit.
    pub(crate) deadline: Option<Instant>,
    /// Set when another partition settled the verdict, or the time limit passed.
    pub(crate) cancelled: &'a AtomicBool,
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
    /// Another partition settled the verdict first.
    Cancelled,
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
struct Frame<S> {
    /// Where it was taken from; the search resumes after it when backtracking.
    cursor: Cursor,
    /// The state before it.
    previous: S,
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
    fn reach<S>(&mut self, position: usize, stuck: usize, stack: &[Frame<S>], lists: &Lists) {
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

/// Searches for a linearization of `calls` (one partition) under `model`.
pub(crate) fn search<M: Model>(
    model: &M,
    calls: &[Call<M::Input, M::Output>],
    stop: &Stop<'_>,
) -> Searched {
    let (determinate, indeterminate) = lists(calls);
    let mut lists = Lists {
        determinate,
        indeterminate,
    };
    let twins = twins(calls);
    let mut linearized = LinearizedSet::new(calls.iter().map(|call| call.ret.is_some()));
    let mut key = Vec::new();
    let mut memo: Memo<M::State> = Memo::new();
    let mut state = model.init();
    let mut stack: Vec<Frame<M::State>> = Vec::new();
    let mut remaining = calls.iter().filter(|call| call.ret.is_some()).count();
    let mut furthest = Furthest {
        position: 0,
        reached: false,
        stuck: 0,
        linearized: Vec::new(),
        low_water: 0,
    };
    // Look at the clock on the first step, then every STEPS_PER_CHECK.
    let mut steps = STEPS_PER_CHECK - 1;
    let mut cursor = lists.first();
    while remaining > 0 {
        steps += 1;
        if steps == STEPS_PER_CHECK {
            steps = 0;
            if let Some(stopped) = stopped(stop) {
                return stopped;
            }
        }
        let candidate = match cursor {
            Cursor::Determinate(entry) => {
                debug_assert_ne!(entry, NULL, "a determinate call's return is always ahead");
                if lists.determinate.is_call[entry as usize] {
                    Some(entry)
                } else {
                    // Past the determinate candidates: on to the indeterminate ones.
                    let position = lists.determinate.position[entry as usize];
                    let stuck = lists.determinate.call[entry as usize] as usize;
                    furthest.reach(position, stuck, &stack, &lists);
                    cursor =
                        Cursor::Indeterminate(lists.indeterminate.next[HEAD as usize], position);
                    continue;
                }
            }
            Cursor::Indeterminate(entry, limit) => (entry != NULL
                && lists.indeterminate.position[entry as usize] < limit)
                .then_some(entry),
        };
        let Some(_) = candidate else {
            // No candidate left: backtrack.
            loop {
                let Some(frame) = stack.pop() else {
                    return Searched::Illegal {
                        stuck: furthest.stuck,
                        linearized: furthest.linearized,
                    };
                };
                furthest.low_water = furthest.low_water.min(stack.len());
                memo.finish(frame.variant);
                state = frame.previous;
                let undone = lists.call_at(frame.cursor);
                linearized.remove(undone);
                remaining += usize::from(calls[undone].ret.is_some());
                lists.unlift(frame.cursor);
                cursor = lists.after(frame.cursor);
                if !frame.forced {
                    break;
                }
            }
            continue;
        };
        let index = lists.call_at(cursor);
        let call = &calls[index];
        if call.ret.is_none() && has_pending_twin(&twins, &linearized, index) {
            // A pending identical indeterminate call invoked earlier was tried here already,
            // and leads to the same configurations up to renaming.
            cursor = lists.after(cursor);
            continue;
        }
        let next_state = model
            .step(&state, &call.input, call.output.as_ref())
            // An indeterminate call that leaves the state as it is need not be linearized
            // here: leaving it pending (to take effect later, or never) reaches every
            // configuration this would.
            .filter(|next_state| call.ret.is_some() || *next_state != state);
        let Some(next_state) = next_state else {
            cursor = lists.after(cursor);
            continue;
        };
        linearized.insert(index);
        linearized.encode_determinate(&mut key);
        let hash = mix(linearized.determinate_hash() ^ hash_state(&next_state));
        let Some(variant) = memo.visit(hash, &key, &next_state, linearized.indeterminate()) else {
            linearized.remove(index);
            cursor = lists.after(cursor);
            continue;
        };
        // A read-only call legal here can be linearized here in any linearization from
        // here: if that fails, so does every other order.
        let forced = call.ret.is_some() && model.is_read_only(&call.input, call.output.as_ref());
        stack.push(Frame {
            cursor,
            previous: std::mem::replace(&mut state, next_state),
            variant,
            forced,
        });
        remaining -= usize::from(call.ret.is_some());
        lists.lift(cursor);
        cursor = lists.first();
    }
    Searched::Linearizable
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

fn stopped(stop: &Stop<'_>) -> Option<Searched> {
    if stop.cancelled.load(Ordering::Relaxed) {
        return Some(Searched::Cancelled);
    }
    if stop
        .deadline
        .is_some_and(|deadline| Instant::now() >= deadline)
    {
        return Some(Searched::TimedOut);
    }
    None
}
