//! The configuration rules of the dissertation's chapter 4 and leadership transfer (§3.10),
//! on a few cores wired together by a synchronous in-test network.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::*;
use crate::core::{Action, Core, Role, StartState, TransferError};
use crate::message::{AppendEntries, Message, RequestVote};
use crate::settings::Config;
use crate::types::{Entry, HardState};

/// Cores that deliver each other's messages at once, in order; `isolated` nodes neither send
/// nor receive.
struct Net {
    cores: BTreeMap<NodeId, Core>,
    isolated: BTreeSet<NodeId>,
    now: Duration,
    /// Every message delivered: (from, to, message).
    delivered: Vec<(NodeId, NodeId, Message)>,
}

impl Net {
    /// Voters `voters` (each bootstrapped with all of them), plus `joining` nodes that start
    /// with an empty configuration, as a node added to a running cluster does.
    fn new(voters: &[NodeId], joining: &[NodeId]) -> Net {
        Net::with_config(voters, joining, Config::default())
    }

    /// [`Net::new`] with every core on `config`.
    fn with_config(voters: &[NodeId], joining: &[NodeId], config: Config) -> Net {
        let mut cores = BTreeMap::new();
        let bootstrap = Membership::new(voters.iter().copied());
        for &id in voters.iter().chain(joining) {
            let membership = if voters.contains(&id) {
                bootstrap.clone()
            } else {
                Membership::default()
            };
            let mut core = Core::restart_with_membership(
                id,
                membership,
                config.clone(),
                empty_state(),
                Duration::ZERO,
                id,
            );
            core.set_check_invariants(true);
            cores.insert(id, core);
        }
        Net {
            cores,
            isolated: BTreeSet::new(),
            now: Duration::ZERO,
            delivered: Vec::new(),
        }
    }

    fn core(&mut self, id: NodeId) -> &mut Core {
        self.cores.get_mut(&id).expect("a node of the net")
    }

    /// Deliver every message the cores emitted until none is left.
    fn settle(&mut self) {
        let mut queue: VecDeque<(NodeId, NodeId, Message)> = VecDeque::new();
        let ids: Vec<NodeId> = self.cores.keys().copied().collect();
        for id in ids {
            self.collect(id, None, &mut queue);
        }
        while let Some((from, to, message)) = queue.pop_front() {
            let now = self.now;
            let is_request = matches!(
                message,
                Message::RequestVote(_) | Message::AppendEntries(_) | Message::TimeoutNow(_)
            );
            if self.isolated.contains(&from) || self.isolated.contains(&to) {
                if is_request {
                    self.core(from).send_failed(now, to, &message);
                    self.collect(from, None, &mut queue);
                }
                continue;
            }
            self.delivered.push((from, to, message.clone()));
            self.core(to).step(now, from, message);
            self.collect(to, is_request.then_some(from), &mut queue);
        }
    }

    fn collect(
        &mut self,
        id: NodeId,
        requester: Option<NodeId>,
        queue: &mut VecDeque<(NodeId, NodeId, Message)>,
    ) {
        for action in self.core(id).take_actions() {
            match action {
                Action::Send { to, message } => queue.push_back((id, to, message)),
                Action::Reply(message) => {
                    queue.push_back((id, requester.expect("a reply answers a request"), message))
                }
                _ => {}
            }
        }
    }

    /// Advance time to `id`'s next deadline and tick it (only it), then settle.
    fn fire(&mut self, id: NodeId) {
        self.now = self.now.max(self.core(id).next_deadline());
        let now = self.now;
        self.core(id).tick(now);
        self.settle();
    }

    /// Advance time by `by` and tick every node, then settle.
    fn tick_all(&mut self, by: Duration) {
        self.now += by;
        let now = self.now;
        for core in self.cores.values_mut() {
            core.tick(now);
        }
        self.settle();
    }

    /// Elect `id` and let it commit its no-op everywhere.
    fn elect(&mut self, id: NodeId) {
        self.fire(id);
        assert_eq!(self.core(id).role(), Role::Leader, "node {id} elected");
        self.heartbeat(id);
    }

