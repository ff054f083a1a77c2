//! Admin calls take effect: a configuration change (dissertation chapter 4) or a leadership
//! transfer (§3.10) that the cluster accepted must show in what the nodes report, judged from
//! outside (a third party's implementation is held to it: its admin API's answers, the
//! configuration entries its `Log` appends, the terms its `Log` saves):
//!
//! * **An acknowledged change is in effect**: once a change call returns success with the
//!   index of its entry, the configuration in effect in the caller's log (seen through the
//!   `Log` trait) is that entry's or a later one, and, if it is that entry's, it makes the
//!   change (the node added, promoted, removed; the voters replaced). A node that answers
//!   success and appends nothing is named at once, faults or not.
//! * **A change accepted in a quiet stretch takes effect**: a change call that ended with no
//!   outcome (the API's "it may still take effect"), asked and ended while no fault other than
//!   the membership nemesis itself was in effect (nor had been for a recovery time before),
//!   must at least have had some node's log append a configuration that makes the change.
//! * **A transfer accepted in a quiet stretch ends the leader's term**: a transfer call that
//!   was not refused (it ended with the target leading, or with no outcome), in the same quiet
//!   stretch, is followed, before the call ends, by a term after the caller's (the target's
//!   campaign, or any election): some node's `Log` saves a later term, or some node leads
//!   one. A call ends two election timeouts after it was accepted at the latest.
//!
//! Memory: one record per admin call, a handful per run.

use std::collections::BTreeSet;
use std::fmt;

use rafty::{LogIndex, Membership, NodeId, Term};

use super::invariants::Observation;
use crate::nemesis::NemesisEvent;

/// An admin call the membership nemesis made of a leader, with its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminCall {
    /// Add the node as a learner (§4.2.1).
    AddLearner(NodeId),
    /// Make the learner a voter.
    Promote(NodeId),
    /// Remove the member.
    Remove(NodeId),
    /// Replace voter `out` by `new`, leaving `voters` (through C_old,new when more than one
    /// voter changes, §4.3).
    Replace {
        /// The voter leaving.
        out: NodeId,
        /// The node taking its place.
        new: NodeId,
        /// The voters of the target configuration.
        voters: BTreeSet<NodeId>,
    },
    /// Hand leadership to the voter (§3.10).
    Transfer(NodeId),
}

impl fmt::Display for AdminCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminCall::AddLearner(n) => write!(f, "add_learner(n{n})"),
            AdminCall::Promote(n) => write!(f, "promote(n{n})"),
            AdminCall::Remove(n) => write!(f, "remove(n{n})"),
            AdminCall::Replace { out, new, .. } => write!(f, "change_membership(n{out} -> n{new})"),
            AdminCall::Transfer(n) => write!(f, "transfer_leadership(n{n})"),
        }
    }
}

impl AdminCall {
    /// Whether `membership` makes this change (`None` for a transfer, which changes none).
    /// A joint configuration makes a replacement: its voters are the new ones.
    pub fn made_by(&self, membership: &Membership) -> Option<bool> {
        match self {
            AdminCall::AddLearner(node) => Some(membership.contains(*node)),
            AdminCall::Promote(node) => Some(membership.is_voter(*node)),
            AdminCall::Remove(node) => Some(!membership.contains(*node)),
            AdminCall::Replace { voters, .. } => Some(&membership.voters == voters),
            AdminCall::Transfer(_) => None,
        }
    }

    /// What a configuration that makes it holds, for the messages.
    fn effect(&self) -> String {
        match self {
            AdminCall::AddLearner(node) => format!("n{node} a member"),
            AdminCall::Promote(node) => format!("n{node} a voter"),
            AdminCall::Remove(node) => format!("n{node} not a member"),
            AdminCall::Replace { voters, .. } => format!("the voters {voters:?}"),
            AdminCall::Transfer(node) => format!("n{node} leading"),
        }
    }
}

