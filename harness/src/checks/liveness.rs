//! Liveness, reported apart from safety: while the cluster is healthy (no fault in effect, and
//! some time allowed to recover from the last one), clients must make progress; and after the
//! nemesis healed everything, a final read of every key must succeed, and the cluster must
//! settle: leave a joint configuration, bring every member up to date ([`super::settled`]).
//! Within a healthy window, a node asked some kind of operation again and again answers at
//! least one of them (`ok` or `fail`): a node whose every read ends indeterminate while the
//! cluster is healthy (a follower that never serves the reads it takes, §6.4) stalls its
//! clients even though others make progress.

use std::collections::BTreeMap;
use std::time::Duration;

use rafty_checkers::{Op, OpType, Process, Value};
use serde::Serialize;

use crate::nemesis::NemesisEvent;

/// The liveness verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Liveness {
    /// True when every healthy window saw progress and every final read succeeded.
    pub valid: bool,
    /// Healthy windows `[from, to)` (nanoseconds) in which no operation succeeded.
    pub stalled_windows_ns: Vec<(u64, u64)>,
    /// How many healthy windows were checked.
    pub windows_checked: usize,
    /// Keys whose final read never succeeded.
    pub keys_never_read: Vec<String>,
    /// Nodes that answered none of the operations of one kind asked of them in a healthy
    /// window, at least [`UNANSWERED_MIN`] of them all indeterminate: `n3 left 12 reads
    /// indeterminate and answered none in the healthy window 4.1 s to 6.0 s` (absent from
    /// results.json when there is none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unanswered: Vec<String>,
    /// Why the cluster did not settle after the final heal ([`super::settled::check`]), one
    /// line per problem (absent from results.json when it did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsettled: Vec<String>,
    /// Admin calls the cluster accepted that did not take effect ([`super::admin`]), one
    /// line per call naming it, its leader and the configuration (absent from results.json
    /// when there is none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub admin: Vec<String>,
}

impl Liveness {
    /// The verdict with the settle check's problems added: any makes it invalid.
    pub fn with_unsettled(mut self, unsettled: Vec<String>) -> Liveness {
        self.valid &= unsettled.is_empty();
        self.unsettled = unsettled;
        self
    }

    /// The verdict with the admin check's problems added: any makes it invalid.
    pub fn with_admin(mut self, admin: Vec<String>) -> Liveness {
        self.valid &= admin.is_empty();
        self.admin = admin;
        self
    }
}

/// How many operations of one kind a node must leave indeterminate, answering none, within
/// one healthy window to count as not answering (one could be cut by the window's end).
pub const UNANSWERED_MIN: u32 = 3;

/// The stretches `[start, stop)` (nanoseconds, in order, disjoint) in which at least one fault
/// whose kind is not in `ignored` was in effect, from the nemesis `events`: with
/// `--nemesis-overlap` a stretch ends only when the last overlapping fault stops; one never
/// stopped ends at `u64::MAX`. A stop with no fault in effect is ignored.
pub fn fault_stretches(events: &[NemesisEvent], ignored: &[&str]) -> Vec<(u64, u64)> {
    let mut stretches = Vec::new();
    let mut in_effect = 0usize;
    let mut since = 0;
    for event in events {
        let (kind, starts) = match (
            event.f.strip_prefix("start-"),
            event.f.strip_prefix("stop-"),
        ) {
            (Some(kind), _) => (kind, true),
            (None, Some(kind)) => (kind, false),
            (None, None) => continue,
        };
        if ignored.contains(&kind) {
            continue;
        }
        if starts {
            if in_effect == 0 {
                since = event.time_ns;
            }
            in_effect += 1;
        } else if in_effect > 0 {
            in_effect -= 1;
            if in_effect == 0 {
                stretches.push((since, event.time_ns));
            }
        }
    }
    if in_effect > 0 {
        stretches.push((since, u64::MAX));
    }
    stretches
}

/// Check liveness of `ops` given the nemesis `events`: [`Windows`] over a history held whole.
pub fn check(
    ops: &[Op],
    events: &[NemesisEvent],
    time_limit: Duration,
    recovery: Duration,
    min_window: Duration,
    final_reads: &BTreeMap<String, Option<Value>>,
) -> Liveness {
    let mut windows = Windows::new(events, time_limit, recovery, min_window);
    for op in ops {
        windows.observe(op);
    }
    windows.verdict(final_reads)
}