    /// One heartbeat round from leader `id` (spreads the commit index).
    fn heartbeat(&mut self, id: NodeId) {
        self.now += Config::default().heartbeat_interval;
        let now = self.now;
        self.core(id).tick(now);
        self.settle();
    }

    fn change(
        &mut self,
        leader: NodeId,
        change: MembershipChange,
    ) -> Result<(LogIndex, Term), MembershipChangeError> {
        let now = self.now;
        let result = self.core(leader).propose_membership(now, change);
        self.settle();
        result
    }
}

fn empty_state() -> StartState {
    StartState {
        hard_state: HardState::default(),
        snapshot: None,
        snapshot_membership: None,
        compacted: (0, 0),
        entries: Vec::new(),
    }
}

fn timeout_now_sent(net: &Net, to: NodeId) -> bool {
    (net.delivered.iter()).any(|(_, at, m)| *at == to && matches!(m, Message::TimeoutNow(_)))
}

/// §4.1: a configuration is in effect on each server as soon as its entry is in that server's
/// log, before it commits.
#[test]
fn configuration_is_in_effect_once_appended_before_it_commits() {
    let mut net = Net::new(&[1, 2, 3], &[4]);
    net.elect(1);
    net.isolated.insert(3);
    net.isolated.insert(2);
    let (index, _) = net.change(1, MembershipChange::AddLearner(4)).unwrap();
    assert!(
        net.core(1).commit_index() < index,
        "not committed: 2 and 3 are cut off"
    );
    assert_eq!(
        net.core(1).membership(),
        &Membership::new([1, 2, 3]).with_learners([4])
    );
    assert_eq!(net.core(1).peers(), &[2, 3, 4]);
    assert_eq!(
        net.core(4).membership(),
        &Membership::new([1, 2, 3]).with_learners([4]),
        "the learner got the entry and uses it uncommitted"
    );
}

/// §4.1: when a configuration entry is removed from the log (a conflicting leader truncates
/// it), the server goes back to the previous configuration in its log.
#[test]
fn truncating_a_configuration_entry_reverts_to_the_previous_configuration() {
    let mut core = Core::new(
        2,
        vec![1, 3],
        Config::default(),
        HardState::default(),
        vec![],
        Duration::ZERO,
        2,
    );
    core.set_check_invariants(true);
    let entry = |term, index, payload| Entry {
        term,
        index,
        payload,
    };
    let joined = Membership::new([1, 2, 3, 4]);
    let append = |term, leader_id, entries: Vec<Entry>| {
        Message::AppendEntries(AppendEntries {
            term,
            leader_id,
            prev_log_index: 0,
            prev_log_term: 0,
            entries,
            leader_commit: 0,
        })
    };
    let first = vec![
        entry(1, 1, Payload::Noop),
        entry(1, 2, Payload::Membership(joined.clone())),
    ];
    core.step(Duration::ZERO, 1, append(1, 1, first));
    assert_eq!(core.membership(), &joined);
    assert_eq!(core.membership_index(), 2);
    let conflicting = vec![entry(1, 1, Payload::Noop), entry(2, 2, Payload::Noop)];
    core.step(Duration::ZERO, 3, append(2, 3, conflicting));
    assert_eq!(core.membership(), &Membership::new([1, 2, 3]));
    assert_eq!(core.peers(), &[1, 3]);
}

/// §4.1 (recovery): a restarted server takes the latest configuration in its log; one whose
/// log was compacted takes its snapshot's, then later entries.
#[test]
fn restart_recovers_the_configuration_from_the_log_and_the_snapshot() {
    let entries = vec![
        Entry {
            term: 1,
            index: 1,
            payload: Payload::Membership(Membership::new([1, 2])),
        },
        Entry {
            term: 1,
            index: 2,
            payload: Payload::Membership(Membership::new([1, 2, 3])),
        },
    ];
    let state = StartState {
        hard_state: HardState {
            current_term: 1,
            voted_for: None,
        },
        entries: entries.clone(),
        ..empty_state()
    };
    let restarted = Core::restart(1, vec![9], Config::default(), state, Duration::ZERO, 1);
    assert_eq!(restarted.membership(), &Membership::new([1, 2, 3]));
    assert_eq!(restarted.peers(), &[2, 3]);
    let from_snapshot = StartState {
        hard_state: HardState {
            current_term: 1,
            voted_for: None,
        },
        snapshot: Some((1, 1)),
        snapshot_membership: Some(Membership::new([1, 5])),
        compacted: (1, 1),
        entries: entries[1..].to_vec(),
    };
    let restarted = Core::restart(
        1,
        vec![9],
        Config::default(),
        from_snapshot,
        Duration::ZERO,
        1,
    );
    assert_eq!(restarted.membership_at(1), &Membership::new([1, 5]));
    assert_eq!(restarted.membership(), &Membership::new([1, 2, 3]));
}