/// How an admin call ended, as its caller was told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminOutcome {
    /// Success: for a change, the index of the entry it appended; for a transfer, `None`
    /// (the target leads).
    Done(Option<LogIndex>),
    /// A definite refusal: nothing was done.
    Refused,
    /// No outcome (a timeout, the node stopping): it may still take effect.
    NoOutcome,
}

/// One admin call, from its start to its end.
#[derive(Clone, Debug)]
struct Record {
    call: AdminCall,
    /// The leader that took it.
    leader: NodeId,
    /// The term it led when it took it.
    term: Term,
    /// The configuration in effect on it then.
    configuration: Membership,
    start_ns: u64,
    /// When it ended and how; `None` while in progress (or if the leader was killed first).
    end: Option<(u64, AdminOutcome)>,
    /// Whether some node, since the start, appended a configuration that makes the change,
    /// or (a transfer) saved or led a term after `term`.
    effect_seen: bool,
}

/// Every admin call of a run, fed as the run goes; judged at its end ([`AdminCalls::problems`]).
#[derive(Clone, Debug, Default)]
pub struct AdminCalls {
    records: Vec<Record>,
    /// Acknowledged changes not in effect in the caller's log when they returned.
    not_in_effect: Vec<String>,
}

/// Which admin call: the handle [`AdminCalls::started`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallId(usize);

impl AdminCalls {
    /// Leader `leader`, leading `term` with `configuration` in effect, takes `call` at
    /// `time_ns`.
    pub fn started(
        &mut self,
        time_ns: u64,
        leader: NodeId,
        term: Term,
        configuration: &Membership,
        call: AdminCall,
    ) -> CallId {
        self.records.push(Record {
            call,
            leader,
            term,
            configuration: configuration.clone(),
            start_ns: time_ns,
            end: None,
            effect_seen: false,
        });
        CallId(self.records.len() - 1)
    }

    /// The call `id` ended at `time_ns` with `outcome`; the configuration in effect in its
    /// leader's log then (seen from outside) is `in_effect`, with the index of its entry.
    pub fn finished(
        &mut self,
        id: CallId,
        time_ns: u64,
        outcome: AdminOutcome,
        in_effect: (LogIndex, &Membership),
    ) {
        let record = &mut self.records[id.0];
        record.end = Some((time_ns, outcome.clone()));
        let AdminOutcome::Done(Some(index)) = outcome else {
            return;
        };
        let (at, membership) = in_effect;
        // A later entry may have undone it (another change): only the entry the call named,
        // or an earlier one (nothing appended), is judged.
        if at <= index && record.call.made_by(membership) == Some(false) {
            self.not_in_effect.push(format!(
                "{}, asked of leader n{} in term {} ({}) at {}, returned success at index \
                 {index} at {}, but the configuration in effect in n{}'s log then is index \
                 {at}, {membership}: not {}",
                record.call,
                record.leader,
                record.term,
                record.configuration,
                seconds(record.start_ns),
                seconds(time_ns),
                record.leader,
                record.call.effect(),
            ));
        }
    }

    /// Some node reported `observation`: note the calls in progress it shows took effect.
    pub fn observe(&mut self, observation: &Observation) {
        let term = match observation {
            Observation::HardStateSaved { state } => Some(state.current_term),
            Observation::BecameLeader { term } => Some(*term),
            _ => None,
        };
        let configurations: &[(LogIndex, Membership)] = match observation {
            Observation::Appended { configurations, .. }
            | Observation::LogOpened { configurations, .. } => configurations,
            _ => &[],
        };
        if term.is_none() && configurations.is_empty() {
            return;
        }
        for record in self.records.iter_mut().filter(|r| r.end.is_none()) {
            let seen = match &record.call {
                AdminCall::Transfer(_) => term.is_some_and(|term| term > record.term),
                change => configurations
                    .iter()
                    .any(|(_, membership)| change.made_by(membership) == Some(true)),
            };
            record.effect_seen |= seen;
        }
    }

