//! Raft's rules checked from outside, on what any implementation of the traits exposes: what
//! each node made durable through its `Log` ([`DurableView`]), what it answered on the wire
//! (each RequestVote and AppendEntries it handled, with its answer), and what it reported
//! (leadership, commit index). Each rule names the paper's section:
//!
//! * **Durable before reply** (§5.1, Figure 2: persistent state is updated on stable storage
//!   before responding): an answer's term is durable, and so is a granted vote.
//! * **Durable state kept** (the `Log` contract, §5.1): a log reopened after a crash or a
//!   power cut holds every entry, term and vote it had made durable (a write that returned).
//! * **One vote per term** (§5.2), across restarts: a voter grants votes of one term to one
//!   candidate.
//! * **Election by a majority of its own term** (§5.2, against the configuration, §4.3): a new
//!   leader of term T had received granted votes of term T (answers that reached it through its
//!   `Peer`) from a quorum of the configuration its log held, its own included: a majority of
//!   each half while joint; learners never count (§4.2.1).
//! * **Commit by a quorum of the configuration** (§5.4.2, §4.3): when a leader reports a new
//!   commit index, acknowledgements of that index in its term (successful AppendEntries answers
//!   that reached it through its `Peer`, and its own durable log) form a quorum of the
//!   configuration in effect at that index, or of one its log holds after it (a new
//!   configuration counts from the moment it is appended, §4.1). An answer that reached the
//!   leader's `Peer` but not yet its event loop only makes this lenient; an InstallSnapshot
//!   answer is not counted (it covers committed entries only).
//! * **One configuration change at a time** (§4.1, and the dissertation's errata to §4.2): a
//!   leader appends a configuration entry only when the previous one in its log is committed
//!   (by its own reported commit index) and an entry of its own term is committed; the new
//!   configuration is one step from the previous one (one voter, or into or out of
//!   C_old,new); and the committed configurations form one such chain.
//! * **Removed servers do not disrupt** (§4.2.3, thesis §9.6): a leader is never deposed into a
//!   term that only nodes outside the committed configuration (and outside every
//!   configuration appended since) campaigned in. Such a node is never told of its removal (the
//!   leader stops replicating to it); pre-vote, or ignoring RequestVotes while a leader is
//!   heard from, keeps its campaigns from deposing anyone.
//! * **Terms start at a candidate** (§5.2; thesis §9.6, a pre-vote changes no state): a node
//!   makes a term durable only after some candidate made its own vote in that term durable.
//! * **Up-to-date votes** (§5.4.1): a (pre-)vote is granted only to a log at least as
//!   up-to-date as the voter's.
//! * **Stale terms rejected** (§5.1): an AppendEntries of a term older than the follower's is
//!   refused.
//! * **The consistency check** (§5.3): a follower accepts entries after `prevLogIndex` only when
//!   its entry there has `prevLogTerm`, and acknowledges no more than the request covered.
//! * **A higher term deposes a leader** (Figure 2, all servers): once an answer of a higher
//!   term reached a leader, it sends no more than [`STALE_SENDS`] AppendEntries of its old term
//!   (those its event loop may send before it handles the answer).
//! * **Compaction behind a snapshot** (§7): a node compacts its log only through an index a
//!   durable snapshot it reported (taken or installed) covers.
//! * **Leader completeness** (§5.4): an entry a node reported committed is in the log of every
//!   later leader, and is never truncated from any log; two nodes never commit different
//!   entries at one index.

use std::collections::{BTreeMap, BTreeSet};

use rafty::{
    AppendEntriesResponse, LogIndex, Membership, NodeId, RequestVote, RequestVoteResponse, Term,
    core::log_is_up_to_date,
};

use super::configurations::{Configurations, is_quorum, one_step};
use super::durable_view::{DurableView, Mark};

/// What a node's log held when it opened: hard state, the (index, term) it was compacted
/// through ((0, 0) if never), its first index, and the term of each entry from there.
pub type OpenedLog = (rafty::HardState, (LogIndex, Term), LogIndex, Vec<Term>);