/// §4.2.1: a learner receives the log but its acknowledgement never counts toward a commit.
#[test]
fn a_learner_receives_the_log_but_never_counts_toward_commit() {
    let mut net = Net::new(&[1, 2, 3], &[4]);
    net.elect(1);
    net.change(1, MembershipChange::AddLearner(4)).unwrap();
    net.heartbeat(1);
    net.isolated.extend([2, 3]);
    let now = net.now;
    let (index, _) = net.core(1).propose(now, vec![b"x".to_vec()]).unwrap();
    net.settle();
    assert_eq!(
        net.core(4).last_index(),
        index,
        "the learner holds the entry"
    );
    assert_eq!(
        net.core(1).replication_indices(4).map(|(_, m)| m),
        Some(index)
    );
    assert!(
        net.core(1).commit_index() < index,
        "leader + learner are not a majority of voters {{1, 2, 3}}"
    );
}

/// §4.2.1: a learner never campaigns, however long it hears nothing; nor does a node that
/// has not been told it is a member.
#[test]
fn learners_and_unconfigured_nodes_never_campaign() {
    let mut net = Net::new(&[1, 2, 3], &[4, 5]);
    net.elect(1);
    net.change(1, MembershipChange::AddLearner(4)).unwrap();
    net.isolated.insert(1);
    net.delivered.clear();
    for _ in 0..5 {
        net.fire(4);
        net.fire(5);
    }
    assert_eq!(net.core(4).role(), Role::Follower);
    assert_eq!(net.core(5).role(), Role::Follower);
    assert!(
        !net.delivered
            .iter()
            .any(|(from, _, m)| matches!(m, Message::RequestVote(_)) && [4, 5].contains(from)),
        "{:?}",
        net.delivered
    );
}

/// Dissertation errata to §4.2 (the 2015 single-server change bug): a leader may not append a
/// configuration entry until it has committed an entry of its own term.
#[test]
fn a_change_waits_until_the_leader_has_committed_an_entry_of_its_term() {
    let mut net = Net::new(&[1, 2, 3], &[4]);
    // Node 1 wins with node 2's vote; every AppendEntries of its term is lost, so its no-op
    // stays uncommitted.
    let now = net.core(1).next_deadline();
    net.now = now;
    net.core(1).tick(now);
    let mut queue = VecDeque::new();
    net.collect(1, None, &mut queue);
    while let Some((from, to, message)) = queue.pop_front() {
        if to == 3 || from == 3 || matches!(message, Message::AppendEntries(_)) {
            continue;
        }
        let is_request = matches!(message, Message::RequestVote(_));
        net.core(to).step(now, from, message);
        net.collect(to, is_request.then_some(from), &mut queue);
    }
    assert_eq!(net.core(1).role(), Role::Leader);
    assert_eq!(net.core(1).commit_index(), 0);
    let last = net.core(1).last_index();
    let refused = net
        .core(1)
        .propose_membership(now, MembershipChange::AddLearner(4));
    assert!(
        matches!(refused, Err(MembershipChangeError::ChangeInProgress { .. })),
        "{refused:?}"
    );
    assert_eq!(net.core(1).last_index(), last, "nothing appended");
    net.heartbeat(1);
    assert!(net.core(1).commit_index() >= last, "the no-op commits");
    assert!(net.change(1, MembershipChange::AddLearner(4)).is_ok());
}

