//! Wing & Gong's backtracking search with Lowe's memoization, over one partition.
//!
//! Calls and returns sit in a doubly linked list in real-time order. The search walks it from
//! the front: at a call, it tries to linearize that operation now (the model accepts it and the
//! resulting configuration is new), removing its call and return from the list; at a return, the
//! operation it closes should already have been linearized, so it backtracks. Indeterminate
//! operations have no return: they may be linearized anywhere after their call, or never.
//! The search succeeds when every determinate operation is linearized.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::linearizability::memo::{Memo, hash_state, mix};
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

const HEAD: u32 = 0;
const NULL: u32 = u32::MAX;
/// How many steps run between two looks at the clock.
const STEPS_PER_CHECK: u32 = 4096;

/// The linked list of call and return entries; entry 0 is the head.
struct Entries {
    next: Vec<u32>,
    prev: Vec<u32>,
    /// The call index each entry belongs to.
    call: Vec<u32>,
    /// For a call entry, its return entry (or NULL when indeterminate); NULL for a return.
    ret: Vec<u32>,
    is_call: Vec<bool>,
}

impl Entries {
    fn new<I, O>(calls: &[Call<I, O>]) -> Entries {
        let mut events: Vec<(usize, u32, bool)> = Vec::with_capacity(calls.len() * 2);
        for (i, call) in calls.iter().enumerate() {
            events.push((call.call, i as u32, true));
            if let Some(ret) = call.ret {
                events.push((ret, i as u32, false));
            }
        }
        events.sort_unstable_by_key(|&(position, _, _)| position);
        let count = events.len() + 1;
        let mut entries = Entries {
            next: (1..=count as u32).collect(),
            prev: (0..count as u32).map(|i| i.wrapping_sub(1)).collect(),
            call: vec![NULL; count],
            ret: vec![NULL; count],
            is_call: vec![false; count],
        };
        entries.next[count - 1] = NULL;
        let mut call_entry = vec![NULL; calls.len()];
        for (i, &(_, call, is_call)) in events.iter().enumerate() {
            let entry = i + 1;
            entries.call[entry] = call;
            entries.is_call[entry] = is_call;
            if is_call {
                call_entry[call as usize] = entry as u32;
            } else {
                entries.ret[call_entry[call as usize] as usize] = entry as u32;
            }
        }
        entries
    }

    fn unlink(&mut self, entry: u32) {
        let (prev, next) = (self.prev[entry as usize], self.next[entry as usize]);
        self.next[prev as usize] = next;
        if next != NULL {
            self.prev[next as usize] = prev;
        }
    }

    fn relink(&mut self, entry: u32) {
        let (prev, next) = (self.prev[entry as usize], self.next[entry as usize]);
        self.next[prev as usize] = entry;
        if next != NULL {
            self.prev[next as usize] = entry;
        }
    }

    /// Removes a call entry and its return.
    fn lift(&mut self, entry: u32) {
        self.unlink(entry);
        let ret = self.ret[entry as usize];
        if ret != NULL {
            self.unlink(ret);
        }
    }

    /// Undoes [`Entries::lift`].
    fn unlift(&mut self, entry: u32) {
        let ret = self.ret[entry as usize];
        if ret != NULL {
            self.relink(ret);
        }
        self.relink(entry);
    }
}

/// A linearized call on the search stack.
struct Frame<S> {
    /// Its call entry.
    entry: u32,
    /// The state before it.
    previous: S,
    /// Whether it was forced (read-only and legal): then the configuration before it has no
    /// linearization either, and backtracking goes on past it.
    forced: bool,
}

/// The furthest configuration the search reached: where its longest linearizable prefix ends.
struct Furthest {
    /// The return entry it stopped at.
    entry: u32,
    /// The calls linearized there, in order (kept incrementally, see `low_water`).
    linearized: Vec<usize>,
    /// The stack has not dropped below this height since `linearized` was taken, so its first
    /// `low_water` calls are still the stack's.
    low_water: usize,
}

