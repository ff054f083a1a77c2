//! The cycle search inside one strongly connected component: the most severe cycle class
//! first (G0, then G1c, G-single, G2-item; then the same with process edges, then with
//! real-time edges), each by breadth-first search, so each cycle found is a shortest one
//! through its start.

use std::collections::VecDeque;

use crate::elle::graph::{EdgeKind, EdgeKinds, Graph};
use crate::elle::scc::Tarjan;
use crate::elle::txn::TxnId;

/// One edge of a cycle, with the kind it is named by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The transaction that must come first.
    pub from: TxnId,
    /// The transaction that must come after.
    pub to: TxnId,
    /// Why.
    pub kind: EdgeKind,
}

/// A cycle: each step's `to` is the next step's `from`, and the last step returns to the
/// first's `from`.
pub type Cycle = Vec<Step>;

/// Scratch space for the search, sized to the graph and reused across components.
#[derive(Debug)]
pub struct CycleSearch {
    tarjan: Tarjan,
    /// `member[v] == stamp` when `v` is in the set being searched.
    member: Vec<u32>,
    /// `seen[v] == stamp` when the current breadth-first search reached `v`.
    seen: Vec<u32>,
    parent: Vec<TxnId>,
    stamp: u32,
    /// Vertices the breadth-first searches may still visit before the search gives up.
    pub budget: usize,
}

const WW: &[EdgeKind] = &[EdgeKind::Ww];
const WW_WR: &[EdgeKind] = &[EdgeKind::Ww, EdgeKind::Wr];
const DATA: &[EdgeKind] = &[EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rw];

impl CycleSearch {
    /// Scratch space for `graph`, giving up after `budget` vertex visits in all.
    pub fn new(graph: &Graph, budget: usize) -> CycleSearch {
        CycleSearch {
            tarjan: Tarjan::new(graph.len()),
            member: vec![0; graph.len()],
            seen: vec![0; graph.len()],
            parent: vec![0; graph.len()],
            stamp: 0,
            budget,
        }
    }

    /// The most severe cycle found in `component` (a strongly connected component of two or
    /// more transactions under every edge kind), or `None` when the budget ran out first.
    pub fn most_severe(&mut self, graph: &Graph, component: &[TxnId]) -> Option<Cycle> {
        let orders: [&[EdgeKind]; 3] = [
            &[],
            &[EdgeKind::Process],
            &[EdgeKind::Process, EdgeKind::Realtime],
        ];
        for order in orders {
            let extra = EdgeKinds::of(order);
            let with = |kinds: &[EdgeKind]| EdgeKinds::of(kinds).or(extra);
            if let Some(cycle) = self.any_cycle(graph, component, with(WW)) {
                return Some(cycle);
            }
            if let Some(cycle) = self.any_cycle(graph, component, with(WW_WR)) {
                return Some(cycle);
            }
            if let Some(cycle) = self.one_rw_cycle(graph, component, with(WW_WR)) {
                return Some(cycle);
            }
            if let Some(cycle) = self.any_cycle(graph, component, with(DATA)) {
                return Some(cycle);
            }
        }
        None
    }

    /// A cycle of edges in `mask` inside `set`: the shortest through a few start vertices
    /// of the first sub-component that has one.
    fn any_cycle(&mut self, graph: &Graph, set: &[TxnId], mask: EdgeKinds) -> Option<Cycle> {
        let stamp = self.mark(set);
        let member = &self.member;
        let components = self.tarjan.components(
            graph,
            set.iter().copied(),
            |v| member[v as usize] == stamp,
            mask,
        );
        let component = components.into_iter().min_by_key(Vec::len)?;
        let mut best: Option<Cycle> = None;
        for &start in component.iter().take(4) {
            let inner = self.mark(&component);
            let Some(path) = self.path(graph, start, start, mask, inner) else {
                continue;
            };
            let cycle = label(graph, &path, mask, None);
            if best.as_ref().is_none_or(|best| cycle.len() < best.len()) {
                best = Some(cycle);
            }
        }
        best
    }

    /// A cycle of exactly one rw edge and otherwise edges in `mask` (which has no rw) inside
    /// `set`: for each rw edge `a -> b`, the shortest path back from `b` to `a`.
    fn one_rw_cycle(&mut self, graph: &Graph, set: &[TxnId], mask: EdgeKinds) -> Option<Cycle> {
        let stamp = self.mark(set);
        for &from in set {
            for &(to, kinds) in graph.out(from) {
                if !kinds.contains(EdgeKind::Rw) || self.member[to as usize] != stamp {
                    continue;
                }
                if self.budget == 0 {
                    return None;
                }
                if let Some(mut path) = self.path(graph, to, from, mask, stamp) {
                    // path runs to .. from; the rw edge closes it.
                    path.rotate_right(1);
                    return Some(label(graph, &path, mask, Some(0)));
                }
            }
        }
        None
    }

