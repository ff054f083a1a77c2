//! Client commands waiting for their entry to apply, keyed by the `(index, term)` the leader
//! gave them.

use std::collections::BTreeMap;

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
/// and one appended at the same index later.
#[derive(Default)]
pub(super) struct Waiters {
    by_index: BTreeMap<LogIndex, Vec<Waiter>>,
}

impl Waiters {
    /// Wait for the entry `(index, term)`.
    pub(super) fn add(&mut self, index: LogIndex, term: Term, reply: ReplyTo) {
        self.by_index
            .entry(index)
            .or_default()
            .push(Waiter { term, reply });
    }

    /// The entry at `index` applied with `term`. The waiter of that entry gets `response`;
    /// a waiter of another term gets `NotLeader`: its entry was overwritten, and since this
    /// entry is committed, it never will apply (definite).
    pub(super) fn applied(
        &mut self,
        index: LogIndex,
        term: Term,
        response: Option<&[u8]>,
        leader_hint: Option<NodeId>,
    ) {
        for waiter in self.by_index.remove(&index).unwrap_or_default() {
            let outcome = match response {
                Some(response) if waiter.term == term => Ok(response.to_vec()),
                _ => Err(ClientError::NotLeader { leader_hint }),
            };
            // The caller may have given up (timeout): nobody to tell.
            let _ = waiter.reply.send(outcome);
        }
    }

    /// Forget waiters whose callers gave up.
    pub(super) fn prune_abandoned(&mut self) {
        self.by_index.retain(|_, waiters| {
            waiters.retain(|waiter| !waiter.reply.is_closed());
            !waiters.is_empty()
        });
    }

    /// The node stops: every waiter gets `Shutdown` (indefinite: its entry may still commit
    /// through other nodes).
    pub(super) fn shut_down(&mut self) {
        for waiter in std::mem::take(&mut self.by_index).into_values().flatten() {
            let _ = waiter.reply.send(Err(ClientError::Shutdown));
        }
    }
}