/// A broken rule: its name and what exactly was seen.
pub type Finding = (&'static str, String);

/// An AppendEntries a follower handled (its entries summarized by count) and its answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendAnswer {
    /// The request's term.
    pub term: Term,
    /// The leader that sent it.
    pub leader_id: NodeId,
    /// The request's `prevLogIndex`.
    pub prev_log_index: LogIndex,
    /// The request's `prevLogTerm`.
    pub prev_log_term: Term,
    /// How many entries it carried.
    pub entries: u64,
    /// The follower's answer.
    pub response: AppendEntriesResponse,
}

/// How many AppendEntries of its old term a leader may still send after an answer of a higher
/// term reached it: far more than its in-flight windows and heartbeats can produce before its
/// event loop handles the answer, far fewer than a leader that ignores it sends.
pub const STALE_SENDS: u64 = 100;

/// How many terms behind every node's durable term the votes, campaigns and leaders of a term
/// are still held. An answer is recorded once the node's RPC task has it back, possibly after
/// the node moved on by a term or two; a hundred terms is far more than that, and keeps what
/// the checker holds per term bounded, whatever the run's length.
pub const TERM_WINDOW: Term = 100;

/// The protocol checker's state.
#[derive(Debug, Default)]
pub struct Protocol {
    cluster_size: Option<usize>,
    views: BTreeMap<NodeId, DurableView>,
    /// (voter, term) -> the candidate it granted its vote to.
    votes: BTreeMap<(NodeId, Term), NodeId>,
    /// (candidate, term) -> the voters whose granted vote of that term reached the candidate.
    received: BTreeMap<(NodeId, Term), BTreeSet<NodeId>>,
    /// Term -> the candidates that made their own vote in it durable, each with whether it
    /// was outside the configuration then (see [`Protocol::is_removed`]).
    campaigns: BTreeMap<Term, BTreeMap<NodeId, bool>>,
    /// The configurations in the logs.
    configurations: Configurations,
    /// Per node: the term it leads, while it does.
    leading: BTreeMap<NodeId, Term>,
    /// (leader, term) -> per follower, the highest index it acknowledged to that leader in
    /// that term (a successful AppendEntries answer that reached the leader).
    acks: BTreeMap<(NodeId, Term), BTreeMap<NodeId, LogIndex>>,
    /// The highest commit index a leader reported.
    leader_committed: LogIndex,
    /// Index -> (term, reporter): entries some node reported committed.
    committed: BTreeMap<LogIndex, (Term, NodeId)>,
    /// Per node: the highest index a durable snapshot it reported (taken or installed) covers.
    snapshots: BTreeMap<NodeId, LogIndex>,
    /// Per node: the term of its AppendEntries that got an answer of a higher term, and how
    /// many of that term it sent since.
    deposed: BTreeMap<NodeId, (Term, u64)>,
    /// Votes, received votes and campaigns of terms below this were dropped.
    terms_dropped_below: Term,
}

impl Protocol {
    /// The cluster has `nodes` voters (enables the majority check).
    /// Nodes `1..=nodes` are the initial configuration's voters.
    pub fn set_cluster_size(&mut self, nodes: usize) {
        self.cluster_size = Some(nodes);
        let voters = (1..=nodes as NodeId).collect::<Vec<_>>();
        self.configurations.set_initial(Membership::new(voters));
    }

    /// The configuration in effect in `node`'s durable log as seen from outside (§4.1: the
    /// latest configuration entry it holds), with that entry's index (0: the initial one).
    pub fn configuration_of(&self, node: NodeId) -> (LogIndex, &Membership) {
        match self.views.get(&node) {
            Some(view) => self.configurations.in_effect(view),
            None => self.configurations.at(&DurableView::default(), 0),
        }
    }

    /// Where `node`'s durable log stands now.
    pub fn mark(&self, node: NodeId) -> Mark {
        self.views
            .get(&node)
            .map(DurableView::mark)
            .unwrap_or_default()
    }

    fn view(&mut self, node: NodeId) -> &mut DurableView {
        self.views.entry(node).or_default()
    }

