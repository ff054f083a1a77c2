//! The `membership` nemesis's hands inside the cluster: membership ops wait in
//! [`AdminRequests`] until a node that leads takes them, and that node carries each out through
//! its admin API ([`rafty::Node::add_learner`], `promote`, `remove`, `change_membership`,
//! `transfer_leadership`), choosing its target from the configuration it holds and the number
//! the seed drew. What happened is noted in the node's log (and the configuration it leaves).
//!
//! The voters stay between the initial count and every host: an op that would leave that range
//! (or finds no target) is skipped, noted. So a majority of the initial size is always at least
//! a majority of the voters, and the checks that count quorums against the initial size stay
//! sound.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::core::MembershipChangeError;
use rafty::core::Role;
use rafty::node::{AdminError, Node};
use rafty::{Membership, NodeId};

use crate::checks::admin::{AdminCall, AdminOutcome};
use crate::nemesis::action::MembershipOp;

use super::observe::Observations;

/// Membership ops waiting for a leader, in the order the nemesis asked for them.
#[derive(Clone, Debug, Default)]
pub struct AdminRequests {
    queue: Arc<Mutex<VecDeque<(MembershipOp, u64)>>>,
}

impl AdminRequests {
    /// How often each running node looks for a request to take (simulated time) in a run
    /// with the `membership` nemesis: a request waiting for a leader is taken within a
    /// millisecond of one being elected, as an operator's script retrying on "not the leader"
    /// would.
    const POLL: Duration = Duration::from_millis(1);
    /// The same in a run without it (the loop never finds work): its wakeups are part of
    /// every run's schedule, so it stays as the recorded seeds had it.
    const POLL_IDLE: Duration = Duration::from_millis(10);

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(MembershipOp, u64)>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ask the current leader (whoever leads when it is taken) for `op`, its target drawn with
    /// `draw`.
    pub fn push(&self, op: MembershipOp, draw: u64) {
        self.lock().push_back((op, draw));
    }

    fn take(&self) -> Option<(MembershipOp, u64)> {
        self.lock().pop_front()
    }

    /// Put `op` back first in line, to be taken again (a retry).
    fn retry(&self, op: MembershipOp, draw: u64) {
        self.lock().push_front((op, draw));
    }
}

/// How long the nemesis waits before asking again for a change that the leader refused with
/// "a configuration change is in progress" (its own term's first entry, or the last change,
/// not committed yet: the error says to retry once it is), as an operator's script would.
const RETRY_AFTER: Duration = Duration::from_millis(20);
/// The most times one op is asked again after such a refusal (about half a second at
/// [`RETRY_AFTER`]); a leader that still refuses then has it skipped.
const MAX_RETRIES: u32 = 25;

/// Which hosts exist, and how many voters the cluster started with.
#[derive(Clone, Debug)]
pub struct Hosts {
    /// Every node host, spares included.
    pub all: Vec<NodeId>,
    /// The voters of the initial configuration.
    pub initial_voters: usize,
}

impl Hosts {
    /// Whether the run has spare hosts, i.e. the `membership` nemesis.
    fn has_spares(&self) -> bool {
        self.all.len() > self.initial_voters
    }
}