/// The healthy windows of a run and whether each saw an operation succeed, filled in one
/// event at a time (so a history read from disk is checked without being held): O(windows).
///
/// Windows are the stretches of `[0, time_limit)` with no fault in effect, each starting
/// `recovery` after the previous fault stopped (or after the start) and counted only if at
/// least `min_window` long.
#[derive(Clone, Debug)]
pub struct Windows {
    /// `[from, to)` in nanoseconds, in order and disjoint.
    windows: Vec<(u64, u64)>,
    /// Whether some client operation succeeded within each window.
    progressed: Vec<bool>,
    /// (window, node, function) -> (answered `ok` or `fail`, ended indeterminate): the client
    /// completions in each window that name the node that took them.
    answers: BTreeMap<(usize, String, String), (u32, u32)>,
    /// Functions whose completions say nothing of whether their node answered
    /// ([`Windows::answers_unjudged_for`]).
    unjudged: Vec<String>,
}

impl Windows {
    /// The healthy windows of a run with the nemesis `events`.
    pub fn new(
        events: &[NemesisEvent],
        time_limit: Duration,
        recovery: Duration,
        min_window: Duration,
    ) -> Self {
        let limit = time_limit.as_nanos() as u64;
        // The gaps between the stretches in which some fault was in effect (with
        // `--nemesis-overlap`, the cluster is healthy only once the last of them stopped).
        let mut windows = Vec::new();
        let mut healthy_since = Some(0u64);
        for (start, stop) in fault_stretches(events, &[]) {
            if let Some(from) = healthy_since {
                windows.push((from, start));
            }
            healthy_since = (stop != u64::MAX).then_some(stop);
        }
        if let Some(from) = healthy_since {
            windows.push((from, limit));
        }
        let recovery = recovery.as_nanos() as u64;
        let min_window = min_window.as_nanos() as u64;
        let windows: Vec<(u64, u64)> = windows
            .into_iter()
            .map(|(from, to)| (from + recovery, to.min(limit)))
            .filter(|(from, to)| to.saturating_sub(*from) >= min_window)
            .collect();
        // The nemesis's events come in time order, so its windows do too: each success then
        // falls in at most one, found by binary search.
        assert!(
            windows.windows(2).all(|pair| pair[0].1 <= pair[1].0),
            "healthy windows out of order: {windows:?}"
        );
        Windows {
            progressed: vec![false; windows.len()],
            windows,
            answers: BTreeMap::new(),
            unjudged: Vec::new(),
        }
    }

    /// Leave the operations of `functions` out of the answer check: with `--reads stale`
    /// a read a node answers is recorded `info` (its value is never checked), so an `info`
    /// read says nothing of whether its node answered.
    pub fn answers_unjudged_for(mut self, functions: &[&str]) -> Self {
        self.unjudged = functions.iter().map(|f| (*f).to_owned()).collect();
        self
    }

    /// Only the windows that ended by `time_ns`: what can be judged of a history read only up
    /// to an event at that time (a later window may have seen progress that was not read).
    pub fn until(mut self, time_ns: u64) -> Self {
        let kept = self.windows.partition_point(|(_, to)| *to <= time_ns);
        self.windows.truncate(kept);
        self.progressed.truncate(kept);
        self.answers.retain(|(window, _, _), _| *window < kept);
        self
    }

    /// Take in one event of the history: a client's `ok` marks the window it falls in.
    pub fn observe(&mut self, op: &Op) {
        if op.kind != OpType::Ok || !matches!(op.process, Process::Client(_)) {
            return;
        }
        if let Some(window) = self.window_of(op) {
            self.progressed[window] = true;
        }
    }

