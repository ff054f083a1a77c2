//! What every node's shadow of a user's state machine ([`super::shadow_machine`]) did, in one
//! ledger for the run, and the contract of a `StateMachine` judged from it, from outside:
//!
//! * **the same answer to the same entry**: every machine that applies the entry at an index,
//!   on any node and in any incarnation (from an empty state, after re-applying the log, after
//!   restoring a snapshot), answers with the same bytes (`state-machine-answers`);
//! * **the same state at the same index**: the bytes of its snapshot right after it reached
//!   an index, by applying or by restoring, are the same everywhere (`state-machine-state`);
//! * **each entry applied once, none skipped**: within an incarnation indices only go up, and
//!   no incarnation jumps over an index some machine applied a command at
//!   (`state-machine-order`).
//!
//! A broken rule is found once per index and check, with who disagreed with whom and the likely
//! cause in plain words.

use std::collections::BTreeMap;
use std::fmt;

use rafty::{LogIndex, NodeId};

/// One incarnation of a node's machine, and how it got its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Who {
    /// The node.
    pub node: NodeId,
    /// How many times the node had started before.
    pub incarnation: u64,
    /// The last snapshot this incarnation restored, through that index (None: every entry
    /// it holds it applied itself, from index 1).
    pub restored_from: Option<LogIndex>,
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{} (incarnation {}, ", self.node, self.incarnation)?;
        match self.restored_from {
            Some(index) => write!(f, "restored from a snapshot through index {index})"),
            None => write!(f, "every entry applied from an empty state)"),
        }
    }
}

/// The first answer or state seen at an index.
#[derive(Clone, Debug)]
struct Seen {
    who: Who,
    hash: u64,
    preview: String,
}

