//! Client commands waiting for their entry to apply, keyed by the `(index, term)` the leader
//! gave them.

use std::collections::VecDeque;

use tokio::sync::oneshot;

use crate::client::ClientError;
use crate::types::{LogIndex, NodeId, Term};

/// Where the outcome of one client command goes.
pub(super) type ReplyTo = oneshot::Sender<Result<Vec<u8>, ClientError>>;

struct Waiter {
    term: Term,
    reply: ReplyTo,
}

/// The commands this node appended as leader and whose entries have not applied yet. Several
/// may wait on one index: a command appended in an earlier term whose entry was overwritten,
/// and one appended at the same index later. The first waiter of an index lives in `by_index`,
/// later ones (rare: only after a change of leader) in `more`, in the order they came, so a
/// command costs no allocation of its own.
///
/// `by_index` is sorted by index, one waiter per index. A leader appends at increasing
/// indexes and entries apply in index order, so a waiter is pushed at the back and answered
/// from the front, in constant time (a `BTreeMap` cost an insertion and a removal of ~50-100
/// ns each per command at 1024 clients); an index out of that order (after a change of
/// leader) is found by binary search.
#[derive(Default)]
pub(super) struct Waiters {
    by_index: VecDeque<(LogIndex, Waiter)>,
    more: Vec<(LogIndex, Waiter)>,
}

impl Waiters {
    /// How many commands wait (an index's later waiters included).
    pub(super) fn len(&self) -> usize {
        self.by_index.len() + self.more.len()
    }

    /// Wait for the entry `(index, term)`.
    pub(super) fn add(&mut self, index: LogIndex, term: Term, reply: ReplyTo) {
        let waiter = Waiter { term, reply };
        if self.by_index.back().is_none_or(|(last, _)| *last < index) {
            return self.by_index.push_back((index, waiter));
        }
        match self.position(index) {
            Ok(_) => self.more.push((index, waiter)),
            Err(at) => self.by_index.insert(at, (index, waiter)),
        }
    }

    /// Where `index` is in `by_index` (`Ok`), or where it would go (`Err`).
    fn position(&self, index: LogIndex) -> Result<usize, usize> {
        self.by_index.binary_search_by_key(&index, |(at, _)| *at)
    }

    /// Remove and return the first waiter of `index`.
    fn take(&mut self, index: LogIndex) -> Option<Waiter> {
        match self.by_index.front() {
            Some((first, _)) if *first == index => self.by_index.pop_front().map(|(_, w)| w),
            Some((first, _)) if *first > index => None,
            None => None,
            Some(_) => {
                let at = self.position(index).ok()?;
                self.by_index.remove(at).map(|(_, waiter)| waiter)
            }
        }
    }

    /// The entry at `index` applied with `term`. The waiter of that entry gets `response`;
    /// a waiter of another term gets `NotLeader`: its entry was overwritten, and since this
    /// entry is committed, it never will apply (definite). Waiters are answered in the order
    /// they were added.
    pub(super) fn applied(
        &mut self,
        index: LogIndex,
        term: Term,
        response: Option<&[u8]>,
        leader_hint: Option<NodeId>,
    ) {
        let Some(first) = self.take(index) else {
            return;
        };
        let answer = |waiter: Waiter| {
            let outcome = match response {
                Some(response) if waiter.term == term => Ok(response.to_vec()),
                _ => Err(ClientError::NotLeader { leader_hint }),
            };
            // The caller may have given up (timeout): nobody to tell.
            let _ = waiter.reply.send(outcome);
        };
        answer(first);
        if self.more.iter().any(|(at, _)| *at == index) {
            let (these, others) = std::mem::take(&mut self.more)
                .into_iter()
                .partition(|(at, _)| *at == index);
            self.more = others;
            these.into_iter().for_each(|(_, waiter)| answer(waiter));
        }
    }

    /// Forget waiters whose callers gave up. A later waiter of an index whose first waiter
    /// is forgotten takes its place, so `more` holds only indexes `by_index` has.
    pub(super) fn prune_abandoned(&mut self) {
        self.by_index
            .retain(|(_, waiter)| !waiter.reply.is_closed());
        let mut kept = Vec::new();
        for (index, waiter) in std::mem::take(&mut self.more) {
            if waiter.reply.is_closed() {
                continue;
            }
            match self.position(index) {
                Err(at) => self.by_index.insert(at, (index, waiter)),
                Ok(_) => kept.push((index, waiter)),
            }
        }
        self.more = kept;
    }

