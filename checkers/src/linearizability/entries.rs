//! The two linked lists the search walks, in real-time order: determinate calls with their
//! returns, and indeterminate calls (which have no return). Linearizing a call lifts it (and
//! its return) out of its list; backtracking puts it back.

use std::collections::HashMap;

use crate::linearizability::memo::vec_bytes;
use crate::linearizability::search::Call;

/// The list head; real entries are numbered from 1, in real-time order.
pub(crate) const HEAD: u32 = 0;
/// No entry.
pub(crate) const NULL: u32 = u32::MAX;

/// A doubly linked list over numbered entries, with entry 0 as its head.
pub(crate) struct List {
    pub(crate) next: Vec<u32>,
    prev: Vec<u32>,
    /// The call each entry belongs to.
    pub(crate) call: Vec<u32>,
    /// The history position of each entry (its call's invocation, or its return).
    pub(crate) position: Vec<usize>,
    /// For a call entry of the determinate list, its return entry; NULL otherwise.
    pub(crate) ret: Vec<u32>,
    /// Whether each entry is a call (not a return).
    pub(crate) is_call: Vec<bool>,
}

impl List {
    /// A list of `(position, call, is_call)` events, sorted here by position.
    fn new(mut events: Vec<(usize, u32, bool)>) -> List {
        events.sort_unstable_by_key(|&(position, _, _)| position);
        let count = events.len() + 1;
        let mut list = List {
            next: (1..=count as u32).collect(),
            prev: (0..count as u32).map(|i| i.wrapping_sub(1)).collect(),
            call: vec![NULL; count],
            position: vec![0; count],
            ret: vec![NULL; count],
            is_call: vec![false; count],
        };
        list.next[count - 1] = NULL;
        let mut open = HashMap::new();
        for (i, &(position, call, is_call)) in events.iter().enumerate() {
            let entry = i as u32 + 1;
            list.call[entry as usize] = call;
            list.position[entry as usize] = position;
            list.is_call[entry as usize] = is_call;
            if is_call {
                open.insert(call, entry);
            } else if let Some(call_entry) = open.remove(&call) {
                list.ret[call_entry as usize] = entry;
            }
        }
        list
    }

    /// The bytes the list has allocated.
    pub(crate) fn heap_bytes(&self) -> usize {
        vec_bytes(&self.next)
            + vec_bytes(&self.prev)
            + vec_bytes(&self.call)
            + vec_bytes(&self.position)
            + vec_bytes(&self.ret)
            + vec_bytes(&self.is_call)
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

    /// Removes a call entry and its return, if any.
    pub(crate) fn lift(&mut self, entry: u32) {
        self.unlink(entry);
        let ret = self.ret[entry as usize];
        if ret != NULL {
            self.unlink(ret);
        }
    }

    /// Undoes [`List::lift`] (in reverse order of lifting).
    pub(crate) fn unlift(&mut self, entry: u32) {
        let ret = self.ret[entry as usize];
        if ret != NULL {
            self.relink(ret);
        }
        self.relink(entry);
    }
}

/// The determinate list (calls and returns) and the indeterminate list (calls only).
pub(crate) fn lists<I, O>(calls: &[Call<I, O>]) -> (List, List) {
    let mut determinate = Vec::new();
    let mut indeterminate = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        match call.ret {
            Some(ret) => {
                determinate.push((call.call, i as u32, true));
                determinate.push((ret, i as u32, false));
            }
            None => indeterminate.push((call.call, i as u32, true)),
        }
    }
    (List::new(determinate), List::new(indeterminate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(at: usize, ret: Option<usize>) -> Call<(), ()> {
        Call {
            operation: 0,
            input: (),
            output: ret.map(|_| ()),
            call: at,
            ret,
        }
    }

    fn walk(list: &List) -> Vec<(u32, bool)> {
        let mut out = Vec::new();
        let mut entry = list.next[HEAD as usize];
        while entry != NULL {
            out.push((list.call[entry as usize], list.is_call[entry as usize]));
            entry = list.next[entry as usize];
        }
        out
    }

    #[test]
    fn lists_are_in_real_time_order_and_lift_and_unlift_undo_each_other() {
        let calls = [call(0, Some(3)), call(1, None), call(2, Some(4))];
        let (mut determinate, indeterminate) = lists(&calls);
        assert_eq!(
            walk(&determinate),
            vec![(0, true), (2, true), (0, false), (2, false)]
        );
        assert_eq!(walk(&indeterminate), vec![(1, true)]);
        let first = determinate.next[HEAD as usize];
        determinate.lift(first);
        assert_eq!(walk(&determinate), vec![(2, true), (2, false)]);
        determinate.unlift(first);
        assert_eq!(
            walk(&determinate),
            vec![(0, true), (2, true), (0, false), (2, false)]
        );
    }
}
