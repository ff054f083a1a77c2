//! The nemesis of an in-process run: the real-process run's faults ([`Fault`], drawn from the
//! seed: kind, node, shape, length 0.5 to 1.5 intervals, then a healthy gap as long), one at
//! a time, applied to an [`InProcessCluster`]: `kill` and `pause` to the nodes, `partition`,
//! `latency` and `clog` to the [`Links`](super::links::Links) around the user's `Peer`s. Each
//! is recorded in the history (`start-`/`stop-` events of the `nemesis` process) and as an
//! [`AppliedFault`]; everything is healed at the time limit.

use std::time::Duration;

use rafty::NodeId;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::nemesis::NemesisEvent;
use crate::real::faults::Fault;
use crate::real::nemesis::NemesisOutcome;
use crate::real::proxy::Flow;
use crate::real::record::{AppliedFault, unix_ms};
use crate::sim::clock;
use crate::sim::recorder::Recorder;

use super::cluster::InProcessCluster;

/// When and what the nemesis does.
pub struct InProcessNemesis {
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

impl InProcessNemesis {
    /// Run until the time limit, then heal everything.
    pub async fn run(
        mut self,
        cluster: &mut InProcessCluster<'_>,
        recorder: &Recorder,
    ) -> NemesisOutcome {
        let mut outcome = NemesisOutcome::default();
        let ids = cluster.ids().to_vec();
        sleep_until(self.start_after).await;
        while !self.kinds.is_empty() && clock::now() < self.time_limit {
            let kind = self.kinds[self.rng.random_range(0..self.kinds.len())];
            let fault = Fault::draw(kind, &ids, &mut self.rng);
            let length = self.interval.mul_f64(self.rng.random_range(0.5..1.5));
            let gap = self.interval.mul_f64(self.rng.random_range(0.5..1.5));
            let started = start(cluster, &fault).await;
            let mut applied = AppliedFault {
                kind: kind.to_owned(),
                target: fault.to_string(),
                start_ms: clock::now().as_millis() as u64,
                start_unix_ms: unix_ms(),
                stop_ms: None,
                stop_unix_ms: None,
                error: started.err(),
            };
            note(&mut outcome, recorder, &format!("start-{kind}"), &fault);
            sleep_until((clock::now() + length).min(self.time_limit)).await;
            if let Err(error) = stop(cluster, &fault).await {
                applied.error.get_or_insert(error);
            }
            applied.stop_ms = Some(clock::now().as_millis() as u64);
            applied.stop_unix_ms = Some(unix_ms());
            note(&mut outcome, recorder, &format!("stop-{kind}"), &fault);
            if let Some(error) = &applied.error {
                outcome
                    .error
                    .get_or_insert_with(|| format!("{kind} {fault}: {error}"));
            }
            outcome.applied.push(applied);
            sleep_until((clock::now() + gap).min(self.time_limit)).await;
        }
        sleep_until(self.time_limit).await;
        if let Err(error) = heal(cluster).await {
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

fn note(outcome: &mut NemesisOutcome, recorder: &Recorder, f: &str, fault: &Fault) {
    let event = NemesisEvent {
        time_ns: clock::now_ns(),
        f: f.to_owned(),
        value: fault.to_string(),
    };
    recorder.record_nemesis(&event);
    outcome
        .log
        .push(format!("{:>10.3}s {f} {fault}", clock::now().as_secs_f64()));
    outcome.events.push(event);
}

/// Both directions between `node` and every other node of `ids`.
fn links_of(ids: &[NodeId], node: NodeId) -> Vec<(NodeId, NodeId)> {
    ids.iter()
        .filter(|&&other| other != node)
        .flat_map(|&other| [(node, other), (other, node)])
        .collect()
}

async fn start(cluster: &mut InProcessCluster<'_>, fault: &Fault) -> Result<(), String> {
    let ids = cluster.ids().to_vec();
    match fault {
        Fault::Kill { node } => cluster.kill(*node).await,
        Fault::Power { .. } => {
            return Err("power needs real processes (`rafty node --lazy-fs`)".to_owned());
        }
        Fault::Pause { node } => cluster.pauses.pause(*node),
        Fault::Partition { cut, .. } => {
            for &(from, to) in cut {
                cluster.links.set_flow(from, to, Flow::Cut);
            }
        }
        Fault::Latency { node, latency } => {
            for (from, to) in links_of(&ids, *node) {
                cluster.links.set_latency(from, to, *latency);
            }
        }
        Fault::Clog { node } => {
            for (from, to) in links_of(&ids, *node) {
                cluster.links.set_flow(from, to, Flow::Clogged);
            }
        }
    }
    Ok(())
}

async fn stop(cluster: &mut InProcessCluster<'_>, fault: &Fault) -> Result<(), String> {
    match fault {
        Fault::Kill { node } => cluster.restart(*node).await?,
        Fault::Pause { node } => cluster.pauses.resume(*node),
        Fault::Power { .. } => {}
        Fault::Partition { .. } | Fault::Latency { .. } | Fault::Clog { .. } => {
            cluster.links.heal_all();
        }
    }
    Ok(())
}

/// Every direction open, every node resumed and running.
pub async fn heal(cluster: &mut InProcessCluster<'_>) -> Result<(), String> {
    cluster.links.heal_all();
    for id in cluster.ids().to_vec() {
        cluster.pauses.resume(id);
        cluster.restart(id).await?;
    }
    Ok(())
}

async fn sleep_until(at: Duration) {
    if let Some(wait) = at.checked_sub(clock::now()) {
        tokio::time::sleep(wait).await;
    }
}
