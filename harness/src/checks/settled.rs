//! Liveness after the final heal: the cluster settles. Judged at the end of a run, beside
//! [`super::liveness`], from what the nodes report (their role, their commit index) and what
//! their logs hold (the configuration in effect, seen from outside through the `Log` trait):
//!
//! * **A joint configuration is left** (dissertation §4.3): once C_old,new commits, the leader
//!   appends C_new; with every fault healed, the configuration in effect in the leader's log
//!   at the end of the run is a simple one.
//! * **Every member catches up** (§4.2.1, §5.3): each voter and learner of that configuration
//!   is running and has reached what the cluster had committed a while before the end (a
//!   leader replicates to every member it knows of until its log matches): its reported commit
//!   index, or the index its state machine applied or restored a snapshot through (a follower
//!   that installs a snapshot of an idle cluster learns no new commit index until the next
//!   entry commits).
//!
//! The simulation runs on for at least [`SETTLE_BOUND`] after the final heal (the time limit)
//! and notes the highest commit index reported by [`CATCH_UP_CHECKPOINT`] after it; a member
//! has the rest of the bound to reach it. Runs without a checkpoint (the in-process runs,
//! which end when their clients do) are not judged by it.

use std::collections::BTreeSet;
use std::time::Duration;

use rafty::{LogIndex, Membership, NodeId};

/// How long after the final heal the cluster has to leave a joint configuration and bring
/// every member up to date: the simulation runs at least this long past the time limit.
pub const SETTLE_BOUND: Duration = Duration::from_secs(3);

/// When, after the final heal, the commit index every member must reach is noted: the
/// highest any node reported by then. A member has `SETTLE_BOUND - CATCH_UP_CHECKPOINT` (one
/// second, twenty heartbeats at the slowest timing the runs draw) more to reach it.
pub const CATCH_UP_CHECKPOINT: Duration = Duration::from_secs(2);

/// The highest commit index reported by a checkpoint, fed one report at a time.
#[derive(Clone, Debug, Default)]
pub struct Settling {
    /// The checkpoint, in nanoseconds of simulated time; `None`: the run is not judged.
    checkpoint_ns: Option<u64>,
    /// The highest commit index any node reported at or before it.
    committed_by_checkpoint: LogIndex,
}

impl Settling {
    /// Note commit indices reported until `checkpoint_ns`.
    pub fn set_checkpoint(&mut self, checkpoint_ns: u64) {
        self.checkpoint_ns = Some(checkpoint_ns);
    }

    /// A node reported commit index `index` at `time_ns`.
    pub fn committed(&mut self, time_ns: u64, index: LogIndex) {
        if self
            .checkpoint_ns
            .is_some_and(|checkpoint| time_ns <= checkpoint)
        {
            self.committed_by_checkpoint = self.committed_by_checkpoint.max(index);
        }
    }
}

/// What the check sees of the cluster at the end of the run.
pub struct EndState<'a> {
    /// The node that leads at the end, if one does.
    pub leader: Option<NodeId>,
    /// The configuration in effect in the leader's log, with the index of its entry (0: the
    /// initial one).
    pub configuration: Option<(LogIndex, &'a Membership)>,
    /// The nodes whose current incarnation is running.
    pub running: BTreeSet<NodeId>,
    /// How far each node's current incarnation is known to have reached: the higher of its
    /// commit index and the index it applied or restored a snapshot through.
    pub reached: &'a dyn Fn(NodeId) -> LogIndex,
}

/// Why the cluster did not settle, one line per problem naming the node and the
/// configuration; empty when it did, or when the run set no checkpoint.
pub fn check(settling: &Settling, end: &EndState<'_>) -> Vec<String> {
    if settling.checkpoint_ns.is_none() {
        return Vec::new();
    }
    let bound = SETTLE_BOUND.as_secs_f64();
    let (Some(leader), Some((index, configuration))) = (end.leader, end.configuration) else {
        return vec![format!(
            "no leader at the end of the run, at least {bound} s after the final heal"
        )];
    };
    let mut problems = Vec::new();
    if configuration.is_joint() {
        problems.push(format!(
            "the configuration in effect in leader n{leader}'s log is still joint at the end \
             of the run, at least {bound} s after the final heal (§4.3: C_new follows a \
             committed C_old,new): index {index}, {}",
            describe(configuration)
        ));
    }
    let target = settling.committed_by_checkpoint;
    let checkpoint = CATCH_UP_CHECKPOINT.as_secs_f64();
    for member in configuration.members() {
        let role = if configuration.is_learner(member) {
            "learner"
        } else {
            "voter"
        };
        if !end.running.contains(&member) {
            problems.push(format!(
                "n{member}, a {role} of the final configuration (index {index}, {}), is not \
                 running at the end of the run, at least {bound} s after the final heal",
                describe(configuration)
            ));
            continue;
        }
        let reached = (end.reached)(member);
        if reached < target {
            problems.push(format!(
                "n{member}, a {role} of the final configuration (index {index}, {}), reached \
                 index {reached} (committed or applied) by the end of the run; the cluster had \
                 committed through {target} {checkpoint} s after the final heal, {bound} s \
                 allowed",
                describe(configuration)
            ));
        }
    }
    problems
}