/// A broken rule: the check's name and what was wrong.
pub type Finding = (&'static str, String);

/// Every answer and state seen at each index in one run, and the index ranges each
/// incarnation jumped over.
#[derive(Debug, Default)]
pub struct Ledger {
    answers: BTreeMap<LogIndex, Seen>,
    states: BTreeMap<LogIndex, Seen>,
    gaps: Vec<(Who, LogIndex, LogIndex)>,
}

impl Ledger {
    /// `who`, whose last applied or restored index was `last`, applied the entry at `index`,
    /// answered `answer`, and then wrote a snapshot hashing to `state` (None: no snapshot).
    pub fn applied(
        &mut self,
        who: Who,
        last: LogIndex,
        index: LogIndex,
        answer: &[u8],
        state: Option<u64>,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        if index <= last {
            findings.push((
                "state-machine-order",
                format!(
                    "{who} was given the entry at index {index} after it had reached index \
                     {last}: an entry applied twice, or out of order (the node's apply loop, \
                     not the machine, is at fault)"
                ),
            ));
        } else if index > last + 1 {
            findings.extend(self.jumped(who, last, index));
        }
        let answer_hash = fnv(answer);
        match self.answers.get(&index) {
            None => {
                findings.extend(self.skipped_by_others(index));
                let seen = Seen {
                    who,
                    hash: answer_hash,
                    preview: preview(answer),
                };
                self.answers.insert(index, seen);
            }
            Some(first) if first.hash != answer_hash => {
                findings.push((
                    "state-machine-answers",
                    differing_answers(first, who, index, answer),
                ));
            }
            Some(_) => {}
        }
        if let Some(state) = state {
            findings.extend(self.state(who, index, state, false));
        }
        findings
    }

    /// `who` restored a snapshot through `index`, whose own snapshot then hashed to `state`.
    pub fn restored(&mut self, who: Who, index: LogIndex, state: Option<u64>) -> Vec<Finding> {
        state.map_or_else(Vec::new, |state| self.state(who, index, state, true))
    }

    fn state(&mut self, who: Who, index: LogIndex, state: u64, restored: bool) -> Vec<Finding> {
        let Some(first) = self.states.get(&index) else {
            let seen = Seen {
                who,
                hash: state,
                preview: String::new(),
            };
            self.states.insert(index, seen);
            return Vec::new();
        };
        if first.hash == state {
            return Vec::new();
        }
        let how = if restored {
            "right after restoring a snapshot through it"
        } else {
            "right after applying it"
        };
        let cause = if restored || first.who.restored_from.is_some() || who.restored_from.is_some()
        {
            "a state rebuilt from a snapshot is not the state applying the entries reached: \
             `restore` does not rebuild everything `snapshot` wrote, or the snapshot bytes are \
             not a deterministic function of the state (a hash map's order, a clock)"
        } else {
            "two machines that applied the same entries from an empty state hold different \
             states: `apply` is not deterministic (a clock, randomness, a counter of calls, a \
             hash map's order), or the snapshot bytes are not"
        };
        vec![(
            "state-machine-state",
            format!(
                "at index {index} the snapshot of {who}, {how}, hashes to {state:016x}, but that \
                 of {} hashes to {:016x}: {cause}",
                first.who, first.hash
            ),
        )]
    }

    /// `who` went from `last` straight to `index`: a skip if any machine applied a command
    /// in between (entries that never reach a state machine, no-ops and configurations, leave
    /// such gaps legitimately).
    fn jumped(&mut self, who: Who, last: LogIndex, index: LogIndex) -> Vec<Finding> {
        self.gaps.push((who, last, index));
        self.answers
            .range(last + 1..index)
            .next()
            .map(|(&skipped, seen)| skip(who, last, index, skipped, Some(seen.who)))
            .into_iter()
            .collect()
    }

    /// The incarnations that jumped over `index`, now known to hold a command.
    fn skipped_by_others(&self, index: LogIndex) -> Vec<Finding> {
        self.gaps
            .iter()
            .filter(|(_, last, next)| *last < index && index < *next)
            .map(|&(who, last, next)| skip(who, last, next, index, None))
            .collect()
    }
}

fn skip(who: Who, last: LogIndex, next: LogIndex, skipped: LogIndex, by: Option<Who>) -> Finding {
    let applier = by.map_or("another machine".to_owned(), |by| by.to_string());
    (
        "state-machine-order",
        format!(
            "{who} went from index {last} to index {next}, skipping the entry at index \
             {skipped}, a command {applier} applied: an entry skipped (the node's apply loop, \
             not the machine, is at fault)"
        ),
    )
}

fn differing_answers(first: &Seen, who: Who, index: LogIndex, answer: &[u8]) -> String {
    let restored = first.who.restored_from.or(who.restored_from);
    let cause = match restored {
        Some(through) => format!(
            "one of them got its state from a snapshot through index {through}: unless \
             `apply` is not deterministic, the snapshot leaves out part of the state `apply` \
             depends on, or `restore` does not rebuild all of it"
        ),
        None => "both applied every entry from an empty state, in the same order: `apply` is \
                 not deterministic (a clock, randomness, a counter of calls, a hash map's \
                 order in its answer)"
            .to_owned(),
    };
    format!(
        "the entry at index {index} got {} from {who} but {} from {}: {cause}",
        preview(answer),
        first.preview,
        first.who
    )
}

/// Up to 40 bytes of an answer, as text when it is text.
fn preview(bytes: &[u8]) -> String {
    let shown = &bytes[..bytes.len().min(40)];
    let more = if bytes.len() > shown.len() { "..." } else { "" };
    match std::str::from_utf8(shown) {
        Ok(text) => format!("{text:?}{more}"),
        Err(_) => format!("{shown:02x?}{more}"),
    }
}

/// FNV-1a, the harness's hash of commands and states.
pub fn fnv(bytes: &[u8]) -> u64 {
    crate::checks::invariants::command_hash(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(node: NodeId, restored_from: Option<LogIndex>) -> Who {
        Who {
            node,
            incarnation: 0,
            restored_from,
        }
    }

    #[test]
    fn equal_answers_and_states_are_fine() {
        let mut ledger = Ledger::default();
        assert!(ledger.applied(who(1, None), 0, 2, b"a", Some(7)).is_empty());
        assert!(ledger.applied(who(2, None), 0, 2, b"a", Some(7)).is_empty());
        assert!(ledger.restored(who(3, Some(2)), 2, Some(7)).is_empty());
    }

    #[test]
    fn a_different_answer_from_an_empty_start_names_nondeterminism() {
        let mut ledger = Ledger::default();
        ledger.applied(who(1, None), 0, 2, b"1", None);
        let findings = ledger.applied(who(2, None), 0, 2, b"2", None);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].0, "state-machine-answers");
        assert!(
            findings[0].1.contains("`apply` is not deterministic"),
            "{findings:?}"
        );
    }

    #[test]
    fn a_different_answer_after_a_restore_names_the_snapshot() {
        let mut ledger = Ledger::default();
        ledger.applied(who(1, None), 4, 5, b"x", None);
        let findings = ledger.applied(who(2, Some(4)), 4, 5, b"y", None);
        assert!(
            findings[0]
                .1
                .contains("the snapshot leaves out part of the state"),
            "{findings:?}"
        );
    }

    #[test]
    fn a_different_state_at_an_index_is_found() {
        let mut ledger = Ledger::default();
        ledger.applied(who(1, None), 0, 3, b"a", Some(1));
        let findings = ledger.restored(who(2, Some(3)), 3, Some(2));
        assert_eq!(findings[0].0, "state-machine-state");
        assert!(
            findings[0].1.contains("restoring a snapshot"),
            "{findings:?}"
        );
    }

    #[test]
    fn an_entry_applied_twice_is_found() {
        let mut ledger = Ledger::default();
        let findings = ledger.applied(who(1, None), 5, 5, b"a", None);
        assert_eq!(findings[0].0, "state-machine-order");
        assert!(findings[0].1.contains("applied twice"));
    }

    #[test]
    fn a_skipped_command_is_found_whichever_is_seen_first() {
        let mut ledger = Ledger::default();
        ledger.applied(who(1, None), 1, 2, b"a", None);
        let findings = ledger.applied(who(2, None), 1, 3, b"b", None);
        assert!(
            findings[0].1.contains("skipping the entry at index 2"),
            "{findings:?}"
        );
        let mut ledger = Ledger::default();
        assert!(
            ledger.applied(who(2, None), 1, 3, b"b", None).is_empty(),
            "a no-op gap"
        );
        let findings = ledger.applied(who(1, None), 1, 2, b"a", None);
        assert!(
            findings[0].1.contains("skipping the entry at index 2"),
            "{findings:?}"
        );
    }
}