    /// `node` opened its log: its hard state, the (index, term) it was compacted through,
    /// its first index and the terms from there.
    ///
    /// Durable means durable (the `Log` contract; §5.1, Figure 2: persistent state on stable
    /// storage): a log reopened after a crash, a kill or a power cut still holds everything
    /// its writes acknowledged before. A lower term, another vote in the same term, or an
    /// acknowledged entry missing or changed (beyond a truncation or compaction that was in
    /// flight) is a finding naming what was lost.
    pub fn opened(&mut self, node: NodeId, view: OpenedLog) -> Vec<Finding> {
        let (hard_state, compacted, first_index, terms) = view;
        let mut reopened = DurableView::default();
        reopened.open(hard_state, compacted, first_index, terms);
        let findings = self
            .views
            .get(&node)
            .and_then(|before| before.lost_in(&reopened))
            .map(|lost| {
                (
                    "durable-state-kept",
                    format!(
                        "n{node} reopened its log without {lost}, which its log had acknowledged \
                         as durable (§5.1, Figure 2: persistent state on stable storage; the \
                         Log contract: durable when the call returns)"
                    ),
                )
            })
            .into_iter()
            .collect();
        let opened = self.views.get(&node).map_or(0, DurableView::times_opened);
        self.views.insert(node, reopened.reopened_after(opened));
        findings
    }

    /// A log that opened from `first_index` holding `terms` holds these configuration entries
    /// (index and configuration).
    pub fn log_holds(
        &mut self,
        first_index: LogIndex,
        terms: &[Term],
        configurations: &[(LogIndex, Membership)],
    ) {
        let entries = with_terms(first_index, terms, configurations);
        self.configurations.appended(&entries);
    }