    /// Marks `set` with a fresh stamp and returns it.
    fn mark(&mut self, set: &[TxnId]) -> u32 {
        self.stamp += 1;
        for &v in set {
            self.member[v as usize] = self.stamp;
        }
        self.stamp
    }

    /// A shortest path of at least one edge from `from` to `to` over edges in `mask` through
    /// vertices marked `stamp`, as its vertices (`from` first, `to` not repeated when it is
    /// `from`); `None` if there is none or the budget runs out.
    fn path(
        &mut self,
        graph: &Graph,
        from: TxnId,
        to: TxnId,
        mask: EdgeKinds,
        stamp: u32,
    ) -> Option<Vec<TxnId>> {
        self.stamp += 1;
        let seen_stamp = self.stamp;
        let mut queue = VecDeque::from([from]);
        self.seen[from as usize] = seen_stamp;
        while let Some(vertex) = queue.pop_front() {
            if self.budget == 0 {
                return None;
            }
            self.budget -= 1;
            for &(next, kinds) in graph.out(vertex) {
                if kinds.and(mask).is_empty() || self.member[next as usize] != stamp {
                    continue;
                }
                if next == to {
                    let mut path = vec![vertex];
                    let mut at = vertex;
                    while at != from {
                        at = self.parent[at as usize];
                        path.push(at);
                    }
                    path.reverse();
                    if to != from {
                        path.push(to);
                    }
                    return Some(path);
                }
                if self.seen[next as usize] != seen_stamp {
                    self.seen[next as usize] = seen_stamp;
                    self.parent[next as usize] = vertex;
                    queue.push_back(next);
                }
            }
        }
        None
    }
}

/// The cycle through `vertices` (closing back to the first), each edge named by its first
/// kind in `mask`, except edge `rw_at`, named rw.
fn label(graph: &Graph, vertices: &[TxnId], mask: EdgeKinds, rw_at: Option<usize>) -> Cycle {
    (0..vertices.len())
        .map(|i| {
            let from = vertices[i];
            let to = vertices[(i + 1) % vertices.len()];
            let kind = if rw_at == Some(i) {
                EdgeKind::Rw
            } else {
                graph
                    .kinds(from, to)
                    .and(mask)
                    .first()
                    .expect("a cycle's edge has a kind of the search's mask")
            };
            Step { from, to, kind }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(TxnId, TxnId, EdgeKind)], vertices: usize) -> Graph {
        let mut graph = Graph::new(vertices);
        for &(from, to, kind) in edges {
            graph.add(from, to, kind);
        }
        graph.seal();
        graph
    }

    fn kinds(cycle: &Cycle) -> Vec<EdgeKind> {
        cycle.iter().map(|step| step.kind).collect()
    }

    #[test]
    fn a_ww_cycle_is_found_before_a_longer_rw_one() {
        use EdgeKind::*;
        let g = graph(&[(0, 1, Rw), (1, 0, Wr), (1, 2, Ww), (2, 1, Ww)], 3);
        let cycle = CycleSearch::new(&g, 1000)
            .most_severe(&g, &[0, 1, 2])
            .unwrap();
        assert_eq!(kinds(&cycle), vec![Ww, Ww]);
    }

    #[test]
    fn one_rw_edge_closes_a_single_anti_dependency_cycle() {
        use EdgeKind::*;
        let g = graph(&[(0, 1, Rw), (1, 2, Wr), (2, 0, Ww), (2, 1, Rw)], 3);
        let cycle = CycleSearch::new(&g, 1000)
            .most_severe(&g, &[0, 1, 2])
            .unwrap();
        assert_eq!(cycle.iter().filter(|s| s.kind == Rw).count(), 1);
        for (i, step) in cycle.iter().enumerate() {
            assert_eq!(step.to, cycle[(i + 1) % cycle.len()].from);
        }
    }

    #[test]
    fn realtime_edges_are_used_only_when_data_edges_have_no_cycle() {
        use EdgeKind::*;
        let g = graph(&[(0, 1, Wr), (1, 0, Realtime)], 2);
        let cycle = CycleSearch::new(&g, 1000).most_severe(&g, &[0, 1]).unwrap();
        assert_eq!(kinds(&cycle), vec![Wr, Realtime]);
    }

    #[test]
    fn an_exhausted_budget_finds_nothing() {
        use EdgeKind::*;
        let g = graph(&[(0, 1, Ww), (1, 0, Ww)], 2);
        assert!(CycleSearch::new(&g, 0).most_severe(&g, &[0, 1]).is_none());
    }
}
