//! The registry workload in the simulation: the same clients and watchers as the real-process
//! run ([`crate::real::registry::workload`]), dialling the nodes' HTTP APIs over turmoil, all
//! on the run's one client host; after the time limit and the recovery, one more process lists
//! every service and reads every config key, as the real run does.

use std::collections::BTreeMap;
use std::time::Duration;

use rafty::NodeId;
use rafty_registry::client::RegistryClient;
use rand_chacha::ChaCha8Rng;

use super::http_net::TurmoilHttpConnector;
use super::nodes::registry_address;
use crate::real::registry::run::{FINAL_PROCESS, FIRST_WATCHER, WATCHERS_PER_SERVICE};
use crate::real::registry::target::config_result;
use crate::real::registry::workload::{CONFIG_KEYS, Client, Recording, SERVICES, Watcher};
use crate::sim::clock;
use crate::sim::recorder::Recorder;

/// What the registry's clients do in one simulated run.
pub struct RegistryClients {
    /// The nodes, every one serving the API.
    pub nodes: Vec<NodeId>,
    /// Workload client processes (watchers come on top: two per service).
    pub clients: u64,
    /// Each process's generator, by process number.
    pub rngs: BTreeMap<u64, ChaCha8Rng>,
    /// No client operation starts after this (simulated time).
    pub time_limit: Duration,
    /// The final lists start here.
    pub final_lists_from: Duration,
    /// No watcher poll starts after this.
    pub watch_until: Duration,
    /// Where every process records.
    pub recorder: Recorder,
}

/// One attempt of a client's request may take this long.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_millis(500);
/// One attempt of a watcher's poll (a long poll of 500 ms) may take this long.
const WATCH_REQUEST_TIMEOUT: Duration = Duration::from_millis(1000);

impl RegistryClients {
    fn api(
        &self,
        first: NodeId,
        request_timeout: Duration,
    ) -> RegistryClient<TurmoilHttpConnector> {
        let nodes = self
            .nodes
            .iter()
            .map(|&id| (id, registry_address(id)))
            .collect();
        let mut api = RegistryClient::with_connector(TurmoilHttpConnector, nodes, first);
        api.request_timeout = request_timeout;
        api
    }

    fn first_node(&self, process: u64) -> NodeId {
        self.nodes[process as usize % self.nodes.len()]
    }

    fn recording(&self, process: u64) -> Recording {
        Recording {
            recorder: self.recorder.clone(),
            process,
        }
    }

    /// Run every client and watcher to its end, then the final lists (a turmoil client's body).
    pub async fn run(mut self) -> turmoil::Result {
        let mut tasks = Vec::new();
        for process in 0..self.clients {
            let client = Client {
                recording: self.recording(process),
                api: self.api(self.first_node(process), CLIENT_REQUEST_TIMEOUT),
                rng: self.rngs.remove(&process).expect("a generator per client"),
                until: self.time_limit,
            };
            tasks.push(tokio::task::spawn_local(client.run()));
        }
        let mut process = FIRST_WATCHER;
        for service in SERVICES {
            for _ in 0..WATCHERS_PER_SERVICE {
                let watcher = Watcher {
                    recording: self.recording(process),
                    api: self.api(self.first_node(process), WATCH_REQUEST_TIMEOUT),
                    service,
                    until: self.watch_until,
                };
                tasks.push(tokio::task::spawn_local(watcher.run()));
                process += 1;
            }
        }
        tokio::time::sleep(self.final_lists_from.saturating_sub(clock::now())).await;
        self.final_lists().await;
        for task in tasks {
            task.await?;
        }
        Ok(())
    }

    /// After healing: list every service and read every config key once more.
    async fn final_lists(&self) {
        let mut client = Client {
            recording: self.recording(FINAL_PROCESS),
            api: self.api(self.first_node(0), WATCH_REQUEST_TIMEOUT),
            rng: rand::SeedableRng::seed_from_u64(0),
            until: Duration::ZERO,
        };
        for service in SERVICES {
            client.list_once(service).await;
        }
        for key in CONFIG_KEYS {
            client
                .recording
                .invoke("read", key, rafty_checkers::Value::Nil);
            let result = config_result(client.api.config_get(key).await);
            let node = Some(format!("n{}", client.api.current()));
            client.recording.complete("read", key, result, node);
        }
    }
}
