//! Leader election (§5.2): randomized timeouts, pre-vote (thesis §9.6), voting with the
//! up-to-date check (§5.4.1), and the role transitions.

use rand::Rng;

use super::progress::Progress;
use super::{Core, Mutation, Role};
use crate::message::{Message, RequestVote, RequestVoteResponse};
use crate::types::{HardState, LogIndex, NodeId, Term};

/// §5.4.1: a candidate's log is at least as up-to-date as the voter's if its last term is
/// higher, or the last terms are equal and its log is at least as long.
pub fn log_is_up_to_date(
    candidate_last_term: Term,
    candidate_last_index: LogIndex,
    voter_last_term: Term,
    voter_last_index: LogIndex,
) -> bool {
    (candidate_last_term, candidate_last_index) >= (voter_last_term, voter_last_index)
}

impl Core {
    /// Pick a new random election timeout in `[election_timeout_min, election_timeout_max)`.
    pub(super) fn reset_election_timer(&mut self) {
        let timeout = self
            .rng
            .random_range(self.config.election_timeout_min..self.config.election_timeout_max);
        self.election_deadline = self.now + timeout;
    }

    /// Become a follower in `term` (persisting a higher term with no vote), knowing `leader`.
    pub(super) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        if term > self.term() {
            self.hard_state = HardState {
                current_term: term,
                voted_for: None,
            };
            if self.mutations.breaks(Mutation::TermNotPersisted) {
                self.persisted_hard_state = self.hard_state;
            }
            self.last_leader_contact = None;
        }
        if self.role != Role::Follower {
            self.role = Role::Follower;
            self.votes.clear();
            self.progress.clear();
            self.transfer = None;
            self.reset_election_timer();
        }
        self.leader = leader;
    }

    /// The election timer fired: ask for pre-votes for `term + 1` without changing any state
    /// that must be persisted (thesis §9.6).
    ///
    /// Terms never wrap (§5.1: they only increase). A node whose current term is `Term::MAX`
    /// (a peer's message can carry it, Figure 2 makes every node adopt it) has no next term to
    /// campaign in: it logs why, stays (or becomes) a follower of that term and waits for a
    /// leader of it, re-arming its timer.
    pub(super) fn start_pre_vote(&mut self) {
        let Some(next_term) = self.term().checked_add(1) else {
            tracing::error!(
                node = self.id,
                term = self.term(),
                "cannot campaign: the current term is the largest a term can be (u64::MAX) and \
                 terms never wrap; staying a follower of it"
            );
            self.become_follower(self.term(), None);
            return self.reset_election_timer();
        };
        if !self.membership().is_voter(self.id) {
            // §4.2.1, §4.2.3: a learner, a node not yet told it is a member, or one removed
            // from the configuration never campaigns; it waits to hear from a leader.
            return self.reset_election_timer();
        }
        if self.mutations.breaks(Mutation::CampaignWithoutPreVote) {
            return self.become_candidate(false);
        }
        self.role = Role::PreCandidate;
        self.leader = None;
        self.progress.clear();
        self.votes = [self.id].into();
        self.reset_election_timer();
        if self.is_quorum(&self.votes) {
            return self.become_candidate(false);
        }
        self.request_votes(next_term, true, false);
    }

    /// Campaign at once, skipping the pre-vote (a leadership transfer's TimeoutNow, §3.10),
    /// with vote requests marked as a transfer ([`RequestVote::transfer`]); not possible at
    /// the largest term.
    pub(super) fn campaign_now(&mut self) {
        if self.term().checked_add(1).is_none() {
            return self.start_pre_vote();
        }
        self.become_candidate(true);
    }

    /// A majority granted pre-votes (or the leader ordered a transfer, `transfer`): start a
    /// real election (§5.2): increment the term, vote for itself (persisted before any
    /// RequestVote leaves), ask every peer.
    fn become_candidate(&mut self, transfer: bool) {
        let next_term = (self.term().checked_add(1))
            .expect("only a pre-candidate becomes candidate, and start_pre_vote checked term + 1");
        self.hard_state = HardState {
            current_term: next_term,
            voted_for: Some(self.id),
        };
        self.role = Role::Candidate;
        self.leader = None;
        self.last_leader_contact = None;
        self.votes = [self.id].into();
        self.reset_election_timer();
        if self.is_quorum(&self.votes) {
            return self.become_leader();
        }
        self.request_votes(self.term(), false, transfer);
    }

    fn request_votes(&mut self, term: Term, pre_vote: bool, transfer: bool) {
        let request = RequestVote {
            term,
            candidate_id: self.id,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            pre_vote,
            transfer,
        };
        let mut voters = self.membership().all_voters();
        voters.remove(&self.id);
        for peer in voters {
            self.send(peer, Message::RequestVote(request.clone()));
        }
    }

    /// Won the election: initialize every follower's progress (§5.3), append a no-op of the
    /// new term (§8) and start replicating it.
    fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.reset_reads_for_leadership();
        self.votes.clear();
        let next_index = self.log.last_index() + 1;
        self.progress = self
            .peers
            .iter()
            .map(|peer| (*peer, Progress::new(next_index)))
            .collect();
        self.heartbeat_deadline = self.now + self.config.heartbeat_interval;
        self.check_quorum_deadline = self.now + self.config.election_timeout_min;
        tracing::debug!(node = self.id, term = self.term(), "became leader");
        self.append_as_leader(vec![crate::types::Payload::Noop]);
    }

    /// Answer a RequestVote or pre-vote; a granted vote is persisted before the reply.
    pub(super) fn handle_request_vote(&mut self, request: RequestVote) {
        if request.last_log_term > request.term {
            tracing::error!(
                node = self.id,
                ?request,
                "malformed RequestVote refused: a candidate's last log term cannot be above the \
                 term it campaigns in (§5.1)"
            );
            return self.reply_vote(self.term(), false, request.pre_vote);
        }
        if request.pre_vote {
            let granted = self.grants_pre_vote(&request);
            if granted && self.mutations.breaks(Mutation::PreVoteBumpsTerm) {
                self.become_follower(request.term, None);
            }
            let term = if granted { request.term } else { self.term() };
            return self.reply_vote(term, granted, true);
        }
        if self.config.lease_read_margin.is_some()
            && request.term > self.term()
            && !request.transfer
            && self.leader_is_live()
        {
            // Dissertation §4.2.3, which leases rely on (§6.4.1): within an election timeout
            // of hearing from a leader, neither adopt a candidate's term nor vote for it; a
            // pre-vote granted earlier must not let a candidate in while a lease may hold.
            // A candidate the leader ordered to campaign (§3.10) is let in: that leader voided
            // its lease before it sent the order.
            return self.reply_vote(self.term(), false, false);
        }
        if request.term > self.term() {
            self.become_follower(request.term, None);
        }
        let granted = self.grants_vote(&request);
        if granted {
            if self.mutations.breaks(Mutation::VoteNotPersisted) {
                // Save what changed before the vote, then keep the vote in memory only.
                self.flush_status();
                self.hard_state.voted_for = Some(request.candidate_id);
                self.persisted_hard_state = self.hard_state;
            }
            self.hard_state.voted_for = Some(request.candidate_id);
            self.reset_election_timer();
        }
        self.reply_vote(self.term(), granted, false);
    }

    fn reply_vote(&mut self, term: Term, vote_granted: bool, pre_vote: bool) {
        self.reply(Message::RequestVoteResponse(RequestVoteResponse {
            term,
            vote_granted,
            pre_vote,
        }));
    }

    /// §5.2, §5.4.1: one vote per term, only to a candidate whose log is up-to-date.
    fn grants_vote(&self, request: &RequestVote) -> bool {
        let free_to_vote = self
            .hard_state
            .voted_for
            .is_none_or(|candidate| candidate == request.candidate_id)
            || self.mutations.breaks(Mutation::VoteTwiceInTerm);
        request.term == self.term() && free_to_vote && self.candidate_log_is_acceptable(request)
    }

    /// Thesis §9.6: grant a pre-vote for a higher term to an up-to-date log, unless this node
    /// heard from a live leader within the minimum election timeout.
    fn grants_pre_vote(&self, request: &RequestVote) -> bool {
        request.term > self.term()
            && !self.leader_is_live()
            && self.candidate_log_is_acceptable(request)
    }

    fn leader_is_live(&self) -> bool {
        let recent = |contact| self.now < contact + self.config.election_timeout_min;
        self.role == Role::Leader || self.last_leader_contact.is_some_and(recent)
    }

    fn candidate_log_is_acceptable(&self, request: &RequestVote) -> bool {
        self.mutations.breaks(Mutation::VoteWithoutLogCheck)
            || log_is_up_to_date(
                request.last_log_term,
                request.last_log_index,
                self.log.last_term(),
                self.log.last_index(),
            )
    }

    /// Count a (pre-)vote; a majority moves the pre-candidate on to candidate, and the
    /// candidate on to leader.
    pub(super) fn handle_vote_response(&mut self, from: NodeId, response: RequestVoteResponse) {
        if from == self.id || !self.membership().is_voter(from) {
            tracing::debug!(
                node = self.id,
                from,
                ?response,
                "vote response from a node that is not a voter ignored (§4.1: only voters of the \
                 configuration in effect count)"
            );
            return;
        }
        let granted_pre_vote = response.pre_vote && response.vote_granted;
        if response.term > self.term() && !granted_pre_vote {
            return self.become_follower(response.term, None);
        }
        let counts = match self.role {
            Role::PreCandidate => {
                granted_pre_vote && Some(response.term) == self.term().checked_add(1)
            }
            Role::Candidate => {
                !response.pre_vote
                    && response.vote_granted
                    && (response.term == self.term()
                        || self.mutations.breaks(Mutation::CountVotesFromOtherTerms))
            }
            Role::Follower | Role::Leader => false,
        };
        if !counts {
            return;
        }
        self.votes.insert(from);
        if self.is_quorum(&self.votes) {
            match self.role {
                Role::PreCandidate => self.become_candidate(false),
                _ => self.become_leader(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::Action;
    use crate::message::AppendEntries;
    use crate::settings::Config;

    /// Node `id` of three (nodes 1 to 3), lease reads off, fresh.
    fn node_of_three(id: NodeId) -> Core {
        let peers = [1, 2, 3].into_iter().filter(|peer| *peer != id).collect();
        let mut core = Core::new(
            id,
            peers,
            Config::default(),
            HardState::default(),
            vec![],
            Duration::ZERO,
            7,
        );
        core.set_check_invariants(true);
        core
    }

    /// The vote replies among `actions`: (term, granted).
    fn vote_replies(actions: &[Action]) -> Vec<(Term, bool)> {
        (actions.iter())
            .filter_map(|action| match action {
                Action::Reply(Message::RequestVoteResponse(response)) if !response.pre_vote => {
                    Some((response.term, response.vote_granted))
                }
                _ => None,
            })
            .collect()
    }

    fn request_vote(term: Term, candidate_id: NodeId) -> Message {
        Message::RequestVote(RequestVote {
            term,
            candidate_id,
            last_log_index: 0,
            last_log_term: 0,
            pre_vote: false,
            transfer: false,
        })
    }

    /// Figure 2 (RequestVote receiver, "if term > currentTerm: set currentTerm") and §3.10:
    /// with lease reads off, hearing from a live leader refuses only *pre*-votes (thesis
    /// §9.6); a real RequestVote of a higher term, such as a leadership transfer's (which
    /// skips the pre-vote), is adopted and granted. Refusing it too is the lease rule
    /// (§4.2.3, §6.4.1), for lease reads only: applied always, it would block every transfer.
    /// (A surviving mutant of the chaos oracle, CATALOGUE.md.)
    #[test]
    fn without_leases_a_higher_term_request_vote_is_granted_even_while_the_leader_is_live() {
        let mut follower = node_of_three(2);
        let now = Duration::from_millis(10);
        let heartbeat = AppendEntries {
            term: 1,
            leader_id: 1,
            prev_log_index: 0,
            prev_log_term: 0,
            entries: vec![],
            leader_commit: 0,
        };
        follower.step(now, 1, Message::AppendEntries(heartbeat));
        assert_eq!((follower.term(), follower.leader()), (1, Some(1)));
        follower.take_actions();
        follower.step(now + Duration::from_millis(1), 3, request_vote(2, 3));
        assert_eq!(vote_replies(&follower.take_actions()), [(2, true)]);
        assert_eq!(follower.term(), 2, "the higher term is adopted");
        assert_eq!(follower.hard_state.voted_for, Some(3));
    }

    /// §5.1, §5.2: only a higher term makes a leader step down. A RequestVote of the
    /// leader's own term (a late one from a candidate that lost that election) is refused
    /// (the leader voted for itself) and the leader stays leader. (A surviving mutant of
    /// the chaos oracle, CATALOGUE.md: stepping down on it costs an election.)
    #[test]
    fn a_request_vote_of_the_leaders_own_term_does_not_depose_it() {
        let mut leader = node_of_three(1);
        let now = leader.next_deadline();
        leader.tick(now);
        for pre_vote in [true, false] {
            let granted = RequestVoteResponse {
                term: 1,
                vote_granted: true,
                pre_vote,
            };
            leader.step(now, 2, Message::RequestVoteResponse(granted));
        }
        assert_eq!((leader.role(), leader.term()), (Role::Leader, 1));
        leader.take_actions();
        leader.step(now, 3, request_vote(1, 3));
        assert_eq!(vote_replies(&leader.take_actions()), [(1, false)]);
        assert_eq!((leader.role(), leader.leader()), (Role::Leader, Some(1)));
    }

    /// §5.4.1: compare last terms first, then lengths.
    #[test]
    fn up_to_date_compares_last_term_then_length() {
        // (candidate term, candidate index, voter term, voter index, up-to-date)
        let table = [
            (0, 0, 0, 0, true),
            (1, 1, 0, 0, true),
            (0, 0, 1, 1, false),
            (2, 1, 1, 5, true),
            (1, 5, 2, 1, false),
            (3, 4, 3, 4, true),
            (3, 5, 3, 4, true),
            (3, 3, 3, 4, false),
        ];
        for (candidate_term, candidate_index, voter_term, voter_index, expected) in table {
            assert_eq!(
                log_is_up_to_date(candidate_term, candidate_index, voter_term, voter_index),
                expected,
                "candidate ({candidate_term}, {candidate_index}) voter ({voter_term}, {voter_index})"
            );
        }
    }
}
