//! The dependency graph: one vertex per transaction, edges labelled with why one transaction
//! must come before another (Adya's ww, wr and rw dependencies, and process and real-time
//! order).

use std::fmt;

use serde::{Serialize, Serializer};

use crate::elle::txn::TxnId;

/// One reason for an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EdgeKind {
    /// Write-write: the source installed a version the target's write overwrote.
    Ww,
    /// Write-read: the target read a version the source installed.
    Wr,
    /// Read-write (anti-dependency): the source read a version the target overwrote.
    Rw,
    /// The same process ran the source, then the target.
    Process,
    /// The source completed before the target was invoked.
    Realtime,
}

impl EdgeKind {
    /// Every kind, in the order a cycle's edge is named by (data first).
    pub const ALL: [EdgeKind; 5] = [
        EdgeKind::Ww,
        EdgeKind::Wr,
        EdgeKind::Rw,
        EdgeKind::Process,
        EdgeKind::Realtime,
    ];

    /// Its name: `ww`, `wr`, `rw`, `process` or `realtime`.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Ww => "ww",
            EdgeKind::Wr => "wr",
            EdgeKind::Rw => "rw",
            EdgeKind::Process => "process",
            EdgeKind::Realtime => "realtime",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for EdgeKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// A set of [`EdgeKind`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct EdgeKinds(u8);

impl EdgeKinds {
    /// No kinds.
    pub const NONE: EdgeKinds = EdgeKinds(0);

    /// These kinds.
    pub fn of(kinds: &[EdgeKind]) -> EdgeKinds {
        EdgeKinds(kinds.iter().fold(0, |bits, kind| bits | kind.bit()))
    }

    /// Whether `kind` is in the set.
    pub fn contains(self, kind: EdgeKind) -> bool {
        self.0 & kind.bit() != 0
    }

    /// The kinds in both sets.
    pub fn and(self, other: EdgeKinds) -> EdgeKinds {
        EdgeKinds(self.0 & other.0)
    }

    /// The kinds in either set.
    pub fn or(self, other: EdgeKinds) -> EdgeKinds {
        EdgeKinds(self.0 | other.0)
    }

    /// The set without `kind`.
    pub fn without(self, kind: EdgeKind) -> EdgeKinds {
        EdgeKinds(self.0 & !kind.bit())
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The first kind of the set in [`EdgeKind::ALL`]'s order (data before order).
    pub fn first(self) -> Option<EdgeKind> {
        EdgeKind::ALL.into_iter().find(|kind| self.contains(*kind))
    }
}

/// A directed graph over transactions; parallel edges are merged into one with every kind.
#[derive(Debug, Default)]
pub struct Graph {
    /// `out[t]`: the edges out of `t`, as (target, kinds), sorted by target once
    /// [`Graph::seal`]ed.
    out: Vec<Vec<(TxnId, EdgeKinds)>>,
    sealed: bool,
}

impl Graph {
    /// A graph of `vertices` transactions and no edges.
    pub fn new(vertices: usize) -> Graph {
        Graph {
            out: vec![Vec::new(); vertices],
            sealed: false,
        }
    }

    /// Number of vertices.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// Whether there are no vertices.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Adds the edge `from -> to` for `kind`. A transaction never depends on itself: an edge
    /// from a vertex to itself is not added.
    pub fn add(&mut self, from: TxnId, to: TxnId, kind: EdgeKind) {
        assert!(!self.sealed, "an edge added to a sealed graph");
        if from != to {
            self.out[from as usize].push((to, EdgeKinds::of(&[kind])));
        }
    }

    /// Sorts every vertex's edges and merges parallel ones; edges may not be added after.
    pub fn seal(&mut self) {
        for edges in &mut self.out {
            edges.sort_unstable_by_key(|(to, _)| *to);
            edges.dedup_by(|later, kept| {
                if later.0 == kept.0 {
                    kept.1 = kept.1.or(later.1);
                    true
                } else {
                    false
                }
            });
            edges.shrink_to_fit();
        }
        self.sealed = true;
    }

    /// The edges out of `from`.
    pub fn out(&self, from: TxnId) -> &[(TxnId, EdgeKinds)] {
        &self.out[from as usize]
    }

    /// The kinds of the edge `from -> to` (empty when there is none). Needs a sealed graph.
    pub fn kinds(&self, from: TxnId, to: TxnId) -> EdgeKinds {
        assert!(self.sealed, "an edge looked up in an unsealed graph");
        let edges = self.out(from);
        edges
            .binary_search_by_key(&to, |(target, _)| *target)
            .map_or(EdgeKinds::NONE, |at| edges[at].1)
    }

    /// How many edges have each kind, in [`EdgeKind::ALL`]'s order.
    pub fn counts(&self) -> [usize; 5] {
        let mut counts = [0; 5];
        for (_, kinds) in self.out.iter().flatten() {
            for (count, kind) in counts.iter_mut().zip(EdgeKind::ALL) {
                *count += usize::from(kinds.contains(kind));
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallel_edges_merge_and_self_edges_are_dropped() {
        let mut graph = Graph::new(3);
        graph.add(0, 1, EdgeKind::Ww);
        graph.add(0, 1, EdgeKind::Realtime);
        graph.add(2, 2, EdgeKind::Wr);
        graph.seal();
        assert_eq!(
            graph.kinds(0, 1),
            EdgeKinds::of(&[EdgeKind::Ww, EdgeKind::Realtime])
        );
        assert!(graph.kinds(2, 2).is_empty());
        assert_eq!(graph.counts(), [1, 0, 0, 0, 1]);
    }
}
