//! Liveness, reported apart from safety: while the cluster is healthy (no fault in effect, and
//! some time allowed to recover from the last one), clients must make progress; and after the
//! nemesis healed everything, a final read of every key must succeed, and the cluster must
//! settle: leave a joint configuration, bring every member up to date ([`super::settled`]).

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
    /// Why the cluster did not settle after the final heal ([`super::settled::check`]), one
    /// line per problem (absent from results.json when it did).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsettled: Vec<String>,
}

impl Liveness {
    /// The verdict with the settle check's problems added: any makes it invalid.
    pub fn with_unsettled(mut self, unsettled: Vec<String>) -> Liveness {
        self.valid &= unsettled.is_empty();
        self.unsettled = unsettled;
        self
    }
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
}

impl Windows {
    /// The healthy windows of a run with the nemesis `events`.
    pub fn new(
        events: &[NemesisEvent],
        time_limit: Duration,
        recovery: Duration,
        min_window: Duration,
    ) -> Self {
        let mut windows = Vec::new();
        let mut healthy_since = Some(0u64);
        // With `--nemesis-overlap`, several faults may be in effect: the cluster is healthy
        // only once the last of them stopped.
        let mut in_effect = 0usize;
        for event in events {
            if event.f.starts_with("start-") {
                in_effect += 1;
                if let Some(from) = healthy_since.take() {
                    windows.push((from, event.time_ns));
                }
            } else if event.f.starts_with("stop-") {
                in_effect = in_effect.saturating_sub(1);
                if in_effect == 0 {
                    healthy_since = Some(event.time_ns);
                }
            }
        }
        let limit = time_limit.as_nanos() as u64;
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
        }
    }

    /// Only the windows that ended by `time_ns`: what can be judged of a history read only up
    /// to an event at that time (a later window may have seen progress that was not read).
    pub fn until(mut self, time_ns: u64) -> Self {
        let kept = self.windows.partition_point(|(_, to)| *to <= time_ns);
        self.windows.truncate(kept);
        self.progressed.truncate(kept);
        self
    }

    /// Take in one event of the history: a client's `ok` marks the window it falls in.
    pub fn observe(&mut self, op: &Op) {
        if op.kind != OpType::Ok || !matches!(op.process, Process::Client(_)) {
            return;
        }
        let Some(time) = op.time else { return };
        let after = self.windows.partition_point(|(from, _)| *from <= time);
        if let Some(window) = after.checked_sub(1) {
            if time < self.windows[window].1 {
                self.progressed[window] = true;
            }
        }
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
        Liveness {
            valid: stalled_windows_ns.is_empty() && keys_never_read.is_empty(),
            stalled_windows_ns,
            windows_checked: self.windows.len(),
            keys_never_read,
            unsettled: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rafty_checkers::Process;

    use super::*;

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
