//! The rules across configurations (dissertation chapter 4), each shown to fire on a crafted
//! observation stream and to stay quiet on Raft's.

use rafty::HardState;

use super::*;

fn hard_state(term: Term, voted_for: Option<NodeId>) -> HardState {
    HardState {
        current_term: term,
        voted_for,
    }
}

fn names(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|(name, _)| *name).collect()
}

/// `voters` nodes (the initial configuration is 1..=voters) plus two spares, each opened on
/// the log `terms` in term `term`.
fn cluster(voters: usize, terms: &[Term], term: Term) -> Protocol {
    let mut protocol = Protocol::default();
    protocol.set_cluster_size(voters);
    for node in 1..=voters as NodeId + 2 {
        protocol.opened(node, (hard_state(term, None), (0, 0), 1, terms.to_vec()));
    }
    protocol
}

/// `candidate` campaigns in `term` and `voters`' granted votes reach it; it becomes leader.
fn elect(
    protocol: &mut Protocol,
    candidate: NodeId,
    term: Term,
    voters: &[NodeId],
) -> Vec<Finding> {
    let campaigned = protocol.hard_state_saved(candidate, hard_state(term, Some(candidate)));
    assert!(campaigned.is_empty(), "{campaigned:?}");
    for voter in voters {
        protocol.vote_received(candidate, *voter, term);
    }
    protocol.became_leader(candidate, term)
}

/// `follower`'s answer acknowledging index `index` reaches leader n1 of `term`.
fn acknowledge(protocol: &mut Protocol, follower: NodeId, term: Term, index: LogIndex) {
    protocol.append_acknowledged(1, follower, term, index);
}

fn joint(
    old: impl IntoIterator<Item = NodeId>,
    new: impl IntoIterator<Item = NodeId>,
) -> Membership {
    Membership::new(old).joint_to(&Membership::new(new))
}

/// §4.3: while joint, a candidate needs a majority of C_old and of C_new; C_new's alone is
/// the disjoint majority joint consensus exists to refuse.
#[test]
fn a_leader_elected_by_c_new_alone_breaks_election_quorum_while_joint() {
    let mut protocol = cluster(5, &[1], 1);
    let joint = joint(1..=5, [1, 2, 3, 6, 7]);
    for node in [1, 2] {
        protocol.appended(node, 2, &[1], &[(2, joint.clone())]);
    }
    assert_eq!(
        names(&elect(&mut protocol, 1, 2, &[6, 7])),
        ["election-quorum"]
    );
    assert!(elect(&mut protocol, 2, 3, &[1, 3]).is_empty());
}

/// §4.2.1: a learner's vote never counts; the initial configuration counts before any entry.
#[test]
fn a_leader_elected_with_learners_votes_breaks_election_quorum() {
    let mut protocol = cluster(3, &[1], 1);
    let learners = Membership::new(1..=3).with_learners([4, 5]);
    protocol.appended(1, 2, &[1], &[(2, learners)]);
    assert_eq!(
        names(&elect(&mut protocol, 1, 2, &[4, 5])),
        ["election-quorum"]
    );
    assert!(elect(&mut protocol, 2, 3, &[3]).is_empty());
}

/// §5.4.2 against the configuration, §4.2.1: a leader's commit needs acknowledgements from a
/// majority of the voters; a learner's does not count.
#[test]
fn a_commit_acknowledged_by_a_learner_breaks_commit_quorum() {
    let mut protocol = cluster(5, &[1], 1);
    let learner = Membership::new(1..=5).with_learners([6]);
    protocol.appended(1, 2, &[1], &[(2, learner)]);
    assert!(elect(&mut protocol, 1, 2, &[2, 3]).is_empty());
    protocol.appended(1, 3, &[2], &[]);
    for follower in [2, 6] {
        acknowledge(&mut protocol, follower, 2, 3);
    }
    assert_eq!(names(&protocol.committed(1, 3)), ["commit-quorum"]);
    protocol.appended(1, 4, &[2], &[]);
    for follower in [2, 3] {
        acknowledge(&mut protocol, follower, 2, 4);
    }
    assert!(protocol.committed(1, 4).is_empty());
}

/// §4.3: while joint, a commit needs a majority of both halves.
#[test]
fn a_commit_by_c_new_alone_breaks_commit_quorum_while_joint() {
    let mut protocol = cluster(5, &[1], 1);
    assert!(elect(&mut protocol, 1, 2, &[2, 3]).is_empty());
    protocol.appended(1, 2, &[2], &[]);
    for follower in [2, 3] {
        acknowledge(&mut protocol, follower, 2, 2);
    }
    assert!(protocol.committed(1, 2).is_empty());
    protocol.appended(1, 3, &[2], &[(3, joint(1..=5, [1, 2, 5, 6, 7]))]);
    for follower in [6, 7] {
        acknowledge(&mut protocol, follower, 2, 3);
    }
    assert_eq!(names(&protocol.committed(1, 3)), ["commit-quorum"]);
    for follower in [2, 5] {
        acknowledge(&mut protocol, follower, 2, 4);
    }
    protocol.appended(1, 4, &[2], &[]);
    assert!(protocol.committed(1, 4).is_empty());
}

