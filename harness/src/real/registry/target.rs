//! The registry as a [`RealTarget`]: rafty's node processes serving the registry, with every
//! fault delegated to [`RealCluster`]; its workload client for the generic real runner
//! (`rafty test --real --target registry`) reads and writes the registry's config keys, so
//! the register and kv workloads check its config store too.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use hyper_util::client::legacy::connect::Connect;
use rafty::{NodeId, ReadConsistency};
use rafty_checkers::Value;
use rafty_registry::Response;
use rafty_registry::client::{Outcome, RegistryClient};

use super::https_client::HttpsConnector;
use rafty_workloads::{ClientOp, OpResult};

use crate::real::cluster::{NodeModes, RealCluster, TLS_CLIENT};
use crate::real::proxy::FaultProxy;
use crate::real::target::RealTarget;
use crate::sim::client::KvApi;

/// A cluster of `rafty node --registry` processes.
pub struct RegistryTarget {
    cluster: RealCluster,
}

impl RegistryTarget {
    /// Start nodes `ids` with `settings` and `modes`, their data under `data_root`.
    pub async fn start(
        ids: &[NodeId],
        data_root: &Path,
        settings: &rafty::Config,
        modes: NodeModes,
    ) -> Result<RegistryTarget, String> {
        let cluster = RealCluster::start_registry(ids, data_root, settings, modes).await?;
        Ok(RegistryTarget { cluster })
    }

    /// A client of every node's HTTPS API, presenting the cluster's `bench` client
    /// certificate (a cluster started with TLS), otherwise as [`Self::registry_client`].
    pub fn https_client(
        &self,
        first: NodeId,
        request_timeout: Duration,
    ) -> Result<RegistryClient<HttpsConnector>, String> {
        let certs = self.cluster.certs_dir();
        let identity = rafty::tcp::tls::TlsIdentity::load(
            &certs.join(format!("{TLS_CLIENT}.pem")),
            &certs.join(format!("{TLS_CLIENT}.key")),
            &certs.join("ca.pem"),
        )
        .map_err(|error| format!("the {TLS_CLIENT} identity: {error}"))?;
        let config = identity
            .client_config()
            .map_err(|error| format!("the {TLS_CLIENT} identity: {error}"))?;
        let addresses = self.cluster.registry_addresses();
        let mut client = RegistryClient::pooled(HttpsConnector::new(config), addresses, first);
        client.request_timeout = request_timeout;
        Ok(client)
    }

    /// A client of every node's HTTP API, starting at node `first` (straight to the nodes:
    /// clients are never partitioned), one attempt taking at most `request_timeout`.
    pub fn registry_client(&self, first: NodeId, request_timeout: Duration) -> RegistryClient {
        let mut client = RegistryClient::new(self.cluster.registry_addresses(), first);
        client.request_timeout = request_timeout;
        client
    }
}

#[async_trait(?Send)]
impl RealTarget for RegistryTarget {
    fn name(&self) -> &'static str {
        "registry"
    }
    fn ids(&self) -> Vec<NodeId> {
        self.cluster.ids()
    }
    fn pids(&self) -> Vec<u32> {
        self.cluster.pids()
    }
    fn data_dir(&self) -> &Path {
        self.cluster.data_dir()
    }
    fn proxy(&self) -> &FaultProxy {
        self.cluster.proxy()
    }
    /// A config-key client (over HTTPS when the nodes run TLS); reads are always
    /// linearizable (ReadIndex), sessions unused.
    fn client(&self, _: ReadConsistency, _: Duration, _: bool) -> Box<dyn KvApi> {
        let first = self.ids().first().copied().unwrap_or(1);
        let timeout = Duration::from_millis(500);
        if self.cluster.tls() {
            let client = self
                .https_client(first, timeout)
                .expect("the certificates the cluster made at its start load");
            return Box::new(ConfigApi(client));
        }
        Box::new(ConfigApi(self.registry_client(first, timeout)))
    }
    async fn kill(&mut self, node: NodeId) -> Result<(), String> {
        self.cluster.kill(node).await
    }
    async fn restart(&mut self, node: NodeId) -> Result<(), String> {
        self.cluster.restart(node).await
    }
    async fn cut_power(&mut self, nodes: &[NodeId]) -> Result<(), String> {
        self.cluster.cut_power(nodes).await
    }
    fn pause(&mut self, node: NodeId) {
        self.cluster.pause(node);
    }
    fn resume(&mut self, node: NodeId) {
        self.cluster.resume(node);
    }
    async fn stop(&mut self) -> BTreeMap<NodeId, Vec<String>> {
        self.cluster.stop().await
    }
    fn not_checked(&self) -> Vec<String> {
        self.cluster.not_checked()
    }
}

/// The registry's config keys as integer registers.
pub struct ConfigApi<C = hyper_util::client::legacy::connect::HttpConnector>(pub RegistryClient<C>);

#[async_trait(?Send)]
impl<C: Connect + Clone + Send + Sync + 'static> KvApi for ConfigApi<C> {
    async fn execute(&mut self, op: &ClientOp) -> (OpResult, Option<String>) {
        let client = &mut self.0;
        let outcome = match op {
            ClientOp::Read { key } => client.config_get(key).await,
            ClientOp::Write { key, value } => client.config_put(key, &value.to_string()).await,
            ClientOp::Cas { key, expected, new } => {
                let expected = expected.to_string();
                client
                    .config_cas(key, Some(&expected), &new.to_string())
                    .await
            }
            ClientOp::Append { .. } | ClientOp::Get { .. } => {
                let why = "the registry's config store has no append".to_owned();
                return (OpResult::Fail(why), None);
            }
            ClientOp::Txn { .. } => {
                let why = "the registry's config store has no transactions".to_owned();
                return (OpResult::Fail(why), None);
            }
        };
        (
            config_result(outcome),
            Some(format!("n{}", client.current())),
        )
    }
}

/// How a config operation's outcome is recorded (cas-register conventions: a cas that did
/// not hold is `fail`, a read of an absent key `nil`).
pub fn config_result(outcome: Outcome) -> OpResult {
    match outcome {
        Outcome::Ok(Response::Value { value: None, .. }) => OpResult::Ok(Value::Nil),
        Outcome::Ok(Response::Value {
            value: Some(text), ..
        }) => match text.parse() {
            Ok(number) => OpResult::Ok(Value::Int(number)),
            Err(_) => OpResult::Ok(Value::String(text)),
        },
        Outcome::Ok(Response::ConfigWritten { .. }) => OpResult::Ok(Value::Nil),
        Outcome::Ok(Response::CasFailed { current, .. }) => {
            OpResult::Fail(format!("cas did not hold: the value is {current:?}"))
        }
        Outcome::Ok(other) => OpResult::Fail(format!("unexpected answer {other:?}")),
        Outcome::Fail(why) => OpResult::Fail(why),
        Outcome::Info(why) => OpResult::Info(why),
    }
}
