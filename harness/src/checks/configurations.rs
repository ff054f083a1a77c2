//! The cluster's configurations as seen from outside (dissertation chapter 4): every
//! configuration entry some node's `Log` appended, which of them are known committed, and which
//! one is in effect at an index of a node's durable log. The protocol checks count quorums
//! against these (§4.3: a majority of each half while joint; learners never count).
//!
//! What it can see: the configuration entries the logs append and hold when they open (read
//! through the `Log` trait), and the commit indices the nodes report. An entry is named by its
//! index and term (one leader per term, Log Matching §5.3, so the pair names one entry). Behind
//! a node's compaction point only committed configurations are known (a snapshot holds
//! committed state); a configuration a node learned only from a snapshot's metadata, never
//! appended by any observed log, is invisible (rafty's own snapshots carry a configuration
//! every log of the cluster appended first).
//!
//! Memory: one entry per configuration change appended, however long the run.

use std::collections::{BTreeMap, BTreeSet};

use rafty::{LogIndex, Membership, NodeId, Term};

use super::durable_view::DurableView;
use super::protocol::Finding;

/// The configurations seen in the nodes' logs.
#[derive(Debug, Default)]
pub struct Configurations {
    /// The configuration every node starts from (the bootstrap voters).
    initial: Membership,
    /// (index, term) of a configuration entry some log appended -> its configuration.
    seen: BTreeMap<(LogIndex, Term), Membership>,
    /// Configuration entries known committed: index -> term.
    committed: BTreeMap<LogIndex, Term>,
    /// Per node: the commit index its current incarnation reported last.
    commit: BTreeMap<NodeId, LogIndex>,
}

impl Configurations {
    /// Every node starts from `initial`.
    pub fn set_initial(&mut self, initial: Membership) {
        self.initial = initial;
    }

    /// A log appended (or opened holding) these configuration entries: (index, term, config).
    pub fn appended(&mut self, entries: &[(LogIndex, Term, Membership)]) {
        for (index, term, membership) in entries {
            self.seen
                .entry((*index, *term))
                .or_insert_with(|| membership.clone());
        }
    }

    /// Whether `view`'s log holds the configuration entry (`index`, `term`): behind its
    /// compaction point, whether that entry is known committed.
    fn held(&self, view: &DurableView, index: LogIndex, term: Term) -> bool {
        if index >= view.compacted_through() {
            view.term_at(index) == Some(term)
        } else {
            self.committed.get(&index) == Some(&term)
        }
    }

    /// The configuration in effect at `index` of `view`'s log (§4.1: the latest at or before
    /// it), with the index of its entry (0 for the initial configuration).
    pub fn at(&self, view: &DurableView, index: LogIndex) -> (LogIndex, &Membership) {
        self.seen
            .range(..=(index, Term::MAX))
            .rev()
            .find(|((at, term), _)| self.held(view, *at, *term))
            .map_or((0, &self.initial), |((at, _), membership)| {
                (*at, membership)
            })
    }

    /// The configuration in effect in `view`'s log: the latest it holds (§4.1).
    pub fn in_effect(&self, view: &DurableView) -> (LogIndex, &Membership) {
        self.at(view, view.last().1)
    }

    /// The configurations `view`'s log holds after `index`, in index order.
    pub fn after<'a>(
        &'a self,
        view: &'a DurableView,
        index: LogIndex,
    ) -> impl Iterator<Item = &'a Membership> + 'a {
        self.seen
            .range((index + 1, 0)..)
            .filter(move |((at, term), _)| self.held(view, *at, *term))
            .map(|(_, membership)| membership)
    }

    /// The latest configuration known committed.
    pub fn latest_committed(&self) -> (LogIndex, &Membership) {
        self.committed
            .last_key_value()
            .and_then(|(index, term)| Some((*index, self.seen.get(&(*index, *term))?)))
            .unwrap_or((0, &self.initial))
    }

    /// The configurations appended after the latest committed one, in any log.
    pub fn uncommitted(&self) -> impl Iterator<Item = &Membership> {
        let (latest, _) = self.latest_committed();
        self.seen
            .range((latest + 1, 0)..)
            .map(|(_, membership)| membership)
    }

    /// The commit index `node`'s current incarnation reported last (0 before any).
    pub fn commit_of(&self, node: NodeId) -> LogIndex {
        self.commit.get(&node).copied().unwrap_or(0)
    }

    /// `node` restarted: its commit index is volatile.
    pub fn restarted(&mut self, node: NodeId) {
        self.commit.remove(&node);
    }

    /// `node`, whose log is `view`, reported its commit index `index`: the configuration
    /// entries its log holds up to there are committed. Each newly committed one must be one
    /// step from the committed configuration before it (a single chain, §4.1-§4.3).
    pub fn committed(&mut self, node: NodeId, view: &DurableView, index: LogIndex) -> Vec<Finding> {
        let previous = self.commit.insert(node, index).unwrap_or(0).min(index);
        let newly: Vec<(LogIndex, Term)> = self
            .seen
            .range((previous + 1, 0)..=(index, Term::MAX))
            .map(|(key, _)| *key)
            .filter(|(at, term)| self.held(view, *at, *term))
            .collect();
        let mut findings = Vec::new();
        for (at, term) in newly {
            if self.committed.insert(at, term).is_none() {
                findings.extend(self.check_link(node, at));
            }
        }
        findings
    }

    /// The committed configuration at `index` and its committed neighbours form one chain.
    fn check_link(&self, node: NodeId, index: LogIndex) -> Option<Finding> {
        let membership = |at: LogIndex| -> &Membership {
            self.committed
                .get(&at)
                .and_then(|term| self.seen.get(&(at, *term)))
                .unwrap_or(&self.initial)
        };
        let before = self
            .committed
            .range(..index)
            .next_back()
            .map_or(0, |(at, _)| *at);
        let after = self.committed.range(index + 1..).next().map(|(at, _)| *at);
        let links = std::iter::once((before, index)).chain(after.map(|after| (index, after)));
        for (from, to) in links {
            if let Err(why) = one_step(membership(from), membership(to)) {
                return Some((
                    "configuration-chain",
                    format!(
                        "committed configurations at index {from} ({}) and {to} ({}) are not one \
                         change apart: {why} (n{node} reported the commit; dissertation §4.2, \
                         §4.3: each configuration follows from the one before by one \
                         single-server change or through C_old,new)",
                        membership(from),
                        membership(to)
                    ),
                ));
            }
        }
        None
    }
}