/// Node `id`'s side: while it leads, take the waiting requests one at a time and carry each
/// out. Runs for the node's incarnation (a killed node drops the op it was carrying out).
pub async fn serve(
    node: Node,
    id: NodeId,
    requests: AdminRequests,
    hosts: Hosts,
    obs: Observations,
) {
    let poll = if hosts.has_spares() {
        AdminRequests::POLL
    } else {
        AdminRequests::POLL_IDLE
    };
    // The op being asked again, and how many times it was.
    let mut retried: Option<((MembershipOp, u64), u32)> = None;
    loop {
        tokio::time::sleep(poll).await;
        if node.role() != Role::Leader {
            continue;
        }
        let Some((op, draw)) = requests.take() else {
            continue;
        };
        let tries = match retried.take() {
            Some((asked, tries)) if asked == (op, draw) => tries,
            _ => 0,
        };
        let (membership, _) = node.membership();
        let text = match choose(op, draw, &membership, id, &hosts) {
            Err(skip) => format!("membership nemesis: {op} skipped: {skip}"),
            Ok(call) => {
                obs.note(
                    id,
                    &format!("membership nemesis: {call} (in {membership:?})"),
                );
                let term = node.status().term;
                let record = obs.admin_started(id, term, &membership, call.record());
                let (outcome, judged, in_progress) = call.run(&node).await;
                obs.admin_finished(record, id, judged);
                if in_progress && tries < MAX_RETRIES {
                    // Asked again once the change in progress (or the leader's first entry
                    // of its term) is committed: a transfer followed by a replacement is
                    // refused at once by the new leader otherwise, and never changes anything.
                    requests.retry(op, draw);
                    retried = Some(((op, draw), tries + 1));
                    obs.note(
                        id,
                        &format!("membership nemesis: {call}: {outcome}; asked again"),
                    );
                    tokio::time::sleep(RETRY_AFTER).await;
                    continue;
                }
                let (now, at) = node.membership();
                format!("membership nemesis: {call}: {outcome}; now {now:?} at {at}")
            }
        };
        obs.note(id, &text);
    }
}

/// An admin call and its target.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    AddLearner(NodeId),
    Promote(NodeId),
    Remove(NodeId),
    Replace(NodeId, NodeId, Membership),
    Transfer(NodeId),
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Call::AddLearner(n) => write!(f, "add_learner(n{n})"),
            Call::Promote(n) => write!(f, "promote(n{n})"),
            Call::Remove(n) => write!(f, "remove(n{n})"),
            Call::Replace(out, new, _) => write!(f, "change_membership(n{out} -> n{new})"),
            Call::Transfer(n) => write!(f, "transfer_leadership(n{n})"),
        }
    }
}

impl Call {
    /// Carry it out: what happened, for the node's log, the outcome the admin check judges,
    /// and whether it was refused because a change is in progress (worth asking again).
    async fn run(&self, node: &Node) -> (String, AdminOutcome, bool) {
        let outcome = match self {
            Call::AddLearner(n) => node.add_learner(*n).await.map(Some),
            Call::Promote(n) => node.promote(*n).await.map(Some),
            Call::Remove(n) => node.remove(*n).await.map(Some),
            Call::Replace(_, _, target) => node.change_membership(target.clone()).await.map(Some),
            Call::Transfer(n) => node.transfer_leadership(*n).await.map(|()| None),
        };
        match outcome {
            Ok(Some(index)) => (
                format!("ok at {index}"),
                AdminOutcome::Done(Some(index)),
                false,
            ),
            Ok(None) => ("ok done".to_owned(), AdminOutcome::Done(None), false),
            Err(error) => {
                let in_progress = matches!(
                    error,
                    AdminError::Membership(MembershipChangeError::ChangeInProgress { .. })
                );
                let judged = match error {
                    AdminError::Membership(_) | AdminError::Transfer(_) => AdminOutcome::Refused,
                    AdminError::Timeout(_) | AdminError::Shutdown => AdminOutcome::NoOutcome,
                };
                (format!("failed: {error}"), judged, in_progress)
            }
        }
    }

    /// The call as the admin check ([`crate::checks::admin`]) records it.
    fn record(&self) -> AdminCall {
        match self {
            Call::AddLearner(n) => AdminCall::AddLearner(*n),
            Call::Promote(n) => AdminCall::Promote(*n),
            Call::Remove(n) => AdminCall::Remove(*n),
            Call::Replace(out, new, target) => AdminCall::Replace {
                out: *out,
                new: *new,
                voters: target.voters.clone(),
            },
            Call::Transfer(n) => AdminCall::Transfer(*n),
        }
    }
}