    /// The node stops: every waiter gets `Shutdown` (indefinite: its entry may still commit
    /// through other nodes).
    pub(super) fn shut_down(&mut self) {
        let first = std::mem::take(&mut self.by_index).into_iter();
        let more = std::mem::take(&mut self.more).into_iter();
        for (_, waiter) in first.chain(more) {
            let _ = waiter.reply.send(Err(ClientError::Shutdown));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::oneshot;

    fn waiter() -> (ReplyTo, oneshot::Receiver<Result<Vec<u8>, ClientError>>) {
        oneshot::channel()
    }

    /// §5.3/§8: a command whose entry was overwritten by another term's entry at its index is
    /// answered `NotLeader` when that index applies; the command of the applied term gets the
    /// response, whichever was added first.
    #[test]
    fn every_waiter_of_an_index_hears_once_and_only_the_applied_term_succeeds() {
        let mut waiters = Waiters::default();
        let (old, mut old_rx) = waiter();
        let (new, mut new_rx) = waiter();
        let (next, mut next_rx) = waiter();
        waiters.add(5, 1, old);
        waiters.add(5, 2, new);
        waiters.add(6, 2, next);
        waiters.applied(5, 2, Some(b"ok"), Some(1));
        assert_eq!(
            old_rx.try_recv().unwrap(),
            Err(ClientError::NotLeader {
                leader_hint: Some(1)
            })
        );
        assert_eq!(new_rx.try_recv().unwrap(), Ok(b"ok".to_vec()));
        assert!(next_rx.try_recv().is_err(), "index 6 has not applied");
        waiters.applied(6, 2, Some(b""), None);
        assert_eq!(next_rx.try_recv().unwrap(), Ok(Vec::new()));
        assert!(waiters.by_index.is_empty() && waiters.more.is_empty());
    }

    #[test]
    fn a_later_waiter_survives_pruning_of_the_first_of_its_index() {
        let mut waiters = Waiters::default();
        let (gone, gone_rx) = waiter();
        let (kept, mut kept_rx) = waiter();
        waiters.add(3, 1, gone);
        waiters.add(3, 2, kept);
        drop(gone_rx);
        waiters.prune_abandoned();
        assert_eq!(waiters.by_index.len(), 1);
        assert!(waiters.more.is_empty());
        waiters.applied(3, 2, Some(b"x"), None);
        assert_eq!(kept_rx.try_recv().unwrap(), Ok(b"x".to_vec()));
    }

    /// A new leader may wait on indexes below those an earlier leadership's commands still
    /// wait on (its log was shorter): each waiter is still found by its index.
    #[test]
    fn waiters_added_out_of_index_order_are_answered_by_their_index() {
        let mut waiters = Waiters::default();
        let (seven, mut seven_rx) = waiter();
        let (five, mut five_rx) = waiter();
        let (six, mut six_rx) = waiter();
        waiters.add(7, 1, seven);
        waiters.add(5, 2, five);
        waiters.add(6, 2, six);
        assert_eq!(waiters.len(), 3);
        waiters.applied(6, 2, Some(b"6"), None);
        assert_eq!(six_rx.try_recv().unwrap(), Ok(b"6".to_vec()));
        assert!(five_rx.try_recv().is_err() && seven_rx.try_recv().is_err());
        waiters.applied(5, 2, Some(b"5"), None);
        waiters.applied(7, 2, Some(b"7"), Some(2));
        assert_eq!(five_rx.try_recv().unwrap(), Ok(b"5".to_vec()));
        assert_eq!(
            seven_rx.try_recv().unwrap(),
            Err(ClientError::NotLeader {
                leader_hint: Some(2)
            })
        );
        assert_eq!(waiters.len(), 0);
    }

    #[test]
    fn shut_down_answers_every_waiter() {
        let mut waiters = Waiters::default();
        let (first, mut first_rx) = waiter();
        let (second, mut second_rx) = waiter();
        waiters.add(1, 1, first);
        waiters.add(1, 2, second);
        waiters.shut_down();
        assert_eq!(first_rx.try_recv().unwrap(), Err(ClientError::Shutdown));
        assert_eq!(second_rx.try_recv().unwrap(), Err(ClientError::Shutdown));
    }
}
