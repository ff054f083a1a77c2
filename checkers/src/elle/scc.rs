//! Strongly connected components (Tarjan's algorithm, iterative so that a long chain of
//! transactions cannot overflow the stack). A dependency cycle lies inside one component,
//! so the cycle search looks only inside the components of two or more transactions.

use crate::elle::graph::{EdgeKinds, Graph};
use crate::elle::txn::TxnId;

const UNVISITED: u32 = u32::MAX;

/// Tarjan's algorithm with scratch space kept between runs, so that searching many small
/// components of a big graph costs only their own size.
#[derive(Debug)]
pub struct Tarjan {
    index: Vec<u32>,
    low: Vec<u32>,
    on_stack: Vec<bool>,
    touched: Vec<TxnId>,
}

impl Tarjan {
    /// Scratch space for a graph of `vertices` vertices.
    pub fn new(vertices: usize) -> Tarjan {
        Tarjan {
            index: vec![UNVISITED; vertices],
            low: vec![0; vertices],
            on_stack: vec![false; vertices],
            touched: Vec::new(),
        }
    }

    /// The components of two or more vertices of the subgraph of `graph` on `roots` and the
    /// vertices reachable from them through edges with a kind in `mask` whose target
    /// `allowed` accepts.
    pub fn components(
        &mut self,
        graph: &Graph,
        roots: impl IntoIterator<Item = TxnId>,
        allowed: impl Fn(TxnId) -> bool,
        mask: EdgeKinds,
    ) -> Vec<Vec<TxnId>> {
        let mut found = Vec::new();
        let mut next_index = 0u32;
        let mut stack: Vec<TxnId> = Vec::new();
        // The depth-first search's own stack: a vertex and the position of its next edge.
        let mut calls: Vec<(TxnId, usize)> = Vec::new();
        for root in roots {
            if self.index[root as usize] != UNVISITED {
                continue;
            }
            self.visit(root, &mut next_index, &mut stack);
            calls.push((root, 0));
            while let Some(&mut (vertex, ref mut position)) = calls.last_mut() {
                let edges = graph.out(vertex);
                let mut descended = false;
                while *position < edges.len() {
                    let (target, kinds) = edges[*position];
                    *position += 1;
                    if kinds.and(mask).is_empty() || !allowed(target) {
                        continue;
                    }
                    let t = target as usize;
                    if self.index[t] == UNVISITED {
                        self.visit(target, &mut next_index, &mut stack);
                        calls.push((target, 0));
                        descended = true;
                        break;
                    } else if self.on_stack[t] {
                        let v = vertex as usize;
                        self.low[v] = self.low[v].min(self.index[t]);
                    }
                }
                if descended {
                    continue;
                }
                calls.pop();
                let v = vertex as usize;
                if let Some(&(parent, _)) = calls.last() {
                    let p = parent as usize;
                    self.low[p] = self.low[p].min(self.low[v]);
                }
                if self.low[v] == self.index[v] {
                    let mut component = Vec::new();
                    loop {
                        let member = stack.pop().expect("Tarjan's stack holds the root");
                        self.on_stack[member as usize] = false;
                        component.push(member);
                        if member == vertex {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort_unstable();
                        found.push(component);
                    }
                }
            }
        }
        for vertex in self.touched.drain(..) {
            self.index[vertex as usize] = UNVISITED;
        }
        found
    }

    fn visit(&mut self, vertex: TxnId, next_index: &mut u32, stack: &mut Vec<TxnId>) {
        let v = vertex as usize;
        self.index[v] = *next_index;
        self.low[v] = *next_index;
        *next_index += 1;
        self.on_stack[v] = true;
        stack.push(vertex);
        self.touched.push(vertex);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elle::graph::EdgeKind;

    fn all() -> EdgeKinds {
        EdgeKinds::of(&EdgeKind::ALL)
    }

    #[test]
    fn finds_each_cycle_and_ignores_acyclic_parts() {
        let mut graph = Graph::new(6);
        for (from, to) in [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 3), (4, 5)] {
            graph.add(from, to, EdgeKind::Ww);
        }
        graph.seal();
        let mut tarjan = Tarjan::new(6);
        let mut components = tarjan.components(&graph, 0..6, |_| true, all());
        components.sort();
        assert_eq!(components, vec![vec![0, 1, 2], vec![3, 4]]);
        // Scratch space is reset: a second run finds the same.
        assert_eq!(tarjan.components(&graph, 0..6, |_| true, all()).len(), 2);
    }

    #[test]
    fn the_mask_and_filter_restrict_the_subgraph() {
        let mut graph = Graph::new(3);
        graph.add(0, 1, EdgeKind::Ww);
        graph.add(1, 0, EdgeKind::Rw);
        graph.add(1, 2, EdgeKind::Ww);
        graph.add(2, 1, EdgeKind::Ww);
        graph.seal();
        let mut tarjan = Tarjan::new(3);
        let ww = EdgeKinds::of(&[EdgeKind::Ww]);
        assert_eq!(
            tarjan.components(&graph, 0..3, |_| true, ww),
            vec![vec![1, 2]]
        );
        assert!(tarjan.components(&graph, 0..3, |v| v != 2, ww).is_empty());
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 1_000_000;
        let mut graph = Graph::new(n);
        for v in 0..n as u32 - 1 {
            graph.add(v, v + 1, EdgeKind::Ww);
        }
        graph.add(n as u32 - 1, 0, EdgeKind::Ww);
        graph.seal();
        let components = Tarjan::new(n).components(&graph, 0..n as u32, |_| true, all());
        assert_eq!(components.len(), 1);
        assert_eq!(components[0].len(), n);
    }
}