/// §4.2 / §4.3: one change at a time: while a configuration entry is uncommitted (or the
/// configuration is joint) another change is refused, with nothing appended.
#[test]
fn a_second_change_is_refused_while_the_first_is_uncommitted() {
    let mut net = Net::new(&[1, 2, 3], &[4, 5]);
    net.elect(1);
    net.isolated.extend([2, 3]);
    net.change(1, MembershipChange::AddLearner(4)).unwrap();
    let last = net.core(1).last_index();
    let refused = net.change(1, MembershipChange::AddLearner(5));
    assert!(
        matches!(refused, Err(MembershipChangeError::ChangeInProgress { .. })),
        "{refused:?}"
    );
    assert_eq!(net.core(1).last_index(), last, "nothing appended");
}

/// The typed refusals: unknown nodes, members already, a promotion that would leave the new
/// voters without a caught-up majority, and a follower asked to change.
#[test]
fn bad_changes_are_refused_with_typed_errors() {
    let mut net = Net::new(&[1], &[2, 3]);
    net.elect(1);
    assert_eq!(
        net.change(1, MembershipChange::Promote(2)),
        Err(MembershipChangeError::UnknownNode {
            node: 2,
            expected: "a learner"
        })
    );
    assert_eq!(
        net.change(1, MembershipChange::AddLearner(1)),
        Err(MembershipChangeError::AlreadyMember(1))
    );
    net.isolated.insert(2);
    net.change(1, MembershipChange::AddLearner(2)).unwrap();
    let refused = net.change(1, MembershipChange::Promote(2));
    assert!(
        matches!(refused, Err(MembershipChangeError::WouldLoseQuorum { .. })),
        "learner 2 holds nothing: {{1, 2}} would not commit: {refused:?}"
    );
    assert!(matches!(
        net.change(2, MembershipChange::Remove(1)),
        Err(MembershipChangeError::NotLeader { .. })
    ));
}

/// §4.2: adding a node as a learner, catching it up, promoting it: it then votes and counts.
#[test]
fn a_learner_caught_up_and_promoted_counts_toward_commit() {
    let mut net = Net::new(&[1], &[2]);
    net.elect(1);
    net.change(1, MembershipChange::AddLearner(2)).unwrap();
    net.heartbeat(1);
    let (index, _) = net.change(1, MembershipChange::Promote(2)).unwrap();
    net.heartbeat(1);
    assert!(net.core(1).commit_index() >= index);
    assert_eq!(net.core(2).membership(), &Membership::new([1, 2]));
    net.isolated.insert(2);
    let now = net.now;
    let (next, _) = net.core(1).propose(now, vec![b"x".to_vec()]).unwrap();
    net.settle();
    assert!(
        net.core(1).commit_index() < next,
        "voter 2 is needed now: 1 of 2 is no majority"
    );
}

/// §4.3: a change of more than one voter goes through C_old,new, which needs majorities of
/// both halves; once it commits the leader appends C_new itself.
#[test]
fn joint_consensus_needs_both_majorities_then_moves_to_c_new() {
    let mut net = Net::new(&[1, 2, 3], &[4, 5]);
    net.elect(1);
    for learner in [4, 5] {
        net.change(1, MembershipChange::AddLearner(learner))
            .unwrap();
        net.heartbeat(1);
    }
    // C_new = {1, 4, 5}: two voters change at once.
    net.isolated.extend([4, 5]);
    let target = Membership::new([1, 4, 5]);
    let (index, _) = net
        .change(1, MembershipChange::Replace(target.clone()))
        .unwrap();
    assert!(net.core(1).membership().is_joint());
    net.heartbeat(1);
    assert!(
        net.core(1).commit_index() < index,
        "C_old's majority {{1, 2, 3}} holds it, C_new's {{1, 4, 5}} does not"
    );
    net.isolated.clear();
    net.heartbeat(1);
    net.heartbeat(1);
    assert_eq!(net.core(1).membership(), &target, "C_new appended");
    assert!(net.core(1).commit_index() >= net.core(1).membership_index());
    assert_eq!(net.core(4).membership(), &target);
    assert_eq!(net.core(1).role(), Role::Leader);
}