/// The call `op` means for leader `leader` holding `membership`, its target the `draw`-th
/// candidate (mod their count), or why there is none.
fn choose(
    op: MembershipOp,
    draw: u64,
    membership: &Membership,
    leader: NodeId,
    hosts: &Hosts,
) -> Result<Call, &'static str> {
    if membership.is_joint() {
        return Err("a joint configuration is in effect");
    }
    let pick = |candidates: Vec<NodeId>| -> Option<NodeId> {
        (!candidates.is_empty()).then(|| candidates[(draw % candidates.len() as u64) as usize])
    };
    let outside: Vec<NodeId> = hosts
        .all
        .iter()
        .copied()
        .filter(|n| !membership.contains(*n))
        .collect();
    let voters: Vec<NodeId> = membership.voters.iter().copied().collect();
    let learners: Vec<NodeId> = membership.learners.iter().copied().collect();
    let room = voters.len() + learners.len() < hosts.all.len();
    match op {
        MembershipOp::AddLearner => pick(outside)
            .filter(|_| room)
            .map(Call::AddLearner)
            .ok_or("no node outside the configuration"),
        MembershipOp::Promote => pick(learners).map(Call::Promote).ok_or("no learner"),
        MembershipOp::Remove if voters.len() <= hosts.initial_voters => {
            Err("no more voters than at the start")
        }
        MembershipOp::Remove => pick(voters).map(Call::Remove).ok_or("no voter"),
        MembershipOp::Replace => {
            // A learner (caught up, so C_new can reach a majority at once) if there is one.
            let new = pick(learners.clone())
                .or_else(|| pick(outside))
                .ok_or("no learner and no node outside the configuration")?;
            let out = pick(voters).ok_or("no voter")?;
            let mut target_voters: BTreeSet<NodeId> = membership.voters.clone();
            target_voters.remove(&out);
            target_voters.insert(new);
            let target_learners = learners.into_iter().filter(|&n| n != new);
            let target = Membership::new(target_voters).with_learners(target_learners);
            Ok(Call::Replace(out, new, target))
        }
        MembershipOp::Transfer => {
            let others = voters.into_iter().filter(|&n| n != leader).collect();
            pick(others).map(Call::Transfer).ok_or("no other voter")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Hosts {
        Hosts {
            all: (1..=7).collect(),
            initial_voters: 5,
        }
    }

    #[test]
    fn a_voter_is_removed_only_above_the_initial_count() {
        let five = Membership::new(1..=5);
        let removed = choose(MembershipOp::Remove, 0, &five, 1, &hosts());
        assert!(removed.is_err(), "{removed:?}");
        let six = Membership::new(1..=6);
        let removed = choose(MembershipOp::Remove, 3, &six, 1, &hosts());
        assert_eq!(removed, Ok(Call::Remove(4)));
    }

    #[test]
    fn a_replacement_keeps_the_voter_count_and_takes_a_learner_or_a_node_from_outside() {
        let five = Membership::new(1..=5).with_learners([6]);
        let Ok(Call::Replace(out, new, target)) =
            choose(MembershipOp::Replace, 1, &five, 1, &hosts())
        else {
            panic!("no replacement");
        };
        assert_eq!((out, new), (2, 6));
        assert_eq!(target.voters.len(), 5);
        assert!(target.is_voter(6) && !target.contains(2) && target.learners.is_empty());
        let Ok(Call::Replace(out, new, target)) = choose(
            MembershipOp::Replace,
            1,
            &Membership::new(1..=5),
            1,
            &hosts(),
        ) else {
            panic!("no replacement");
        };
        assert_eq!((out, new), (2, 7));
        assert!(target.is_voter(7) && !target.contains(2));
    }

    #[test]
    fn learners_are_added_from_outside_and_promoted_and_transfers_go_to_another_voter() {
        let five = Membership::new(1..=5).with_learners([6]);
        let added = choose(MembershipOp::AddLearner, 0, &five, 1, &hosts());
        assert_eq!(added, Ok(Call::AddLearner(7)));
        let promoted = choose(MembershipOp::Promote, 9, &five, 1, &hosts());
        assert_eq!(promoted, Ok(Call::Promote(6)));
        let full = Membership::new(1..=7);
        assert!(choose(MembershipOp::AddLearner, 0, &full, 1, &hosts()).is_err());
        let to = choose(MembershipOp::Transfer, 0, &five, 1, &hosts());
        assert_eq!(to, Ok(Call::Transfer(2)));
        let joint = Membership::new(1..=5).joint_to(&Membership::new(2..=6));
        assert!(choose(MembershipOp::Transfer, 0, &joint, 1, &hosts()).is_err());
    }
}