    /// The index every node's log is compacted through (0 until every node of the cluster
    /// opened its log): no node holds, applies or is sent entries at or below it again, bar
    /// the snapshot at it.
    pub fn compacted_everywhere(&self) -> LogIndex {
        match self.cluster_size {
            Some(size) if self.views.len() >= size => self
                .views
                .values()
                .map(DurableView::compacted_through)
                .min()
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// The lowest term whose votes, campaigns and leaders are still held: [`TERM_WINDOW`] below
    /// the lowest durable term of any node (0 until every node of the cluster opened its log).
    pub fn term_floor(&self) -> Term {
        match self.cluster_size {
            Some(size) if self.views.len() >= size => self
                .views
                .values()
                .map(|view| view.hard_state().current_term)
                .min()
                .unwrap_or(0)
                .saturating_sub(TERM_WINDOW),
            _ => 0,
        }
    }

    /// Drop the votes, received votes and campaigns of terms below [`Protocol::term_floor`]:
    /// every node's durable term is far past them. No node makes such a term durable again
    /// (term-origin looks only at terms above the node's own), and a vote in it is answered
    /// by no node whose term moved on that far.
    fn forget_old_terms(&mut self) {
        let floor = self.term_floor();
        if floor <= self.terms_dropped_below {
            return;
        }
        self.votes.retain(|(_, term), _| *term >= floor);
        self.received.retain(|(_, term), _| *term >= floor);
        self.acks.retain(|(_, term), _| *term >= floor);
        self.campaigns = self.campaigns.split_off(&floor);
        self.terms_dropped_below = floor;
    }

    /// How many votes, received votes and campaigns the checker holds.
    pub fn held_term_entries(&self) -> usize {
        self.votes.len() + self.received.len() + self.campaigns.len() + self.acks.len()
    }

    /// `node` asked its log to truncate from `from` (the call has not returned).
    pub fn truncating(&mut self, node: NodeId, from: LogIndex) {
        self.view(node).truncating(from);
    }

    /// `node` compacted its log through `index` of `term` (Raft §7). Entries every node has
    /// compacted away are forgotten here too (none can be truncated, committed again or
    /// needed by a later leader's log), so the checker stays as small as the logs.
    pub fn compacted(&mut self, node: NodeId, index: LogIndex, term: Term) -> Vec<Finding> {
        let covered = self.snapshots.get(&node).copied().unwrap_or(0);
        let findings = if index > covered {
            vec![(
                "compact-behind-snapshot",
                format!(
                    "n{node} compacted its log through index {index} while its durable snapshots \
                     cover only up to {covered} (§7: a log discards only the entries a durable \
                     snapshot covers)"
                ),
            )]
        } else {
            Vec::new()
        };
        self.view(node).compact(index, term);
        let everywhere = self.compacted_everywhere();
        // Keep the last committed entry: leader completeness compares every new leader with it.
        let keep_from = everywhere.min(self.committed.last_key_value().map_or(0, |(i, _)| *i));
        if keep_from > 0 {
            self.committed = self.committed.split_off(&keep_from);
        }
        findings
    }

    /// `node` reported a durable snapshot (taken or installed) covering up to `index`; the
    /// snapshot store outlives restarts, so this is kept across them.
    pub fn snapshot_durable(&mut self, node: NodeId, index: LogIndex) {
        let covered = self.snapshots.entry(node).or_default();
        *covered = (*covered).max(index);
    }

    /// `node` saved `state`.
    pub fn hard_state_saved(&mut self, node: NodeId, state: rafty::HardState) -> Vec<Finding> {
        let mut findings = Vec::new();
        let term = state.current_term;
        if state.voted_for == Some(node) {
            let removed = self.is_removed(node);
            self.campaigns
                .entry(term)
                .or_default()
                .insert(node, removed);
        } else {
            findings.extend(self.deposed_by_removed(node, term));
        }
        if state.voted_for != Some(node)
            && term > self.view(node).hard_state().current_term
            && !self.campaigns.contains_key(&term)
        {
            findings.push((
                "term-origin",
                format!(
                    "n{node} made term {term} durable before any candidate campaigned in it \
                     (§5.2: a term starts at a candidate; thesis §9.6: a pre-vote changes no \
                     state)"
                ),
            ));
        }
        self.view(node).save_hard_state(state);
        self.forget_old_terms();
        findings
    }

    /// Whether `node` is outside the configuration: not a member of the latest committed
    /// configuration, nor a voter of any configuration appended after it.
    fn is_removed(&self, node: NodeId) -> bool {
        let (_, committed) = self.configurations.latest_committed();
        !committed.contains(node)
            && !self
                .configurations
                .uncommitted()
                .any(|membership| membership.is_voter(node))
    }

    /// `node` is making `term` durable without campaigning: if it led its durable term, a
    /// higher term deposed it; a finding if only removed nodes campaigned in that term.
    fn deposed_by_removed(&mut self, node: NodeId, term: Term) -> Option<Finding> {
        let led = *self.leading.get(&node)?;
        if term <= led || self.view(node).hard_state().current_term != led {
            return None;
        }
        let candidates = self.campaigns.get(&term)?;
        if candidates.is_empty() || !candidates.values().all(|removed| *removed) {
            return None;
        }
        let removed: Vec<NodeId> = candidates.keys().copied().collect();
        Some((
            "removed-node-disrupts",
            format!(
                "n{node}, leader of term {led}, was deposed into term {term}, in which only \
                 {removed:?} campaigned, nodes outside the committed configuration {} \
                 (§4.2.3: removed servers must not disrupt the cluster; thesis §9.6 pre-vote)",
                self.configurations.latest_committed().1
            ),
        ))
    }

    /// `node` appended entries `first..` with `terms`; `configurations` are the configuration
    /// entries among them (index and configuration). A leader's own configuration entry must
    /// be one change from the configuration before it, which must be committed, and come after
    /// an entry of the leader's term is committed (errata to §4.2).
    pub fn appended(
        &mut self,
        node: NodeId,
        first: LogIndex,
        terms: &[Term],
        configurations: &[(LogIndex, Membership)],
    ) -> Vec<Finding> {
        self.view(node).append(first, terms);
        let entries = with_terms(first, terms, configurations);
        self.configurations.appended(&entries);
        let Some(&led) = self.leading.get(&node) else {
            return Vec::new();
        };
        let own: Vec<(LogIndex, Membership)> = entries
            .into_iter()
            .filter(|(_, term, _)| *term == led)
            .map(|(index, _, membership)| (index, membership))
            .collect();
        own.iter()
            .flat_map(|(index, membership)| self.change_appended(node, led, *index, membership))
            .collect()
    }

    /// Leader `node` of `term` appended `membership` at `index` (its log holds it now).
    fn change_appended(
        &self,
        node: NodeId,
        term: Term,
        index: LogIndex,
        membership: &Membership,
    ) -> Vec<Finding> {
        let Some(view) = self.views.get(&node) else {
            return Vec::new();
        };
        let mut findings = Vec::new();
        let (previous_index, previous) = self.configurations.at(view, index - 1);
        let commit = self.configurations.commit_of(node);
        if let Err(why) = one_step(previous, membership) {
            findings.push((
                "configuration-chain",
                format!(
                    "n{node}, leader of term {term}, appended {membership} at index {index} after \
                     {previous} (at {previous_index}): {why} (§4.2, §4.3)"
                ),
            ));
        }
        if previous_index > commit {
            findings.push((
                "one-change-at-a-time",
                format!(
                    "n{node}, leader of term {term}, appended {membership} at index {index} while \
                     the configuration at {previous_index} was not committed (its commit index \
                     {commit}) (§4.1: one change at a time)"
                ),
            ));
        }
        if view.term_at(commit) != Some(term) {
            findings.push((
                "membership-change-own-term",
                format!(
                    "n{node}, leader of term {term}, appended {membership} at index {index} \
                     before committing an entry of its term (its commit index {commit}, of term \
                     {:?}) (the dissertation's errata to §4.2: a leader first commits an entry \
                     of its own term)",
                    view.term_at(commit)
                ),
            ));
        }
        findings
    }

    /// `node` truncated its log from `from`.
    pub fn truncated(&mut self, node: NodeId, from: LogIndex) -> Vec<Finding> {
        let view = self.views.entry(node).or_default();
        let findings = self
            .committed
            .range(from..)
            .filter(|(index, (term, _))| view.term_at(**index) == Some(*term))
            .take(1)
            .map(|(index, (term, reporter))| {
                (
                    "committed-entry-kept",
                    format!(
                        "n{node} truncated its log from index {from}, removing entry {index} of \
                         term {term}, which n{reporter} reported committed (§5.4: a committed \
                         entry is never removed)"
                    ),
                )
            })
            .collect();
        view.truncate(from);
        findings
    }

    /// `node` reported its commit index `index`.
    pub fn committed(&mut self, node: NodeId, index: LogIndex) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self.commit_quorum(node, index).into_iter().collect();
        let view = self.views.entry(node).or_default();
        findings.extend(self.configurations.committed(node, view, index));
        let Some(term) = view.term_at(index) else {
            return findings;
        };
        findings.extend(self.commit_agreement(node, index, term));
        findings
    }

    /// A leader's new commit index is held by a quorum of a configuration in effect for it.
    fn commit_quorum(&mut self, node: NodeId, index: LogIndex) -> Option<Finding> {
        let led = *self.leading.get(&node)?;
        if index <= self.leader_committed {
            return None;
        }
        self.leader_committed = index;
        let view = self.views.get(&node)?;
        let mut holders: BTreeSet<NodeId> = self
            .acks
            .get(&(node, led))
            .into_iter()
            .flatten()
            .filter(|(_, acknowledged)| **acknowledged >= index)
            .map(|(follower, _)| *follower)
            .collect();
        if view.term_at(index).is_some() {
            holders.insert(node);
        }
        let (at, membership) = self.configurations.at(view, index);
        let mut configurations =
            std::iter::once(membership).chain(self.configurations.after(view, index));
        if configurations.any(|membership| is_quorum(membership, &holders)) {
            return None;
        }
        Some((
            "commit-quorum",
            format!(
                "n{node}, leader of term {led}, reported index {index} committed when only \
                 {holders:?} held it (acknowledged in its term, or its own log), not a quorum of \
                 {membership} (in effect at index {at}) nor of a later configuration in its log \
                 (§5.4.2 against the configuration; §4.3: a majority of each half; §4.2.1: \
                 learners never count)"
            ),
        ))
    }

    fn commit_agreement(&mut self, node: NodeId, index: LogIndex, term: Term) -> Vec<Finding> {
        match self.committed.get(&index) {
            Some(&(other, reporter)) if other != term => vec![(
                "commit-agreement",
                format!(
                    "n{node} committed index {index} holding an entry of term {term}, n{reporter} \
                     one of term {other} (§5.4.3, State Machine Safety)"
                ),
            )],
            Some(_) => Vec::new(),
            None => {
                self.committed.insert(index, (term, node));
                Vec::new()
            }
        }
    }

    /// A granted vote of `term` from `voter` reached `node`.
    pub fn vote_received(&mut self, node: NodeId, voter: NodeId, term: Term) {
        self.received.entry((node, term)).or_default().insert(voter);
    }

    /// A successful answer of `term` from `follower`, acknowledging `match_index`, reached
    /// `node`'s AppendEntries of that term.
    pub fn append_acknowledged(
        &mut self,
        node: NodeId,
        follower: NodeId,
        term: Term,
        match_index: LogIndex,
    ) {
        let acknowledged = self
            .acks
            .entry((node, term))
            .or_default()
            .entry(follower)
            .or_default();
        *acknowledged = (*acknowledged).max(match_index);
    }

    /// `node` (re)started: it remembers nothing of a deposition, leads nothing, and its
    /// commit index starts again.
    pub fn restarted(&mut self, node: NodeId) {
        self.deposed.remove(&node);
        self.leading.remove(&node);
        self.configurations.restarted(node);
    }

    /// `node` stopped leading (it stepped down, or stopped).
    pub fn lost_leadership(&mut self, node: NodeId) {
        self.leading.remove(&node);
    }

    /// An answer of `term` to `node`'s AppendEntries of `request_term` reached it.
    pub fn higher_term_heard(&mut self, node: NodeId, request_term: Term, term: Term) {
        let known = self.deposed.get(&node).map(|(deposed, _)| *deposed);
        if term > request_term && known != Some(request_term) {
            self.deposed.insert(node, (request_term, 0));
        }
    }

    /// `node` sent an AppendEntries of `term`.
    pub fn append_sent(&mut self, node: NodeId, term: Term) -> Vec<Finding> {
        let Some((deposed_term, sent)) = self.deposed.get_mut(&node) else {
            return Vec::new();
        };
        if term != *deposed_term {
            self.deposed.remove(&node);
            return Vec::new();
        }
        *sent += 1;
        if *sent != STALE_SENDS {
            return Vec::new();
        }
        vec![(
            "higher-term-deposes",
            format!(
                "n{node} sent {STALE_SENDS} AppendEntries of term {term} after an answer of a \
                 higher term reached it (Figure 2: a response with a higher term makes a \
                 leader a follower)"
            ),
        )]
    }

    /// `node` became leader of `term`.
    pub fn became_leader(&mut self, node: NodeId, term: Term) -> Vec<Finding> {
        let mut findings = Vec::new();
        let view = self.views.entry(node).or_default();
        if let Some((&index, &(committed_term, reporter))) = self.committed.last_key_value()
            && index > view.compacted_through()
            && view.term_at(index) != Some(committed_term)
        {
            let holds = view.term_at(index).map_or_else(
                || format!("its log ends at {}", view.last().1),
                |t| format!("its entry there has term {t}"),
            );
            findings.push((
                "leader-completeness",
                format!(
                    "n{node} became leader of term {term} without entry {index} of term \
                     {committed_term}, which n{reporter} reported committed; {holds} (§5.4, \
                     Leader Completeness)"
                ),
            ));
        }
        // The votes it could have counted: granted votes of its term that reached it.
        let reached = self
            .received
            .get(&(node, term))
            .cloned()
            .unwrap_or_default();
        self.received
            .retain(|(candidate, old), _| *candidate != node || *old >= term);
        self.acks
            .retain(|(leader, old), _| *leader != node || *old >= term);
        self.leading.insert(node, term);
        if self.cluster_size.is_some() {
            let granted: Vec<NodeId> = self
                .votes
                .iter()
                .filter(|((_, vote_term), candidate)| *vote_term == term && **candidate == node)
                .map(|((voter, _), _)| *voter)
                .collect();
            let view = self.views.entry(node).or_default();
            let (at, membership) = self.configurations.in_effect(view);
            let mut counted = reached.clone();
            counted.insert(node);
            if !is_quorum(membership, &counted) {
                findings.push((
                    "election-quorum",
                    format!(
                        "n{node} became leader of term {term} when granted votes of that term had \
                         reached it from only {reached:?} besides its own ({granted:?} granted \
                         it one), not a quorum of its configuration {membership} (at index \
                         {at}) (§5.2: votes of the candidate's own term from a majority; §4.3: \
                         of each half while joint; §4.2.1: learners never count)"
                    ),
                ));
            }
        }
        findings
    }

    /// `node` answered `request` with `response`; `mark` is where its log stood when the
    /// request arrived.
    pub fn vote_answered(
        &mut self,
        node: NodeId,
        request: &RequestVote,
        response: &RequestVoteResponse,
        mark: Mark,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        let view = self.views.entry(node).or_default();
        let durable = view.hard_state();
        let candidate = request.candidate_id;
        let granted_pre_vote = response.pre_vote && response.vote_granted;
        if !granted_pre_vote {
            findings.extend(term_is_durable(node, response.term, durable.current_term));
        }
        if response.vote_granted && !response.pre_vote {
            if durable.current_term == response.term && durable.voted_for != Some(candidate) {
                findings.push((
                    "durable-before-reply",
                    format!(
                        "n{node} granted its vote in term {} to n{candidate} while its durable \
                         vote was {:?} (§5.1, Figure 2: persistent state on stable storage \
                         before responding)",
                        response.term, durable.voted_for
                    ),
                ));
            }
            match self.votes.insert((node, response.term), candidate) {
                Some(other) if other != candidate => findings.push((
                    "one-vote-per-term",
                    format!(
                        "n{node} granted its vote in term {} to n{other} and then to n{candidate} \
                         (§5.2: at most one vote per term)",
                        response.term
                    ),
                )),
                _ => {}
            }
        }
        if response.vote_granted && view.unchanged_since(mark) {
            let (last_term, last_index) = view.last();
            let candidate_log = (request.last_log_term, request.last_log_index);
            if !log_is_up_to_date(candidate_log.0, candidate_log.1, last_term, last_index) {
                let kind = if response.pre_vote {
                    "pre-vote"
                } else {
                    "vote"
                };
                findings.push((
                    "vote-up-to-date",
                    format!(
                        "n{node} granted its {kind} for term {} to n{candidate}, whose log (last \
                         term {}, index {}) is behind its own (last term {last_term}, index \
                         {last_index}) (§5.4.1)",
                        request.term, candidate_log.0, candidate_log.1
                    ),
                ));
            }
        }
        findings
    }

    /// `node` answered an AppendEntries (`answer`); `mark` is where its log stood when the
    /// request arrived.
    pub fn append_answered(
        &mut self,
        node: NodeId,
        answer: &AppendAnswer,
        mark: Mark,
    ) -> Vec<Finding> {
        let view = self.views.entry(node).or_default();
        let response = &answer.response;
        let leader = answer.leader_id;
        let mut findings: Vec<Finding> =
            term_is_durable(node, response.term, view.hard_state().current_term)
                .into_iter()
                .collect();
        if !response.success {
            return findings;
        }
        if response.term != answer.term {
            findings.push((
                "stale-term-rejected",
                format!(
                    "n{node}, in term {}, accepted AppendEntries of term {} from n{leader} (§5.1: \
                     a request with a stale term is rejected)",
                    response.term, answer.term
                ),
            ));
        }
        let covered = answer.prev_log_index + answer.entries;
        if response.match_index > covered {
            findings.push((
                "acknowledge-covered",
                format!(
                    "n{node} acknowledged index {} to n{leader} for a request covering indices up \
                     to {covered} only (§5.3)",
                    response.match_index
                ),
            ));
        }
        let prev = answer.prev_log_index;
        // Below the compaction point the view forgot the terms: those entries are committed,
        // and the log's own `term` is all the node itself could have checked.
        if prev > 0 && prev >= view.compacted_through() && view.kept_through_since(prev, mark) {
            let held = view.term_at(prev);
            if held != Some(answer.prev_log_term) {
                let holds = held.map_or("no entry".to_owned(), |t| format!("an entry of term {t}"));
                findings.push((
                    "log-matching",
                    format!(
                        "n{node} accepted entries from n{leader} after index {prev} of term {} \
                         while its log holds {holds} there (§5.3: the AppendEntries consistency \
                         check)",
                        answer.prev_log_term
                    ),
                ));
            }
        }
        findings
    }
}

/// `configurations` (index, configuration) of entries `first..` of `terms`, with their terms.
fn with_terms(
    first: LogIndex,
    terms: &[Term],
    configurations: &[(LogIndex, Membership)],
) -> Vec<(LogIndex, Term, Membership)> {
    configurations
        .iter()
        .filter_map(|(index, membership)| {
            let term = terms.get(usize::try_from(index.checked_sub(first)?).ok()?)?;
            Some((*index, *term, membership.clone()))
        })
        .collect()
}

fn term_is_durable(node: NodeId, answered: Term, durable: Term) -> Option<Finding> {
    (answered > durable).then(|| {
        (
            "durable-before-reply",
            format!(
                "n{node} answered in term {answered} while its durable term was {durable} (§5.1, \
                 Figure 2: currentTerm on stable storage before responding)"
            ),
        )
    })
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "protocol_membership_tests.rs"]
mod membership_tests;
