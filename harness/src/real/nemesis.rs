//! The nemesis of a real-process run: one fault at a time, drawn from the seed (kind, node,
//! shape, length 0.5 to 1.5 intervals, then a healthy gap as long), applied to the processes
//! and the proxy at wall-clock times, each recorded in the history (`start-`/`stop-` events of
//! the `nemesis` process, as in a simulated run) and in [`AppliedFault`]s; everything healed
//! at the time limit.

use std::time::Duration;

use rafty::NodeId;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::faults::Fault;
use super::record::{AppliedFault, unix_ms};
use super::target::{self, RealTarget};
use crate::nemesis::NemesisEvent;
use crate::sim::clock;
use crate::sim::recorder::Recorder;

/// When and what the nemesis does.
pub struct RealNemesis {
    /// The kinds it draws from (empty: none).
    pub kinds: Vec<&'static str>,
    /// The typical fault length and gap.
    pub interval: Duration,
    /// The first fault starts no earlier.
    pub start_after: Duration,
    /// Nothing starts after this, and everything is healed here.
    pub time_limit: Duration,
    /// Draws every choice.
    pub rng: ChaCha8Rng,
}

/// What the nemesis did.
#[derive(Default)]
pub struct NemesisOutcome {
    /// Every fault as applied.
    pub applied: Vec<AppliedFault>,
    /// The history's nemesis events.
    pub events: Vec<NemesisEvent>,
    /// One line per action, timed.
    pub log: Vec<String>,
    /// The first failure to apply or undo a fault (the run is then unknown).
    pub error: Option<String>,
}

impl RealNemesis {
    /// Run until the time limit, then heal everything.
    pub async fn run(
        mut self,
        cluster: &mut dyn RealTarget,
        recorder: &Recorder,
    ) -> NemesisOutcome {
        let mut outcome = NemesisOutcome::default();
        let ids: Vec<NodeId> = cluster.ids();
        sleep_until(self.start_after).await;
        while !self.kinds.is_empty() && clock::now() < self.time_limit {
            let kind = self.kinds[self.rng.random_range(0..self.kinds.len())];
            let fault = Fault::draw(kind, &ids, &mut self.rng);
            let length = self.interval.mul_f64(self.rng.random_range(0.5..1.5));
            let gap = self.interval.mul_f64(self.rng.random_range(0.5..1.5));
            let started = target::start_fault(cluster, &fault).await;
            let mut applied = AppliedFault {
                kind: kind.to_owned(),
                target: fault.to_string(),
                start_ms: clock::now().as_millis() as u64,
                start_unix_ms: unix_ms(),
                stop_ms: None,
                stop_unix_ms: None,
                error: started.err(),
            };
            outcome.note(recorder, &format!("start-{kind}"), &fault.to_string());
            let until = (clock::now() + length).min(self.time_limit);
            sleep_until(until).await;
            if let Err(error) = target::stop_fault(cluster, &fault).await {
                applied.error.get_or_insert(error);
            }
            applied.stop_ms = Some(clock::now().as_millis() as u64);
            applied.stop_unix_ms = Some(unix_ms());
            outcome.note(recorder, &format!("stop-{kind}"), &fault.to_string());
            if let Some(error) = &applied.error {
                outcome
                    .error
                    .get_or_insert_with(|| format!("{kind} {fault}: {error}"));
            }
            outcome.applied.push(applied);
            sleep_until((clock::now() + gap).min(self.time_limit)).await;
        }
        sleep_until(self.time_limit).await;
        if let Err(error) = target::heal(cluster).await {
            outcome
                .error
                .get_or_insert_with(|| format!("healing at the time limit: {error}"));
        }
        outcome.log.push(format!(
            "{:>10.3}s heal everything (time limit)",
            clock::now().as_secs_f64()
        ));
        outcome
    }
}

impl NemesisOutcome {
    fn note(&mut self, recorder: &Recorder, f: &str, value: &str) {
        let event = NemesisEvent {
            time_ns: clock::now_ns(),
            f: f.to_owned(),
            value: value.to_owned(),
        };
        recorder.record_nemesis(&event);
        self.log
            .push(format!("{:>10.3}s {f} {value}", clock::now().as_secs_f64()));
        self.events.push(event);
    }
}

async fn sleep_until(at: Duration) {
    if let Some(wait) = at.checked_sub(clock::now()) {
        tokio::time::sleep(wait).await;
    }
}
