//! What a node records through the [`metrics`] facade: nothing leaves the process unless the
//! program installs a recorder (`rafty node --metrics-addr` installs a Prometheus one), and
//! with none installed every call is a no-op.
//!
//! | name | kind | what |
//! | --- | --- | --- |
//! | `rafty_term` | gauge | the node's current term |
//! | `rafty_role` | gauge | 0 follower, 1 pre-candidate, 2 candidate, 3 leader |
//! | `rafty_commit_index` | gauge | its commit index |
//! | `rafty_applied_index` | gauge | the index its state machine has applied |
//! | `rafty_log_entries` | gauge | entries in its log (last index - first index + 1) |
//! | `rafty_snapshot_index` | gauge | the last index its snapshot covers |
//! | `rafty_replication_lag_entries` | gauge | leader only, label `peer`: its last index minus the peer's match index (NaN once it no longer leads) |
//! | `rafty_log_append_seconds` | histogram | [`crate::FileLog`]: one `append` (encode, write, fsync) |
//! | `rafty_log_fsync_seconds` | histogram | [`crate::FileLog`]: the fsync of one `append` |
//! | `rafty_elections_total` | counter | elections it started (became candidate) |
//! | `rafty_leader_changes_total` | counter | times it became leader (summed over the nodes: the cluster's leader changes) |
//! | `rafty_snapshots_taken_total` | counter | snapshots it took |
//! | `rafty_snapshots_installed_total` | counter | snapshots it installed from a leader |
//!
//! Every series carries the label `node` (its id), but the two `rafty_log_*` histograms: a
//! [`crate::FileLog`] does not know its node, and a process (`rafty node`) holds one.
//!
//! Architecture invariant: metrics are written, never read: nothing the node decides depends
//! on them, so the simulation stays deterministic whether or not a recorder is installed.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::core::{Core, Role};
use crate::node::Status;
use crate::node::events::NodeEvent;
use crate::types::NodeId;

/// The gauges of a node's status, registered once when its event loop is built, so that
/// publishing the status after every turn of the loop costs no allocation (the labels) and
/// no registry lookup. A recorder must be installed before the node starts to see them (as
/// `rafty node` does).
pub(super) struct StatusGauges {
    term: metrics::Gauge,
    role: metrics::Gauge,
    commit_index: metrics::Gauge,
    applied_index: metrics::Gauge,
    log_entries: metrics::Gauge,
    snapshot_index: metrics::Gauge,
    /// `rafty_replication_lag_entries` per peer, each registered the first time this node
    /// leads with that peer; and whether they hold values (it led at the last publication).
    lag: RefCell<(BTreeMap<NodeId, metrics::Gauge>, bool)>,
    node: NodeId,
}

impl StatusGauges {
    /// Register node `node`'s gauges with the recorder installed now (if any).
    pub(super) fn new(id: NodeId) -> StatusGauges {
        let node = id.to_string();
        StatusGauges {
            term: metrics::gauge!("rafty_term", "node" => node.clone()),
            role: metrics::gauge!("rafty_role", "node" => node.clone()),
            commit_index: metrics::gauge!("rafty_commit_index", "node" => node.clone()),
            applied_index: metrics::gauge!("rafty_applied_index", "node" => node.clone()),
            log_entries: metrics::gauge!("rafty_log_entries", "node" => node.clone()),
            snapshot_index: metrics::gauge!("rafty_snapshot_index", "node" => node),
            lag: RefCell::new((BTreeMap::new(), false)),
            node: id,
        }
    }

    /// Set the replication lag of every peer from the leader's match indexes; once it no
    /// longer leads, NaN (no value) for each, set once. A peer's gauge is registered (its
    /// labels built) only the first time it is seen.
    pub(super) fn record_lag(&self, core: &Core) {
        let mut lag = self.lag.borrow_mut();
        let (gauges, leading) = &mut *lag;
        if core.role() != Role::Leader {
            if std::mem::take(leading) {
                gauges.values().for_each(|gauge| gauge.set(f64::NAN));
            }
            return;
        }
        *leading = true;
        let last_index = core.last_index();
        for &peer in core.peers() {
            let Some((_, match_index)) = core.replication_indices(peer) else {
                continue;
            };
            let node = self.node;
            let gauge = gauges.entry(peer).or_insert_with(|| {
                metrics::gauge!(
                    "rafty_replication_lag_entries",
                    "node" => node.to_string(),
                    "peer" => peer.to_string()
                )
            });
            gauge.set(last_index.saturating_sub(match_index) as f64);
        }
    }

    /// Set every gauge from `status`.
    pub(super) fn record(&self, status: &Status) {
        let role = match status.role {
            Role::Follower => 0.0,
            Role::PreCandidate => 1.0,
            Role::Candidate => 2.0,
            Role::Leader => 3.0,
        };
        let entries = (status.last_index + 1).saturating_sub(status.first_index.max(1));
        self.term.set(status.term as f64);
        self.role.set(role);
        self.commit_index.set(status.commit_index as f64);
        self.applied_index.set(status.last_applied as f64);
        self.log_entries.set(entries as f64);
        self.snapshot_index.set(status.snapshot_index as f64);
    }
}

/// The counters an event moves. Most events (a commit, an applied entry) move none and cost
/// nothing here: the label is built only for those that do.
pub(super) fn record_event(node: NodeId, event: &NodeEvent) {
    let name = match event {
        NodeEvent::RoleChanged {
            role: Role::Candidate,
            ..
        } => "rafty_elections_total",
        NodeEvent::BecameLeader { .. } => "rafty_leader_changes_total",
        NodeEvent::SnapshotTaken { .. } => "rafty_snapshots_taken_total",
        NodeEvent::SnapshotInstalled { .. } => "rafty_snapshots_installed_total",
        _ => return,
    };
    metrics::counter!(name, "node" => node.to_string()).increment(1);
}