/// Searches for a linearization of `calls` (one partition) under `model`.
pub(crate) fn search<M: Model>(
    model: &M,
    calls: &[Call<M::Input, M::Output>],
    stop: &Stop<'_>,
) -> Searched {
    let mut entries = Entries::new(calls);
    let twins = twins(calls);
    let words = calls.len().div_ceil(64).max(1);
    let mut linearized = vec![0u64; words];
    let zobrist: Vec<u64> = (0..calls.len() as u64)
        .map(|i| mix(i.wrapping_add(0x9e37_79b9_7f4a_7c15)))
        .collect();
    let mut linearized_hash = 0u64;
    let mut memo: Memo<M::State> = Memo::new(words);
    let mut state = model.init();
    let mut stack: Vec<Frame<M::State>> = Vec::new();
    let mut remaining = calls.iter().filter(|call| call.ret.is_some()).count();
    let mut furthest = Furthest {
        entry: 0,
        linearized: Vec::new(),
        low_water: 0,
    };
    // Look at the clock on the first step, then every STEPS_PER_CHECK.
    let mut steps = STEPS_PER_CHECK - 1;
    let mut entry = entries.next[HEAD as usize];
    while remaining > 0 {
        steps += 1;
        if steps == STEPS_PER_CHECK {
            steps = 0;
            if let Some(stopped) = stopped(stop) {
                return stopped;
            }
        }
        debug_assert_ne!(entry, NULL, "a determinate call's return is always ahead");
        let index = entries.call[entry as usize] as usize;
        if entries.is_call[entry as usize] {
            let call = &calls[index];
            if has_pending_twin(&twins, &linearized, index) {
                // A pending identical indeterminate call earlier in the list was tried here
                // already, and leads to the same configurations up to renaming.
                entry = entries.next[entry as usize];
                continue;
            }
            let next_state = model
                .step(&state, &call.input, call.output.as_ref())
                // An indeterminate call that leaves the state as it is need not be linearized
                // here: leaving it pending (to take effect later, or never) reaches every
                // configuration this would.
                .filter(|next_state| call.ret.is_some() || *next_state != state);
            if let Some(next_state) = next_state {
                let (word, bit) = (index / 64, 1u64 << (index % 64));
                linearized[word] |= bit;
                let hash = mix(linearized_hash ^ zobrist[index] ^ hash_state(&next_state));
                if memo.insert(hash, &linearized, &next_state) {
                    linearized_hash ^= zobrist[index];
                    // A read-only call legal here can be linearized here in any
                    // linearization from here: no need to try other orders if it fails.
                    let forced =
                        call.ret.is_some() && model.is_read_only(&call.input, call.output.as_ref());
                    stack.push(Frame {
                        entry,
                        previous: std::mem::replace(&mut state, next_state),
                        forced,
                    });
                    remaining -= usize::from(call.ret.is_some());
                    entries.lift(entry);
                    entry = entries.next[HEAD as usize];
                    continue;
                }
                linearized[word] &= !bit;
            }
            entry = entries.next[entry as usize];
        } else {
            if entry > furthest.entry {
                furthest.entry = entry;
                furthest.linearized.truncate(furthest.low_water);
                let newer = &stack[furthest.low_water..];
                let newer = newer
                    .iter()
                    .map(|frame| entries.call[frame.entry as usize] as usize);
                furthest.linearized.extend(newer);
                furthest.low_water = stack.len();
            }
            loop {
                let Some(frame) = stack.pop() else {
                    let stuck = entries.call[furthest.entry as usize] as usize;
                    return Searched::Illegal {
                        stuck,
                        linearized: furthest.linearized,
                    };
                };
                furthest.low_water = furthest.low_water.min(stack.len());
                state = frame.previous;
                let undone = entries.call[frame.entry as usize] as usize;
                linearized[undone / 64] &= !(1u64 << (undone % 64));
                linearized_hash ^= zobrist[undone];
                remaining += usize::from(calls[undone].ret.is_some());
                entries.unlift(frame.entry);
                entry = entries.next[frame.entry as usize];
                if !frame.forced {
                    break;
                }
            }
        }
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
fn has_pending_twin(twins: &[u32], linearized: &[u64], mut index: usize) -> bool {
    loop {
        let twin = twins[index];
        if twin == NULL {
            return false;
        }
        index = twin as usize;
        if linearized[index / 64] & (1u64 << (index % 64)) == 0 {
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