/// §4.2.2: a leader removed from the configuration keeps leading (without counting itself)
/// until C_new commits, then steps down.
#[test]
fn a_leader_not_in_c_new_steps_down_once_c_new_commits() {
    let mut net = Net::new(&[1, 2, 3], &[]);
    net.elect(1);
    net.isolated.extend([2, 3]);
    let (index, _) = net.change(1, MembershipChange::Remove(1)).unwrap();
    assert_eq!(
        net.core(1).role(),
        Role::Leader,
        "still leading until it commits"
    );
    assert_eq!(net.core(1).peers(), &[2, 3]);
    net.isolated.clear();
    net.heartbeat(1);
    assert!(net.core(2).last_index() >= index);
    assert_eq!(net.core(1).role(), Role::Follower);
    assert_eq!(net.core(1).membership(), &Membership::new([2, 3]));
    for _ in 0..3 {
        net.fire(1);
    }
    assert_eq!(
        net.core(1).role(),
        Role::Follower,
        "a removed node never campaigns"
    );
    net.fire(2);
    assert_eq!(net.core(2).role(), Role::Leader, "{{2, 3}} elect a leader");
}

/// §4.2.3: a removed server that never learnt of its removal cannot disrupt: its pre-vote is
/// refused by servers that hear from a current leader (thesis §9.6 with check-quorum).
#[test]
fn a_removed_server_cannot_disrupt_a_live_leader() {
    let mut net = Net::new(&[1, 2, 3, 4], &[]);
    net.elect(1);
    net.isolated.insert(4);
    net.change(1, MembershipChange::Remove(4)).unwrap();
    net.heartbeat(1);
    assert_eq!(net.core(1).membership(), &Membership::new([1, 2, 3]));
    let term = net.core(1).term();
    net.isolated.clear();
    // Node 4 still believes itself a voter; its timer fires within the leader's lease.
    let now = net.core(1).next_deadline().min(net.core(4).next_deadline());
    net.now = now;
    net.core(4).step(
        now,
        1,
        Message::RequestVote(RequestVote {
            term: 0,
            candidate_id: 1,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: true,
            transfer: false,
        }),
    );
    net.core(4).take_actions();
    net.fire(4);
    assert_eq!(net.core(1).term(), term, "no term disruption");
    assert_eq!(net.core(1).role(), Role::Leader);
    assert_ne!(net.core(4).role(), Role::Leader);
}

/// §3.10: the leader brings the target up to date, sends TimeoutNow, and the target wins at
/// once (without a pre-vote); proposals are refused meanwhile.
#[test]
fn leadership_transfer_hands_over_to_the_target() {
    let mut net = Net::new(&[1, 2, 3], &[]);
    net.elect(1);
    net.isolated.insert(3);
    let now = net.now;
    net.core(1).propose(now, vec![b"x".to_vec()]).unwrap();
    net.settle();
    net.isolated.clear();
    net.delivered.clear();
    let now = net.now;
    net.core(1).transfer_leadership(now, 3).unwrap();
    assert_eq!(net.core(1).transfer_target(), Some(3));
    assert!(net.core(1).propose(now, vec![b"y".to_vec()]).is_err());
    net.settle();
    assert!(timeout_now_sent(&net, 3));
    assert!(
        !net.delivered
            .iter()
            .any(|(from, _, m)| *from == 3 && matches!(m, Message::RequestVote(v) if v.pre_vote)),
        "the target skips the pre-vote"
    );
    assert_eq!(net.core(3).role(), Role::Leader);
    assert_eq!(net.core(1).role(), Role::Follower);
    assert_eq!(net.core(1).transfer_target(), None);
}