/// §4.1: a configuration counts from the moment it is appended: after removing n4 from
/// {1, 2, 3, 4}, two of {1, 2, 3} commit an earlier entry too.
#[test]
fn a_commit_may_count_a_later_configuration_the_leader_holds() {
    let mut protocol = cluster(4, &[1], 1);
    assert!(elect(&mut protocol, 1, 2, &[2, 3]).is_empty());
    protocol.appended(1, 2, &[2], &[]);
    for follower in [2, 3] {
        acknowledge(&mut protocol, follower, 2, 2);
    }
    assert!(protocol.committed(1, 2).is_empty());
    protocol.appended(1, 3, &[2, 2], &[(4, Membership::new(1..=3))]);
    acknowledge(&mut protocol, 2, 2, 3);
    assert!(protocol.committed(1, 3).is_empty());
}

/// The errata to §4.2: a new leader changes the configuration only after committing an
/// entry of its term; §4.1: one change at a time; §4.2/§4.3: one voter, or joint.
#[test]
fn configuration_changes_break_the_rules_of_one_change_at_a_time() {
    let mut protocol = cluster(5, &[1], 1);
    assert!(elect(&mut protocol, 1, 2, &[2, 3]).is_empty());
    // Raft: the no-op commits first, then one voter is added.
    protocol.appended(1, 2, &[2], &[]);
    for follower in [2, 3] {
        acknowledge(&mut protocol, follower, 2, 2);
    }
    assert!(protocol.committed(1, 2).is_empty());
    let six = Membership::new(1..=6);
    assert!(
        protocol
            .appended(1, 3, &[2], &[(3, six.clone())])
            .is_empty()
    );
    // Another change while that one is uncommitted, two voters apart.
    let findings = protocol.appended(1, 4, &[2], &[(4, Membership::new([1, 2, 3, 4, 7, 8]))]);
    assert_eq!(
        names(&findings),
        ["configuration-chain", "one-change-at-a-time"]
    );
    // A new leader of term 3 changing it before its own no-op commits.
    protocol.lost_leadership(1);
    for node in [2, 3, 4] {
        protocol.appended(node, 2, &[2, 2], &[(3, six.clone())]);
    }
    assert!(elect(&mut protocol, 2, 3, &[3, 4, 5]).is_empty());
    protocol.committed(2, 3);
    let findings = protocol.appended(2, 4, &[3, 3], &[(5, Membership::new(1..=7))]);
    assert_eq!(names(&findings), ["membership-change-own-term"]);
}

/// §4.2, §4.3: the committed configurations form one chain, whoever reports them.
#[test]
fn committed_configurations_that_skip_a_step_break_configuration_chain() {
    let mut protocol = cluster(3, &[1], 1);
    protocol.appended(2, 2, &[1], &[(2, Membership::new(1..=4))]);
    assert!(protocol.committed(2, 2).is_empty());
    protocol.appended(3, 2, &[1, 1], &[(3, Membership::new([1, 2, 5, 6]))]);
    assert_eq!(names(&protocol.committed(3, 3)), ["configuration-chain"]);
}

/// §4.2.3: a node removed from the committed configuration never deposes a leader; a member
/// that campaigns may.
#[test]
fn a_leader_deposed_by_a_removed_node_breaks_removed_node_disrupts() {
    let mut protocol = cluster(5, &[1], 1);
    assert!(elect(&mut protocol, 1, 2, &[2, 3]).is_empty());
    protocol.appended(1, 2, &[2, 2], &[(3, Membership::new(1..=4))]);
    for follower in [2, 3] {
        acknowledge(&mut protocol, follower, 2, 3);
        protocol.appended(follower, 2, &[2, 2], &[(3, Membership::new(1..=4))]);
    }
    assert!(protocol.committed(1, 3).is_empty());
    // n5, removed, campaigns in term 3 without a pre-vote; n1 adopts term 3.
    assert!(
        protocol
            .hard_state_saved(5, hard_state(3, Some(5)))
            .is_empty()
    );
    let findings = protocol.hard_state_saved(1, hard_state(3, None));
    assert_eq!(names(&findings), ["removed-node-disrupts"]);
    // n2, a member, campaigns in term 4 and deposes n1's successor n3: Raft allows it.
    assert!(elect(&mut protocol, 3, 4, &[1, 4]).is_empty());
    assert!(
        protocol
            .hard_state_saved(2, hard_state(5, Some(2)))
            .is_empty()
    );
    assert!(protocol.hard_state_saved(3, hard_state(5, None)).is_empty());
}
