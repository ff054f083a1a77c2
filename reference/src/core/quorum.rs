//! Majorities (§5.2, §5.4.2): how many nodes make a quorum, and which index a quorum holds;
//! [`joint`] applies them to a configuration (dissertation §4.3).

pub mod joint;

use crate::types::LogIndex;

/// The number of votes that makes a majority of `voters` nodes (the node itself included).
pub fn quorum_size(voters: usize) -> usize {
    voters / 2 + 1
}

/// The highest index that at least `count` of the nodes whose `match_indices` are given have
/// replicated (0 when `count` is 0 or more than there are nodes). With `count` the
/// [`quorum_size`] of the nodes (the leader's own match index included), the largest `N` such
/// that a quorum has a match index `>= N`: the index a leader may commit (§5.3, §5.4.2), as
/// [`joint::committed_index`] asks it of each half of a configuration.
pub fn index_held_by(match_indices: &[LogIndex], count: usize) -> LogIndex {
    if count == 0 || count > match_indices.len() {
        return 0;
    }
    let mut sorted = match_indices.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted[count - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// §5.2: a candidate wins with votes from a majority of the full cluster.
    #[test]
    fn quorum_size_is_a_strict_majority() {
        let table = [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)];
        for (voters, quorum) in table {
            assert_eq!(quorum_size(voters), quorum, "{voters} voters");
        }
    }

    /// The index a quorum of the nodes (`quorum_size` of them) holds.
    fn majority_index(match_indices: &[LogIndex]) -> LogIndex {
        index_held_by(match_indices, quorum_size(match_indices.len()))
    }

    /// §5.3/§5.4.2: the leader may commit up to the index a majority (itself included) holds.
    #[test]
    fn majority_index_is_held_by_a_quorum() {
        let table: [(&[LogIndex], LogIndex); 12] = [
            (&[5], 5),
            (&[5, 3], 3),
            (&[5, 3, 1], 3),
            (&[5, 0, 0], 0),
            (&[5, 5, 0], 5),
            (&[7, 6, 5, 4], 5),
            (&[9, 1, 2, 3, 4], 3),
            (&[9, 9, 9, 0, 0], 9),
            (&[6, 5, 4, 3, 2, 1], 3),
            (&[6, 6, 6, 6, 0, 0], 6),
            (&[7, 6, 5, 4, 3, 2, 1], 4),
            (&[1, 7, 2, 6, 3, 5, 4], 4),
        ];
        for (matches, expected) in table {
            assert_eq!(majority_index(matches), expected, "{matches:?}");
        }
    }

    #[test]
    fn majority_index_of_nobody_is_zero() {
        assert_eq!(majority_index(&[]), 0);
    }

    /// The guard of `index_held_by` (a count of nobody, or of more nodes than there are, holds
    /// nothing), which the core never reaches with a quorum of a non-empty configuration: a
    /// surviving mutant of the chaos oracle (CATALOGUE.md, "Mutation testing of the core").
    #[test]
    fn no_index_is_held_by_no_nodes_or_by_more_nodes_than_there_are() {
        assert_eq!(index_held_by(&[5, 5, 5], 0), 0);
        assert_eq!(index_held_by(&[5, 5, 5], 4), 0);
        assert_eq!(index_held_by(&[5, 5, 5], 3), 5);
        assert_eq!(index_held_by(&[], 1), 0);
    }
}