/// Whether `to` follows `from` by one change: at most one voter added or removed (§4.2;
/// learners may change freely, §4.2.1), entering C_old,new from C_old, or leaving it for
/// C_new (§4.3). Otherwise why not.
pub fn one_step(from: &Membership, to: &Membership) -> Result<(), String> {
    match (&from.old_voters, &to.old_voters) {
        (None, None) => {
            let changed = from.voters.symmetric_difference(&to.voters).count();
            if changed <= 1 {
                Ok(())
            } else {
                Err(format!(
                    "{changed} voters changed without a joint configuration"
                ))
            }
        }
        (None, Some(old)) if *old == from.voters => Ok(()),
        (None, Some(old)) => Err(format!(
            "the joint configuration's C_old {old:?} is not the voters before it"
        )),
        (Some(_), None) if to.voters == from.voters => Ok(()),
        (Some(_), None) => Err("leaving a joint configuration for another C_new".to_owned()),
        (Some(_), Some(_)) => Err("a joint configuration follows a joint one".to_owned()),
    }
}

/// Whether `granted` makes a quorum of `membership`: a majority of its voters and, while it
/// is joint, a majority of C_old's as well (§4.3). Learners never count (§4.2.1). The
/// harness counts on its own, not with the library's code under test.
pub fn is_quorum(membership: &Membership, granted: &BTreeSet<NodeId>) -> bool {
    let majority_of = |voters: &BTreeSet<NodeId>| {
        !voters.is_empty() && voters.intersection(granted).count() > voters.len() / 2
    };
    majority_of(&membership.voters) && membership.old_voters.as_ref().is_none_or(majority_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[NodeId]) -> BTreeSet<NodeId> {
        ids.iter().copied().collect()
    }

    /// §4.3: C_old,new needs a majority of each half; learners never count (§4.2.1).
    #[test]
    fn quorum_of_a_joint_configuration_needs_both_halves_and_no_learner_counts() {
        let joint = Membership::new([1, 2, 3]).joint_to(&Membership::new([3, 4, 5]));
        assert!(!is_quorum(&joint, &set(&[4, 5])));
        assert!(!is_quorum(&joint, &set(&[1, 2])));
        assert!(is_quorum(&joint, &set(&[1, 3, 4])));
        let simple = Membership::new([1, 2, 3, 4, 5]).with_learners([6, 7]);
        assert!(!is_quorum(&simple, &set(&[1, 2, 6, 7])));
        assert!(is_quorum(&simple, &set(&[1, 2, 3])));
    }

    /// §4.2, §4.3: one voter at a time, or through the joint configuration.
    #[test]
    fn one_step_allows_single_server_and_joint_changes_only() {
        let old = Membership::new([1, 2, 3]);
        let new = Membership::new([1, 4, 5]);
        let joint = old.joint_to(&new);
        assert_eq!(one_step(&old, &Membership::new([1, 2, 3, 4])), Ok(()));
        assert_eq!(one_step(&old, &old.clone().with_learners([6])), Ok(()));
        assert_eq!(one_step(&old, &joint), Ok(()));
        assert_eq!(one_step(&joint, &new), Ok(()));
        assert!(one_step(&old, &new).is_err());
        assert!(one_step(&Membership::new([1, 2]), &joint).is_err());
        assert!(one_step(&joint, &old).is_err());
        assert!(one_step(&joint, &joint).is_err());
    }

    /// §4.1: the latest configuration a log holds at or before an index is in effect there.
    #[test]
    fn the_configuration_at_an_index_is_the_latest_the_log_holds() {
        let mut configurations = Configurations::default();
        configurations.set_initial(Membership::new([1, 2, 3]));
        let four = Membership::new([1, 2, 3, 4]);
        configurations.appended(&[(3, 1, four.clone())]);
        configurations.appended(&[(3, 2, Membership::new([1, 2]))]);
        let mut view = DurableView::default();
        view.open(rafty::HardState::default(), (0, 0), 1, vec![1, 1, 1, 1]);
        assert_eq!(
            configurations.at(&view, 2),
            (0, &Membership::new([1, 2, 3]))
        );
        assert_eq!(configurations.at(&view, 4), (3, &four));
        assert_eq!(configurations.after(&view, 2).count(), 1);
        view.truncate(3);
        view.append(3, &[2]);
        assert_eq!(configurations.in_effect(&view).1, &Membership::new([1, 2]));
    }
}