    /// Every problem, one line each naming the call, the leader and its configuration:
    /// acknowledged changes not in effect, and calls accepted in a quiet stretch that never
    /// took effect. `quiet(from, to)`: whether no fault but the membership nemesis's was in
    /// effect (nor recovering) at any time in `[from, to]`.
    pub fn problems(&self, quiet: impl Fn(u64, u64) -> bool) -> Vec<String> {
        let mut problems = self.not_in_effect.clone();
        for record in &self.records {
            let Some((end_ns, outcome)) = &record.end else {
                continue;
            };
            // Accepted: a transfer that completed, or any call that ended with no outcome.
            let accepted = matches!(
                (&record.call, outcome),
                (AdminCall::Transfer(_), AdminOutcome::Done(_)) | (_, AdminOutcome::NoOutcome)
            );
            if !accepted || record.effect_seen || !quiet(record.start_ns, *end_ns) {
                continue;
            }
            let ended = match outcome {
                AdminOutcome::Done(_) => "returned success",
                _ => "ended with no outcome",
            };
            let missing = match &record.call {
                AdminCall::Transfer(_) => {
                    format!("no node saved or led a term after {}", record.term)
                }
                change => format!(
                    "no node's log appended a configuration with {}",
                    change.effect()
                ),
            };
            problems.push(format!(
                "{}, asked of leader n{} in term {} ({}) at {} with no fault in effect, {ended} \
                 at {}, and {missing} by then",
                record.call,
                record.leader,
                record.term,
                record.configuration,
                seconds(record.start_ns),
                seconds(*end_ns),
            ));
        }
        problems
    }
}

