//! Membership over time, read from the node logs the harness stores (`nodes/n*.log`): each
//! node's configuration in effect (the harness notes it, seen from outside through the node's
//! `Log`, whenever it changes) and the admin calls the `membership` nemesis made (leadership
//! transfers, learners added and promoted, voters removed or replaced), each from the moment
//! it was made to its outcome.
//!
//! The lines read (after `<seconds>s n<node> `):
//! - `configuration in effect: index 12, voters {1, 2, 3}, learners {4}`;
//! - `membership nemesis: add_learner(n6) (in Membership { .. })`: a call made;
//! - `membership nemesis: add_learner(n6): ok at 120; now ..`: its outcome;
//! - `membership nemesis: remove a voter skipped: no more voters than at the start`.

use serde::{Deserialize, Serialize};

/// How a configuration line begins (as the harness writes it).
pub const CONFIGURATION_LINE: &str = "configuration in effect: ";

/// How a membership nemesis line begins.
const CALL_LINE: &str = "membership nemesis: ";

/// A node's log came to hold a new configuration in effect (dissertation §4.1: the latest
/// configuration entry in a log is the one in effect, committed or not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationChange {
    /// When, in nanoseconds since the start of the run.
    pub time_ns: u64,
    /// The node.
    pub node: u64,
    /// The index of the configuration entry (0: the initial configuration).
    pub index: u64,
    /// The configuration (`voters {1, 2, 3}, learners {4}`).
    pub configuration: String,
}

/// A membership admin call the nemesis made at a leader, from the call to its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipCall {
    /// When it was made.
    pub start_ns: u64,
    /// When its outcome came (the same as `start_ns` when skipped; the end of the run when it
    /// never came: the leader was killed while carrying it out).
    pub end_ns: Option<u64>,
    /// The leader that carried it out.
    pub node: u64,
    /// The call (`change_membership(n4 -> n6)`), or the op skipped.
    pub call: String,
    /// `ok at 387`, `failed: ...`, `skipped: ...`; empty while none came.
    pub outcome: String,
}

/// The configuration changes and membership calls of some node logs' lines, in time order.
pub fn membership_events<'l>(
    lines: impl IntoIterator<Item = &'l str>,
) -> (Vec<ConfigurationChange>, Vec<MembershipCall>) {
    let mut changes = Vec::new();
    let mut calls: Vec<MembershipCall> = Vec::new();
    for line in lines {
        let Some((time_ns, node, rest)) = split_line(line) else {
            continue;
        };
        if let Some(change) = rest.strip_prefix(CONFIGURATION_LINE) {
            let Some((index, configuration)) = change
                .strip_prefix("index ")
                .and_then(|rest| rest.split_once(", "))
            else {
                continue;
            };
            let Ok(index) = index.parse() else {
                continue;
            };
            changes.push(ConfigurationChange {
                time_ns,
                node,
                index,
                configuration: configuration.to_owned(),
            });
        } else if let Some(call) = rest.strip_prefix(CALL_LINE) {
            record_call(&mut calls, time_ns, node, call);
        }
    }
    changes.sort_by_key(|c| (c.time_ns, c.node));
    calls.sort_by_key(|c| (c.start_ns, c.node));
    (changes, calls)
}

/// A membership nemesis line: a call made, its outcome (closing the same node's open call of
/// that name), or an op skipped.
fn record_call(calls: &mut Vec<MembershipCall>, time_ns: u64, node: u64, text: &str) {
    if let Some((op, reason)) = text.split_once(" skipped: ") {
        calls.push(MembershipCall {
            start_ns: time_ns,
            end_ns: Some(time_ns),
            node,
            call: op.to_owned(),
            outcome: format!("skipped: {reason}"),
        });
    } else if let Some((call, _)) = text.split_once(" (in ") {
        calls.push(MembershipCall {
            start_ns: time_ns,
            end_ns: None,
            node,
            call: call.to_owned(),
            outcome: String::new(),
        });
    } else if let Some((call, outcome)) = text.split_once("): ") {
        let call = format!("{call})");
        let outcome = outcome.split_once("; now ").map_or(outcome, |(o, _)| o);
        let open = calls
            .iter_mut()
            .rev()
            .find(|c| c.node == node && c.call == call && c.end_ns.is_none());
        match open {
            Some(open) => {
                open.end_ns = Some(time_ns);
                open.outcome = outcome.to_owned();
            }
            // Its start was among the lines a long run's log dropped.
            None => calls.push(MembershipCall {
                start_ns: time_ns,
                end_ns: Some(time_ns),
                node,
                call,
                outcome: outcome.to_owned(),
            }),
        }
    }
}