/// `voters {1, 2, 3}`, with the old voters while joint and the learners if any.
fn describe(configuration: &Membership) -> String {
    let set = |ids: &BTreeSet<NodeId>| {
        let ids: Vec<String> = ids.iter().map(NodeId::to_string).collect();
        format!("{{{}}}", ids.join(", "))
    };
    let mut text = format!("voters {}", set(&configuration.voters));
    if let Some(old) = &configuration.old_voters {
        text.push_str(&format!(" joint with old voters {}", set(old)));
    }
    if !configuration.learners.is_empty() {
        text.push_str(&format!(", learners {}", set(&configuration.learners)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settling(committed: LogIndex) -> Settling {
        let mut settling = Settling::default();
        settling.set_checkpoint(2_000);
        settling.committed(1_000, committed);
        // Reported after the checkpoint: not what members must reach.
        settling.committed(3_000, committed + 50);
        settling
    }

    fn end<'a>(
        configuration: &'a Membership,
        running: &[NodeId],
        reached: &'a dyn Fn(NodeId) -> LogIndex,
    ) -> EndState<'a> {
        EndState {
            leader: Some(1),
            configuration: Some((7, configuration)),
            running: running.iter().copied().collect(),
            reached,
        }
    }

    #[test]
    fn a_simple_configuration_whose_members_caught_up_has_settled() {
        let configuration = Membership::new([1, 2, 3]).with_learners([4]);
        let commit = |_| 10;
        let problems = check(&settling(10), &end(&configuration, &[1, 2, 3, 4], &commit));
        assert!(problems.is_empty(), "{problems:?}");
    }

    /// §4.3: a committed C_old,new is followed by C_new; still joint at the end is a stall.
    #[test]
    fn a_configuration_still_joint_at_the_end_has_not_settled() {
        let joint = Membership::new([1, 2, 3]).joint_to(&Membership::new([1, 2, 4]));
        let commit = |_| 10;
        let problems = check(&settling(10), &end(&joint, &[1, 2, 3, 4], &commit));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("leader n1's log is still joint")
                && problems[0].contains("voters {1, 2, 4} joint with old voters {1, 2, 3}"),
            "{problems:?}"
        );
    }

    /// §4.2.1: a learner receives the log; one left behind is named, with the configuration.
    #[test]
    fn a_member_behind_what_was_committed_at_the_checkpoint_is_named() {
        let configuration = Membership::new([1, 2, 3]).with_learners([4]);
        let commit = |node| if node == 4 { 0 } else { 10 };
        let problems = check(&settling(10), &end(&configuration, &[1, 2, 3, 4], &commit));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("n4, a learner of the final configuration (index 7, voters {1, 2, 3}, learners {4}), reached index 0"),
            "{problems:?}"
        );
        // Entries committed after the checkpoint are not owed yet.
        let commit = |node| if node == 2 { 10 } else { 60 };
        assert!(check(&settling(10), &end(&configuration, &[1, 2, 3, 4], &commit)).is_empty());
    }

    #[test]
    fn a_member_down_or_no_leader_at_the_end_has_not_settled() {
        let configuration = Membership::new([1, 2, 3]);
        let commit = |_| 10;
        let problems = check(&settling(10), &end(&configuration, &[1, 2], &commit));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("n3, a voter"), "{problems:?}");
        let mut leaderless = end(&configuration, &[1, 2, 3], &commit);
        leaderless.leader = None;
        leaderless.configuration = None;
        let problems = check(&settling(10), &leaderless);
        assert!(problems[0].starts_with("no leader"), "{problems:?}");
    }

    #[test]
    fn a_run_without_a_checkpoint_is_not_judged() {
        let configuration = Membership::new([1, 2, 3]);
        let commit = |_| 0;
        let mut leaderless = end(&configuration, &[], &commit);
        leaderless.leader = None;
        assert!(check(&Settling::default(), &leaderless).is_empty());
    }
}
