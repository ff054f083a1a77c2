//! Raft's safety properties (Figure 3), checked after every simulated event.

use std::collections::BTreeMap;

use rafty::{Entry, NodeId, Term};

/// What the checks see of one node: its persisted log, and its term if it leads.
pub struct NodeView<'a> {
    pub log: &'a [Entry],
    pub leader_term: Option<Term>,
}

#[derive(Default)]
pub struct Checks {
    /// The leader of each term (Election Safety).
    leaders: BTreeMap<Term, NodeId>,
    /// Every committed entry, in index order, with the term of the node that first applied
    /// it: every leader of a later term must hold it (Leader Completeness).
    committed: Vec<(Entry, Term)>,
}

impl Checks {
    pub fn committed_len(&self) -> usize {
        self.committed.len()
    }

    pub fn leaders_elected(&self) -> usize {
        self.leaders.len()
    }

    /// §5.2 Election Safety: at most one leader per term.
    pub fn became_leader(&mut self, id: NodeId, term: Term) -> Result<(), String> {
        match self.leaders.insert(term, id) {
            Some(other) if other != id => Err(format!(
                "Election Safety: nodes {other} and {id} both led term {term}"
            )),
            _ => Ok(()),
        }
    }

    /// §5.4.3 State Machine Safety: no two nodes apply different entries at one index.
    pub fn applied(&mut self, id: NodeId, term: Term, entry: &Entry) -> Result<(), String> {
        let position = entry.index as usize - 1;
        match self.committed.get(position) {
            Some((committed, _)) if committed != entry => Err(format!(
                "State Machine Safety: node {id} applied {entry:?} where {committed:?} was applied"
            )),
            Some(_) => Ok(()),
            None if position == self.committed.len() => {
                self.committed.push((entry.clone(), term));
                Ok(())
            }
            None => Err(format!(
                "node {id} applied index {} before index {}",
                entry.index,
                self.committed.len() + 1
            )),
        }
    }

    /// After node `id` handled an event: Log Matching between it and every other node, and
    /// Leader Completeness for every leader.
    pub fn after_event(
        &self,
        id: NodeId,
        nodes: &BTreeMap<NodeId, NodeView<'_>>,
    ) -> Result<(), String> {
        let log = nodes[&id].log;
        for (other, view) in nodes {
            if *other != id {
                logs_match(log, view.log)
                    .map_err(|index| format!("Log Matching: nodes {id} and {other} at {index}"))?;
            }
        }
        for (leader, view) in nodes {
            if let Some(term) = view.leader_term {
                self.leader_holds_committed(*leader, term, view.log)?;
            }
        }
        Ok(())
    }

    /// §5.4 Leader Completeness: a leader of term T holds every entry committed before T.
    fn leader_holds_committed(&self, id: NodeId, term: Term, log: &[Entry]) -> Result<(), String> {
        for (position, (entry, committed_by_term)) in self.committed.iter().enumerate() {
            if *committed_by_term < term && log.get(position) != Some(entry) {
                return Err(format!(
                    "Leader Completeness: leader {id} of term {term} lacks committed {entry:?}"
                ));
            }
        }
        Ok(())
    }
}

/// §5.3 Log Matching: if two logs hold an entry with the same index and term, they are
/// identical up to it. Returns the offending index.
fn logs_match(a: &[Entry], b: &[Entry]) -> Result<(), u64> {
    let common = a.len().min(b.len());
    let last_same_term = (0..common).rev().find(|&i| a[i].term == b[i].term);
    if let Some(last) = last_same_term
        && a[..=last] != b[..=last]
    {
        let first_difference = (0..=last).find(|&i| a[i] != b[i]).unwrap_or(last);
        return Err(first_difference as u64 + 1);
    }
    Ok(())
}