/// §3.10 with §4.2.3 and §6.4.1: with lease reads on, the voters heard from their leader
/// within the election timeout and refuse ordinary votes, yet the target of a transfer wins at
/// once, no time passing: its vote requests are marked as a transfer's (etcd's
/// `campaignTransfer`), and the old leader voided its lease when it sent TimeoutNow.
#[test]
fn a_transfer_under_lease_reads_completes_without_waiting_an_election_timeout() {
    let config = Config {
        lease_read_margin: Some(Duration::from_millis(20)),
        ..Config::default()
    };
    let mut net = Net::with_config(&[1, 2, 3], &[], config);
    net.elect(1);
    net.heartbeat(1);
    let started = net.now;
    net.delivered.clear();
    net.core(1).transfer_leadership(started, 3).unwrap();
    net.settle();
    assert!(timeout_now_sent(&net, 3));
    let votes: Vec<&RequestVote> = (net.delivered.iter())
        .filter_map(|(from, _, m)| match m {
            Message::RequestVote(vote) if *from == 3 => Some(vote),
            _ => None,
        })
        .collect();
    assert!(!votes.is_empty() && votes.iter().all(|vote| vote.transfer && !vote.pre_vote));
    assert_eq!(net.now, started, "no time passed");
    assert_eq!(net.core(3).role(), Role::Leader);
    assert_eq!(net.core(1).role(), Role::Follower);
    assert_eq!(net.core(2).leader(), Some(3));
}

/// §4.2.3 with §6.4.1: with lease reads on, a voter that heard from its leader within the
/// election timeout refuses a vote request without the transfer mark, keeping its term; the
/// same request marked as a transfer's (§3.10) is granted.
#[test]
fn under_lease_reads_only_a_vote_marked_as_a_transfer_is_granted_while_the_leader_is_heard() {
    let config = Config {
        lease_read_margin: Some(Duration::from_millis(20)),
        ..Config::default()
    };
    let mut net = Net::with_config(&[1, 2, 3], &[], config);
    net.elect(1);
    let term = net.core(1).term();
    let last_index = net.core(3).last_index();
    let request = |transfer| {
        Message::RequestVote(RequestVote {
            term: term + 1,
            candidate_id: 3,
            last_log_index: last_index,
            last_log_term: term,
            pre_vote: false,
            transfer,
        })
    };
    let granted = |actions: Vec<Action>| {
        actions.iter().any(|action| {
            matches!(action, Action::Reply(Message::RequestVoteResponse(r)) if r.vote_granted)
        })
    };
    let now = net.now + Duration::from_millis(1);
    net.core(2).step(now, 3, request(false));
    assert!(!granted(net.core(2).take_actions()), "unmarked: refused");
    assert_eq!(net.core(2).term(), term, "and the term kept");
    net.core(2).step(now, 3, request(true));
    assert!(granted(net.core(2).take_actions()), "marked: granted");
    assert_eq!(net.core(2).term(), term + 1);
}

/// §3.10: a transfer whose target does not take over within an election timeout is
/// abandoned, and the leader takes proposals again.
#[test]
fn leadership_transfer_times_out_and_the_leader_resumes() {
    let mut net = Net::new(&[1, 2, 3], &[]);
    net.elect(1);
    net.isolated.insert(3);
    let now = net.now;
    net.core(1).transfer_leadership(now, 3).unwrap();
    assert_eq!(
        net.core(1).transfer_leadership(now, 2),
        Err(TransferError::InProgress(3))
    );
    assert!(!timeout_now_sent(&net, 3));
    for _ in 0..4 {
        net.heartbeat(1);
    }
    net.tick_all(Config::default().election_timeout_max);
    assert_eq!(net.core(1).role(), Role::Leader);
    assert_eq!(net.core(1).transfer_target(), None);
    let now = net.now;
    assert!(net.core(1).propose(now, vec![b"z".to_vec()]).is_ok());
    assert_eq!(
        net.core(1).transfer_leadership(now, 7),
        Err(TransferError::UnknownNode(7))
    );
}

/// §4.1/§4.2.1: only voters of the configuration in effect count; a learner's granted vote
/// (it answers like any server) does not make a candidate leader.
#[test]
fn a_learners_vote_does_not_count() {
    let learner_config = Membership::new([1, 2, 3]).with_learners([4]);
    let mut core = Core::restart_with_membership(
        1,
        learner_config,
        Config::default(),
        empty_state(),
        Duration::ZERO,
        1,
    );
    core.set_check_invariants(true);
    let now = core.next_deadline();
    core.tick(now);
    let granted = |pre_vote| {
        Message::RequestVoteResponse(crate::message::RequestVoteResponse {
            term: 1,
            vote_granted: true,
            pre_vote,
        })
    };
    core.step(now, 4, granted(true));
    assert_eq!(
        core.role(),
        Role::PreCandidate,
        "the learner's pre-vote is ignored"
    );
    core.step(now, 2, granted(true));
    assert_eq!(core.role(), Role::Candidate);
    core.step(now, 4, granted(false));
    assert_eq!(
        core.role(),
        Role::Candidate,
        "the learner's vote is ignored"
    );
    core.step(now, 3, granted(false));
    assert_eq!(core.role(), Role::Leader);
}