/// `12.345 s`.
fn seconds(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// The stretches `[from, to)` (nanoseconds) in which a fault other than the membership
/// nemesis's was in effect or had stopped less than `recovery_ns` before, from the nemesis
/// `events`; a fault never stopped lasts to the end.
pub fn busy_stretches(events: &[NemesisEvent], recovery_ns: u64) -> Vec<(u64, u64)> {
    super::liveness::fault_stretches(events, &["membership"])
        .into_iter()
        .map(|(start, stop)| (start, stop.saturating_add(recovery_ns)))
        .collect()
}

/// Whether `[from, to]` meets none of `busy` ([`busy_stretches`]).
pub fn quiet_in(busy: &[(u64, u64)], from: u64, to: u64) -> bool {
    busy.iter().all(|&(start, end)| to < start || from >= end)
}

#[cfg(test)]
mod tests {
    use rafty::HardState;

    use super::*;

    fn event(ms: u64, f: &str) -> NemesisEvent {
        NemesisEvent {
            time_ns: ms * 1_000_000,
            f: f.to_owned(),
            value: String::new(),
        }
    }

    fn five() -> Membership {
        Membership::new(1..=5)
    }

    fn always_quiet(_: u64, _: u64) -> bool {
        true
    }

    /// §4.1: a change acknowledged with the index of its entry is that entry; a node that
    /// answers success having appended nothing is named, with the call and the configuration.
    #[test]
    fn an_acknowledged_change_not_in_the_callers_log_is_named() {
        let mut calls = AdminCalls::default();
        let id = calls.started(1_000_000_000, 1, 3, &five(), AdminCall::AddLearner(6));
        calls.finished(
            id,
            1_200_000_000,
            AdminOutcome::Done(Some(40)),
            (0, &five()),
        );
        let problems = calls.problems(always_quiet);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with(
                "add_learner(n6), asked of leader n1 in term 3 (voters {1, 2, 3, 4, 5}) at \
                 1.000 s, returned success at index 40"
            ) && problems[0].ends_with("not n6 a member"),
            "{problems:?}"
        );
        // Made by the entry it named: nothing to say.
        let mut calls = AdminCalls::default();
        let id = calls.started(0, 1, 3, &five(), AdminCall::AddLearner(6));
        let six = five().with_learners([6]);
        calls.finished(id, 1, AdminOutcome::Done(Some(40)), (40, &six));
        assert!(calls.problems(always_quiet).is_empty());
        // A later change undid it before the call returned: not judged.
        let id = calls.started(2, 1, 3, &five(), AdminCall::Remove(5));
        calls.finished(id, 3, AdminOutcome::Done(Some(41)), (42, &five()));
        assert!(calls.problems(always_quiet).is_empty());
    }

    /// A change that timed out in a quiet stretch with no configuration making it appended
    /// anywhere is named; one some log appended, or one asked during a fault, is not.
    #[test]
    fn a_change_with_no_outcome_in_a_quiet_stretch_must_have_been_appended() {
        let replace = AdminCall::Replace {
            out: 2,
            new: 6,
            voters: BTreeSet::from([1, 3, 4, 5, 6]),
        };
        let mut calls = AdminCalls::default();
        let id = calls.started(0, 1, 3, &five(), replace.clone());
        calls.finished(id, 5, AdminOutcome::NoOutcome, (0, &five()));
        let problems = calls.problems(always_quiet);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("change_membership(n2 -> n6)")
                && problems[0].contains(
                    "no node's log appended a configuration with the voters {1, 3, 4, 5, 6}"
                ),
            "{problems:?}"
        );
        assert!(calls.problems(|_, _| false).is_empty(), "not quiet");
        let mut calls = AdminCalls::default();
        let id = calls.started(0, 1, 3, &five(), replace);
        let joint = five().joint_to(&Membership::new([1, 3, 4, 5, 6]));
        calls.observe(&Observation::Appended {
            first: 9,
            terms: vec![3],
            configurations: vec![(9, joint)],
        });
        calls.finished(id, 5, AdminOutcome::NoOutcome, (0, &five()));
        assert!(calls.problems(always_quiet).is_empty());
        // Refused: nothing was promised.
        let id = calls.started(6, 1, 3, &five(), AdminCall::Promote(7));
        calls.finished(id, 7, AdminOutcome::Refused, (0, &five()));
        assert!(calls.problems(always_quiet).is_empty());
    }

    /// §3.10: an accepted transfer ends the leader's term (the target campaigns with the
    /// next one); one after which no later term was saved or led is named.
    #[test]
    fn an_accepted_transfer_with_no_later_term_is_named() {
        let mut calls = AdminCalls::default();
        let id = calls.started(0, 1, 3, &five(), AdminCall::Transfer(4));
        // The same term saved again (a vote, say) is not a later one.
        calls.observe(&Observation::HardStateSaved {
            state: HardState {
                current_term: 3,
                voted_for: Some(1),
            },
        });
        calls.finished(id, 900_000_000, AdminOutcome::NoOutcome, (0, &five()));
        let problems = calls.problems(always_quiet);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("transfer_leadership(n4), asked of leader n1 in term 3")
                && problems[0].contains("no node saved or led a term after 3"),
            "{problems:?}"
        );
        let mut calls = AdminCalls::default();
        let id = calls.started(0, 1, 3, &five(), AdminCall::Transfer(4));
        calls.observe(&Observation::HardStateSaved {
            state: HardState {
                current_term: 4,
                voted_for: Some(4),
            },
        });
        calls.finished(id, 9, AdminOutcome::Done(None), (0, &five()));
        assert!(calls.problems(always_quiet).is_empty());
    }

    #[test]
    fn only_faults_other_than_membership_make_a_stretch_busy_until_they_recover() {
        let events = [
            event(1_000, "start-membership"),
            event(2_000, "start-kill"),
            event(2_500, "start-partition"),
            event(3_000, "stop-kill"),
            event(4_000, "stop-partition"),
            event(6_000, "stop-membership"),
            event(8_000, "start-clock"),
        ];
        let busy = busy_stretches(&events, 1_000_000_000);
        let ms = 1_000_000;
        assert_eq!(busy, vec![(2_000 * ms, 5_000 * ms), (8_000 * ms, u64::MAX)]);
        assert!(quiet_in(&busy, 1_000 * ms, 1_999 * ms));
        assert!(!quiet_in(&busy, 1_000 * ms, 2_000 * ms));
        assert!(!quiet_in(&busy, 4_999 * ms, 5_500 * ms));
        assert!(quiet_in(&busy, 5_000 * ms, 7_999 * ms));
        assert!(!quiet_in(&busy, 9_000 * ms, 9_500 * ms));
    }
}