    /// Take in a client's completion and the node that took the operation, if known: counted
    /// as answered (`ok`, `fail`) or not (`info`) for that node in the window it falls in.
    pub fn observe_answer(&mut self, op: &Op, node: Option<&str>) {
        let (Some(node), Process::Client(_)) = (node, &op.process) else {
            return;
        };
        if op.kind == OpType::Invoke || self.unjudged.iter().any(|f| f == op.f.as_str()) {
            return;
        }
        let Some(window) = self.window_of(op) else {
            return;
        };
        let key = (window, node.to_owned(), op.f.as_str().to_owned());
        let (answered, indeterminate) = self.answers.entry(key).or_default();
        if op.kind == OpType::Info {
            *indeterminate += 1;
        } else {
            *answered += 1;
        }
    }

    /// The healthy window `op` falls in, if any.
    fn window_of(&self, op: &Op) -> Option<usize> {
        let time = op.time?;
        let after = self.windows.partition_point(|(from, _)| *from <= time);
        let window = after.checked_sub(1)?;
        (time < self.windows[window].1).then_some(window)
    }

    /// The verdict, given every event observed and the final reads.
    pub fn verdict(self, final_reads: &BTreeMap<String, Option<Value>>) -> Liveness {
        let stalled_windows_ns: Vec<(u64, u64)> = self
            .windows
            .iter()
            .zip(&self.progressed)
            .filter(|(_, progressed)| !**progressed)
            .map(|(window, _)| *window)
            .collect();
        let keys_never_read: Vec<String> = final_reads
            .iter()
            .filter(|(_, value)| value.is_none())
            .map(|(key, _)| key.clone())
            .collect();
        let seconds = |ns: u64| ns as f64 / 1e9;
        let unanswered: Vec<String> = self
            .answers
            .iter()
            .filter(|(_, (answered, indeterminate))| {
                *answered == 0 && *indeterminate >= UNANSWERED_MIN
            })
            .map(|((window, node, function), (_, indeterminate))| {
                let (from, to) = self.windows[*window];
                format!(
                    "{node} left {indeterminate} {function}s indeterminate and answered none in \
                     the healthy window {:.1} s to {:.1} s",
                    seconds(from),
                    seconds(to)
                )
            })
            .collect();
        Liveness {
            valid: stalled_windows_ns.is_empty()
                && keys_never_read.is_empty()
                && unanswered.is_empty(),
            stalled_windows_ns,
            windows_checked: self.windows.len(),
            keys_never_read,
            unanswered,
            unsettled: Vec::new(),
            admin: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rafty_checkers::Process;

    use super::*;

    /// Client 1's completion of `f` with `kind` at `ms` milliseconds.
    fn completion(kind: OpType, f: &str, ms: u64) -> Op {
        Op::new(Process::Client(1), kind, f, Value::Nil).with_time(ms * 1_000_000)
    }

    fn ok_at(ms: u64) -> Op {
        Op::new(Process::Client(0), OpType::Ok, "read", Value::Nil).with_time(ms * 1_000_000)
    }

    fn event(ms: u64, f: &str) -> NemesisEvent {
        NemesisEvent {
            time_ns: ms * 1_000_000,
            f: f.into(),
            value: String::new(),
        }
    }

    #[test]
    fn a_healthy_window_without_success_is_a_stall() {
        let events = [event(3000, "start-kill"), event(5000, "stop-kill")];
        let ops = [ok_at(2500)];
        let second = Duration::from_secs(1);
        let verdict = check(
            &ops,
            &events,
            Duration::from_secs(10),
            second,
            second,
            &BTreeMap::new(),
        );
        assert_eq!(verdict.windows_checked, 2);
        assert_eq!(
            verdict.stalled_windows_ns,
            [(6_000_000_000, 10_000_000_000)]
        );
        assert!(!verdict.valid);
        let ops = [ok_at(2500), ok_at(7000)];
        assert!(
            check(
                &ops,
                &events,
                Duration::from_secs(10),
                second,
                second,
                &BTreeMap::new()
            )
            .valid
        );
    }

    /// Overlapping faults (`--nemesis-overlap`): the first fault's stop is no healthy window
    /// while the second is still in effect; the window opens when the last one stops.
    #[test]
    fn a_window_opens_only_when_the_last_overlapping_fault_stops() {
        let events = [
            event(1000, "start-partition"),
            event(2000, "start-kill"),
            event(3000, "stop-partition"),
            event(7000, "stop-kill"),
        ];
        let second = Duration::from_secs(1);
        let verdict = check(
            &[ok_at(500), ok_at(9000)],
            &events,
            Duration::from_secs(10),
            Duration::ZERO,
            second,
            &BTreeMap::new(),
        );
        assert_eq!(verdict.windows_checked, 2, "{verdict:?}");
        assert!(verdict.valid, "{verdict:?}");
    }

    /// §6.4: a node that takes reads must serve (or refuse) them while the cluster is
    /// healthy; one whose reads all end indeterminate is named, even while others progress.
    #[test]
    fn a_node_that_answers_none_of_its_reads_in_a_healthy_window_is_named() {
        let second = Duration::from_secs(1);
        let mut windows = Windows::new(&[], Duration::from_secs(10), second, second);
        for ms in [2000, 2100, 2200] {
            windows.observe_answer(&completion(OpType::Info, "read", ms), Some("n2"));
            windows.observe_answer(&completion(OpType::Ok, "write", ms), Some("n2"));
            windows.observe_answer(&completion(OpType::Ok, "read", ms), Some("n1"));
        }
        // Outside any window (before the recovery) or with no node: not counted.
        windows.observe_answer(&completion(OpType::Ok, "read", 500), Some("n2"));
        windows.observe_answer(&completion(OpType::Ok, "read", 2300), None);
        windows.observe(&ok_at(2000));
        let verdict = windows.verdict(&BTreeMap::new());
        assert_eq!(
            verdict.unanswered,
            [
                "n2 left 3 reads indeterminate and answered none in the healthy window 1.0 s to 10.0 s"
            ]
        );
        assert!(!verdict.valid);
        // One answer, or fewer than three left indeterminate, is no stall.
        let mut windows = Windows::new(&[], Duration::from_secs(10), second, second);
        windows.observe_answer(&completion(OpType::Info, "read", 2000), Some("n2"));
        windows.observe_answer(&completion(OpType::Info, "read", 2100), Some("n2"));
        windows.observe_answer(&completion(OpType::Info, "read", 2200), Some("n3"));
        windows.observe_answer(&completion(OpType::Info, "read", 2300), Some("n3"));
        windows.observe_answer(&completion(OpType::Info, "read", 2400), Some("n3"));
        windows.observe_answer(&completion(OpType::Fail, "read", 2500), Some("n3"));
        windows.observe(&ok_at(2000));
        let verdict = windows.verdict(&BTreeMap::new());
        assert!(verdict.valid, "{verdict:?}");
    }

    /// Stale reads (`--reads stale`) are recorded `info` when a node serves them: a node
    /// answering every one is no stall, while its indeterminate writes still count (the soak
    /// found 33 of 60 seeds of `--reads stale --clients pinned --nodes 3 --nemesis
    /// all,membership,clock,depose --nemesis-overlap 2` judged so, e.g. seed 2).
    #[test]
    fn stale_reads_left_info_are_not_counted_as_unanswered() {
        let second = Duration::from_secs(1);
        let mut windows = Windows::new(&[], Duration::from_secs(10), second, second)
            .answers_unjudged_for(&["read", "get"]);
        for ms in [2000, 2100, 2200] {
            windows.observe_answer(&completion(OpType::Info, "read", ms), Some("n1"));
            windows.observe_answer(&completion(OpType::Info, "get", ms), Some("n1"));
            windows.observe_answer(&completion(OpType::Info, "write", ms), Some("n2"));
        }
        windows.observe(&ok_at(2000));
        let verdict = windows.verdict(&BTreeMap::new());
        assert_eq!(
            verdict.unanswered,
            [
                "n2 left 3 writes indeterminate and answered none in the healthy window 1.0 s to 10.0 s"
            ]
        );
    }

    #[test]
    fn a_key_never_read_at_the_end_is_a_liveness_failure() {
        let finals = BTreeMap::from([
            ("k0".to_owned(), Some(Value::Int(1))),
            ("k1".to_owned(), None),
        ]);
        let verdict = check(
            &[],
            &[],
            Duration::from_secs(1),
            Duration::from_secs(1),
            Duration::from_secs(1),
            &finals,
        );
        assert_eq!(verdict.keys_never_read, ["k1"]);
        assert!(!verdict.valid);
    }
}