/// §4.3: in C_old,new a candidate needs a majority of each half: votes from C_new's majority
/// alone do not elect it.
#[test]
fn an_election_in_a_joint_configuration_needs_both_majorities() {
    let joint = Membership::new([1, 2, 3]).joint_to(&Membership::new([1, 4, 5]));
    let mut core = Core::restart_with_membership(
        1,
        joint,
        Config::default(),
        empty_state(),
        Duration::ZERO,
        1,
    );
    core.set_check_invariants(true);
    let now = core.next_deadline();
    core.tick(now);
    let requested: BTreeSet<NodeId> = core
        .take_actions()
        .into_iter()
        .filter_map(|action| match action {
            Action::Send {
                to,
                message: Message::RequestVote(_),
            } => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(
        requested,
        [2, 3, 4, 5].into(),
        "every voter of both halves is asked"
    );
    let granted = |pre_vote| {
        Message::RequestVoteResponse(crate::message::RequestVoteResponse {
            term: 1,
            vote_granted: true,
            pre_vote,
        })
    };
    core.step(now, 4, granted(true));
    assert_eq!(core.role(), Role::PreCandidate, "{{1, 4}}: C_new only");
    core.step(now, 2, granted(true));
    assert_eq!(core.role(), Role::Candidate);
    core.step(now, 4, granted(false));
    core.step(now, 5, granted(false));
    assert_eq!(
        core.role(),
        Role::Candidate,
        "{{1, 4, 5}} is all of C_new but not a majority of C_old"
    );
    core.step(now, 3, granted(false));
    assert_eq!(core.role(), Role::Leader);
}

/// §4.3: C_new follows a committed C_old,new even across a change of leader: a new leader
/// whose log ends with the joint configuration appends C_new once its own no-op commits
/// (so the joint entry is committed too).
#[test]
fn a_new_leader_finishes_a_joint_change_its_predecessor_started() {
    let joint = Membership::new([1, 2, 3]).joint_to(&Membership::new([1, 2, 4]));
    let entries = vec![
        Entry {
            term: 1,
            index: 1,
            payload: Payload::Noop,
        },
        Entry {
            term: 1,
            index: 2,
            payload: Payload::Membership(joint.clone()),
        },
    ];
    let state = StartState {
        hard_state: HardState {
            current_term: 1,
            voted_for: None,
        },
        entries,
        ..empty_state()
    };
    let bootstrap = Membership::new([1, 2, 3]);
    let mut core =
        Core::restart_with_membership(1, bootstrap, Config::default(), state, Duration::ZERO, 1);
    core.set_check_invariants(true);
    assert_eq!(core.membership(), &joint);
    let now = core.next_deadline();
    core.tick(now);
    for pre_vote in [true, false] {
        let granted = crate::message::RequestVoteResponse {
            term: 2,
            vote_granted: true,
            pre_vote,
        };
        core.step(now, 2, Message::RequestVoteResponse(granted));
    }
    assert_eq!(
        core.role(),
        Role::Leader,
        "node 2 is a majority of both halves with 1"
    );
    assert_eq!(core.last_index(), 3, "the no-op of term 2");
    let acknowledged = crate::message::AppendEntriesResponse {
        term: 2,
        success: true,
        match_index: 3,
        conflict: None,
    };
    core.step(now, 2, Message::AppendEntriesResponse(acknowledged));
    assert_eq!(core.commit_index(), 3);
    assert_eq!(
        core.membership(),
        &Membership::new([1, 2, 4]),
        "C_new appended"
    );
    assert_eq!(core.membership_index(), 4);
}