/// `   5.441000s n1 rest` as (time in ns, node, rest).
pub(crate) fn split_line(line: &str) -> Option<(u64, u64, &str)> {
    let line = line.trim_start();
    let (time, rest) = line.split_once("s ")?;
    let (node, rest) = rest.split_once(' ')?;
    let node = node.strip_prefix('n')?.parse().ok()?;
    Some((seconds_to_ns(time)?, node, rest))
}

/// `5.441000` seconds in nanoseconds, exactly.
pub(crate) fn seconds_to_ns(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let fraction_ns: u64 = format!("{fraction:0<9}").parse().ok()?;
    whole
        .parse::<u64>()
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(fraction_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
   1.989000s n4 configuration in effect: index 120, voters {1, 2, 3, 4, 5}, learners {6}
   1.989000s n4 membership nemesis: add_learner(n6) (in Membership { voters: {1, 2, 3, 4, 5}, old_voters: None, learners: {} })
   1.999000s n4 membership nemesis: add_learner(n6): ok at 120; now Membership { voters: {1, 2, 3, 4, 5}, old_voters: None, learners: {6} } at 120
   2.001000s n3 configuration in effect: index 120, voters {1, 2, 3, 4, 5}, learners {6}
   3.000000s n4 membership nemesis: remove a voter skipped: no more voters than at the start
   4.000000s n2 membership nemesis: transfer_leadership(n1) (in Membership { voters: {1, 2, 3, 4, 5}, old_voters: None, learners: {} })
   5.000000s n5 role Leader term 3 leader Some(5)
   5.121000s n4 configuration in effect: index 387, voters {1, 2, 3, 5, 6} (joint with old voters {1, 2, 3, 4, 5})
garbage line
   6.000000s n1 membership nemesis: promote(n6): failed: not the leader; now Membership { voters: {1} } at 3
";

    #[test]
    fn configurations_and_calls_are_read_with_their_times_and_outcomes() {
        let (changes, calls) = membership_events(LOG.lines());
        let summary: Vec<(u64, u64, u64, &str)> = changes
            .iter()
            .map(|c| (c.time_ns, c.node, c.index, c.configuration.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    1_989_000_000,
                    4,
                    120,
                    "voters {1, 2, 3, 4, 5}, learners {6}"
                ),
                (
                    2_001_000_000,
                    3,
                    120,
                    "voters {1, 2, 3, 4, 5}, learners {6}"
                ),
                (
                    5_121_000_000,
                    4,
                    387,
                    "voters {1, 2, 3, 5, 6} (joint with old voters {1, 2, 3, 4, 5})"
                ),
            ]
        );
        let calls: Vec<(u64, Option<u64>, u64, &str, &str)> = calls
            .iter()
            .map(|c| {
                let call = (c.start_ns, c.end_ns, c.node);
                (call.0, call.1, call.2, c.call.as_str(), c.outcome.as_str())
            })
            .collect();
        assert_eq!(
            calls,
            [
                (
                    1_989_000_000,
                    Some(1_999_000_000),
                    4,
                    "add_learner(n6)",
                    "ok at 120"
                ),
                (
                    3_000_000_000,
                    Some(3_000_000_000),
                    4,
                    "remove a voter",
                    "skipped: no more voters than at the start"
                ),
                (4_000_000_000, None, 2, "transfer_leadership(n1)", ""),
                (
                    6_000_000_000,
                    Some(6_000_000_000),
                    1,
                    "promote(n6)",
                    "failed: not the leader"
                ),
            ]
        );
    }

    #[test]
    fn times_are_exact_and_bad_times_are_not_read() {
        assert_eq!(seconds_to_ns("5.441000"), Some(5_441_000_000));
        assert_eq!(seconds_to_ns("12"), Some(12_000_000_000));
        assert_eq!(seconds_to_ns("1.0000000001"), None);
        assert_eq!(seconds_to_ns("1.x"), None);
        assert_eq!(split_line("1.5s nx configuration"), None);
    }
}
