//! The system under test of a real-process run, behind one small trait: rafty's own nodes
//! ([`super::cluster::RealCluster`]) and etcd ([`super::etcd::EtcdCluster`]) implement it, and
//! a user points the harness at another Raft system by writing one more implementation.
//!
//! An implementation starts its members (its own constructor: on 127.0.0.1, its data in a
//! directory under the run's, every member-to-member link through a [`FaultProxy`]), and then
//! answers what the nemesis and the clients need: kill and restart a member, pause and resume
//! it, the proxy for network faults, a workload client, and a graceful stop with each member's
//! log. Leader discovery is the client's business (rafty's follows "not the leader" hints;
//! etcd forwards to its leader itself). The faults themselves ([`start_fault`],
//! [`stop_fault`], [`heal`]) are written once, here, over the trait.
//!
//! Architecture invariant: dropping an implementation kills every process it started and
//! removes its data directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rafty::{NodeId, ReadConsistency};
use rafty_workloads::{ClientOp, OpResult};

use super::faults::Fault;
use super::proxy::{FaultProxy, Flow};
use crate::sim::client::KvApi;

/// How long a cluster may take to elect a leader and commit a first write.
const READY_WAIT: Duration = Duration::from_secs(30);

/// A Raft system the harness can run, fault and drive: a cluster of member processes.
#[async_trait(?Send)]
pub trait RealTarget {
    /// Its name in reports and results.json (`rafty`, `etcd`).
    fn name(&self) -> &'static str;

    /// The members' ids (1, 2, 3...).
    fn ids(&self) -> Vec<NodeId>;

    /// The process ids of the members now running.
    fn pids(&self) -> Vec<u32>;

    /// The directory holding every member's data (removed when the target is dropped).
    fn data_dir(&self) -> &Path;

    /// The proxy on every member-to-member link.
    fn proxy(&self) -> &FaultProxy;

    /// A workload client: reads made as `reads` says until `reads_until` (run time), then
    /// linearizable (the final reads); writes through client sessions (§6.3) when `sessions`
    /// and the target has them. Operations end ok, fail (certainly no effect) or info.
    fn client(
        &self,
        reads: ReadConsistency,
        reads_until: Duration,
        sessions: bool,
    ) -> Box<dyn KvApi>;

    /// SIGKILL member `node` (a `kill -9`: whatever it had not written is lost).
    async fn kill(&mut self, node: NodeId) -> Result<(), String>;

    /// Start member `node` again from its data directory, on its old ports (nothing if it
    /// runs).
    async fn restart(&mut self, node: NodeId) -> Result<(), String>;

    /// Cut the power of members `nodes` at the same moment: each loses every write it had
    /// not synced and dies ([`restart`](Self::restart) brings it back). The default: an error,
    /// for a target that cannot (etcd's members keep their unsynced writes in the kernel).
    async fn cut_power(&mut self, nodes: &[NodeId]) -> Result<(), String> {
        Err(format!(
            "{} cannot cut a member's power (nodes {nodes:?})",
            self.name()
        ))
    }

    /// SIGSTOP member `node`.
    fn pause(&mut self, node: NodeId);

    /// SIGCONT member `node`.
    fn resume(&mut self, node: NodeId);

    /// Stop every member gracefully; each member's log.
    async fn stop(&mut self) -> BTreeMap<NodeId, Vec<String>>;

    /// What a run against it cannot check, in words (results.json's `real.not_checked`).
    fn not_checked(&self) -> Vec<String>;
}

/// Let a boxed client stand wherever a client does.
#[async_trait(?Send)]
impl KvApi for Box<dyn KvApi> {
    async fn execute(&mut self, op: &ClientOp) -> (OpResult, Option<String>) {
        self.as_mut().execute(op).await
    }
}

/// Write until `target` answers: a leader is elected and commits.
pub async fn wait_until_ready(target: &dyn RealTarget) -> Result<(), String> {
    let mut client = target.client(ReadConsistency::Linearizable, Duration::MAX, false);
    let ready = ClientOp::Write {
        key: "rafty-real-ready".to_owned(),
        value: 1,
    };
    let deadline = Instant::now() + READY_WAIT;
    loop {
        match client.execute(&ready).await.0 {
            OpResult::Ok(_) => return Ok(()),
            OpResult::Fail(error) | OpResult::Info(error) if Instant::now() >= deadline => {
                return Err(format!(
                    "the {} cluster committed no write within {READY_WAIT:?}: {error}",
                    target.name()
                ));
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Start `fault` on `target`.
pub async fn start_fault(target: &mut dyn RealTarget, fault: &Fault) -> Result<(), String> {
    match fault {
        Fault::Kill { node } => target.kill(*node).await?,
        Fault::Power { nodes } => target.cut_power(nodes).await?,
        Fault::Pause { node } => target.pause(*node),
        Fault::Partition { cut, .. } => {
            for &(from, to) in cut {
                target.proxy().set_flow(from, to, Flow::Cut);
            }
        }
        Fault::Latency { node, latency } => {
            for (from, to) in links_of(target, *node) {
                target.proxy().set_latency(from, to, *latency);
            }
        }
        Fault::Clog { node } => {
            for (from, to) in links_of(target, *node) {
                target.proxy().set_flow(from, to, Flow::Clogged);
            }
        }
    }
    Ok(())
}

/// Undo `fault` on `target`.
pub async fn stop_fault(target: &mut dyn RealTarget, fault: &Fault) -> Result<(), String> {
    match fault {
        Fault::Kill { node } => target.restart(*node).await?,
        Fault::Power { nodes } => {
            for &node in nodes {
                target.restart(node).await?;
            }
        }
        Fault::Pause { node } => target.resume(*node),
        Fault::Partition { cut, .. } => {
            for &(from, to) in cut {
                target.proxy().set_flow(from, to, Flow::Open);
            }
        }
        Fault::Latency { node, .. } => {
            for (from, to) in links_of(target, *node) {
                target.proxy().set_latency(from, to, Duration::ZERO);
            }
        }
        Fault::Clog { node } => {
            for (from, to) in links_of(target, *node) {
                target.proxy().set_flow(from, to, Flow::Open);
            }
        }
    }
    Ok(())
}

/// Every link open, every member running and resumed.
pub async fn heal(target: &mut dyn RealTarget) -> Result<(), String> {
    target.proxy().heal_all();
    for node in target.ids() {
        target.resume(node);
        target.restart(node).await?;
    }
    Ok(())
}

/// Both directions between `node` and every other member.
fn links_of(target: &dyn RealTarget, node: NodeId) -> Vec<(NodeId, NodeId)> {
    target
        .ids()
        .into_iter()
        .filter(|&other| other != node)
        .flat_map(|other| [(node, other), (other, node)])
        .collect()
}
