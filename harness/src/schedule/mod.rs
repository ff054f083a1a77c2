//! Schedules: a run's inputs as data, replayed exactly, and the shrinker's material.
//!
//! A [`Schedule`] holds everything a run did besides what the nodes and the network drew from
//! the seed: the configuration (settings as drawn), the planted bug if any, every fault as the
//! nemesis applied it (start, timed actions, stop) and every workload operation each client
//! invoked (time, operation, pause after). [`run_schedule`] replays it: the faults from the
//! list ([`crate::nemesis::Listed`]), the operations from the lists
//! ([`crate::sim::client::ListedOps`]), the seed for the rest, so an unedited schedule gives
//! the run's history byte for byte. Every run that is not valid writes its `schedule.json`
//! beside `results.json`; `rafty replay` runs one and `rafty shrink` ([`crate::shrink`])
//! minimizes one.
//!
//! The file is JSON, `"version": 1`; the format is documented in `docs/schedules.md`. A bad
//! file is refused with an error naming the field (`faults[2].actions[0].action: ...`).

pub mod config;
mod load;
mod run;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::nemesis::FaultRecord;
use crate::run::config::TestConfig;
use crate::run::runner::RunOutput;
use crate::sim::client::OpRecord;

pub(crate) use load::nodes_of;
pub use load::{ScheduleError, load, parse};
pub use run::{plugins_for, run_schedule};

/// The schedule format this rafty writes and reads.
pub const VERSION: u32 = 1;

/// The file name of a run's schedule in its store folder.
pub const FILE_NAME: &str = "schedule.json";

/// A run's inputs, replayable.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    /// The seed of the nodes' and the network's randomness (the run's seed).
    pub seed: u64,
    /// The catalogue entry planted in the system under test, by name, if any.
    pub plant: Option<String>,
    /// Whether the reference core's own assertions were on (the catalogue runs without).
    pub core_assertions: bool,
    /// The configuration, settings as drawn.
    pub config: TestConfig,
    /// Every fault, as applied.
    pub faults: Vec<FaultRecord>,
    /// Each client's workload operations (by client index; a client absent runs none).
    pub clients: BTreeMap<u64, Vec<OpRecord>>,
    /// Whether each fault is aimed at the leader of the replay rather than at the node its
    /// record names (`follow_leader` in the file, written only when true; see
    /// [`crate::nemesis::Listed::following_leader`]). The shrinker's candidates replay so.
    pub follow_leader: bool,
}

/// How big a schedule is: what shrinking makes smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Size {
    /// Faults.
    pub faults: usize,
    /// Workload operations, all clients.
    pub operations: usize,
    /// Clients with at least one operation.
    pub clients: usize,
    /// The time limit, in simulated milliseconds.
    pub time_limit_ms: u64,
    /// Nodes.
    pub nodes: usize,
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} faults, {} operations ({} clients), {:.1}s simulated, {} nodes",
            self.faults,
            self.operations,
            self.clients,
            self.time_limit_ms as f64 / 1000.0,
            self.nodes
        )
    }
}

impl Schedule {
    /// The schedule of a finished run of `seed` (its inputs as the run applied them).
    pub fn of_run(output: &RunOutput, seed: u64, plant: Option<String>, assertions: bool) -> Self {
        // The settings as drawn are the schedule's: a replay never draws them again.
        let config = TestConfig {
            draw_settings: false,
            ..output.config.clone()
        };
        Schedule {
            seed,
            plant,
            core_assertions: assertions,
            config,
            faults: output.faults.clone(),
            clients: output.client_ops.clone(),
            follow_leader: false,
        }
    }

    /// Its size.
    pub fn size(&self) -> Size {
        Size {
            faults: self.faults.len(),
            operations: self.clients.values().map(Vec::len).sum(),
            clients: self.clients.values().filter(|ops| !ops.is_empty()).count(),
            time_limit_ms: self.config.workload.time_limit.as_millis() as u64,
            nodes: self.config.nodes,
        }
    }

    /// The schedule as its JSON file's text.
    pub fn to_json(&self) -> String {
        let clients: Vec<ClientFile<'_>> = self
            .clients
            .iter()
            .map(|(client, ops)| ClientFile {
                client: *client,
                ops,
            })
            .collect();
        let file = ScheduleFile {
            version: VERSION,
            seed: self.seed,
            plant: self.plant.as_deref(),
            core_assertions: self.core_assertions,
            config: config::ScheduleConfig::from(&self.config),
            faults: &self.faults,
            clients,
            follow_leader: self.follow_leader,
        };
        let mut text = serde_json::to_string_pretty(&file).expect("a schedule serializes");
        text.push('\n');
        text
    }

    /// Write it to `path`.
    pub fn write(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.to_json())
    }
}

/// The file's top level, as written.
#[derive(Serialize)]
struct ScheduleFile<'s> {
    version: u32,
    seed: u64,
    plant: Option<&'s str>,
    core_assertions: bool,
    config: config::ScheduleConfig,
    faults: &'s [FaultRecord],
    clients: Vec<ClientFile<'s>>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    follow_leader: bool,
}

/// One client's operations, as written.
#[derive(Serialize)]
struct ClientFile<'s> {
    client: u64,
    ops: &'s [OpRecord],
}
