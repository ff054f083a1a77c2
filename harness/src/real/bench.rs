//! `rafty bench --mode real --target rafty|etcd|both|registry|rafty+registry|registry+tls`:
//! write and linearizable-read throughput and client latency of a 3-member cluster on 127.0.0.1,
//! through the chaos test's own [`RealTarget`]s and their workload clients (rafty: `KvClient`
//! over its TCP protocol, reads by ReadIndex; etcd: HTTP/1.1 to its JSON gateway,
//! linearizable ranges; the registry: HTTP/1.1 JSON config puts and gets, gets by ReadIndex;
//! `registry-tls`: the same over HTTPS with a client certificate, the nodes talking mutual
//! TLS, certificates made at the cluster's start), with no faults.
//! With `both` the two systems alternate at every client count and round, so they share the
//! machine's state of the moment. Latency is the client's, submit to answer; each client
//! writes (or reads) its own key in closed loop.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rafty::ReadConsistency;
use rafty_workloads::{ClientOp, OpResult};

use super::cluster::{NodeModes, RealCluster};
use super::etcd::EtcdCluster;
use super::registry::RegistryTarget;
use super::runner::real_settings;
use super::target::{self, RealTarget};

/// What the comparison runs.
#[derive(Clone, Debug)]
pub struct CompareOptions {
    /// `rafty`, `etcd`, or both alternating.
    pub targets: Vec<&'static str>,
    /// Closed-loop client counts.
    pub clients: Vec<usize>,
    /// Before each measurement.
    pub warmup: Duration,
    /// Each measurement.
    pub duration: Duration,
    /// Rounds per client count and target, each on a fresh cluster.
    pub rounds: usize,
    /// Where the members' data directories go.
    pub data_dir: PathBuf,
}

/// One measurement.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// `rafty`, `etcd` or `registry`.
    pub target: &'static str,
    /// `write` or `read`.
    pub op: &'static str,
    /// Concurrent clients.
    pub clients: usize,
    /// Round, from 1.
    pub round: usize,
    /// Successful operations per second.
    pub ops_per_sec: f64,
    /// Failed or indeterminate operations within the window.
    pub errors: u64,
    /// Median client latency, milliseconds.
    pub latency_ms_p50: f64,
    /// 99th percentile client latency, milliseconds.
    pub latency_ms_p99: f64,
}

/// Run every measurement `options` asks for, printing each as it is made.
pub fn run(options: &CompareOptions) -> Result<Vec<Measurement>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot build a runtime: {error}"))?;
    let local = tokio::task::LocalSet::new();
    let mut all = Vec::new();
    for &clients in &options.clients {
        for round in 1..=options.rounds {
            for &name in &options.targets {
                let measured = runtime
                    .block_on(local.run_until(measure_target(name, clients, round, options)))?;
                for measurement in measured {
                    eprintln!("{}", row(&measurement));
                    all.push(measurement);
                }
            }
        }
    }
    Ok(all)
}

/// A table row.
pub fn row(m: &Measurement) -> String {
    format!(
        "| {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {} |",
        m.target,
        m.op,
        m.clients,
        m.round,
        m.ops_per_sec,
        m.latency_ms_p50,
        m.latency_ms_p99,
        m.errors
    )
}

/// The table's head.
pub const TABLE_HEAD: &str = "| target | op | clients | round | ops/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|---|";

async fn measure_target(
    name: &'static str,
    clients: usize,
    round: usize,
    options: &CompareOptions,
) -> Result<Vec<Measurement>, String> {
    let ids = [1, 2, 3];
    let mut cluster: Box<dyn RealTarget> = match name {
        "etcd" => Box::new(EtcdCluster::start(&ids, &options.data_dir, false).await?),
        "registry" | "registry-tls" => Box::new(
            RegistryTarget::start(
                &ids,
                &options.data_dir,
                &real_settings(&rafty::Config::default()),
                NodeModes {
                    lazy_fs: false,
                    tls: name == "registry-tls",
                },
            )
            .await?,
        ),
        _ => Box::new(
            RealCluster::start(
                &ids,
                &options.data_dir,
                &real_settings(&rafty::Config::default()),
                NodeModes::default(),
            )
            .await?,
        ),
    };
    target::wait_until_ready(cluster.as_ref()).await?;
    let mut measured = Vec::new();
    for op in ["write", "read"] {
        let outcome = closed_loop(cluster.as_ref(), op, clients, options).await;
        measured.push(Measurement {
            target: name,
            op,
            clients,
            round,
            ops_per_sec: outcome.0.len() as f64 / options.duration.as_secs_f64(),
            errors: outcome.1,
            latency_ms_p50: quantile_ms(&outcome.0, 0.50),
            latency_ms_p99: quantile_ms(&outcome.0, 0.99),
        });
    }
    cluster.stop().await;
    Ok(measured)
}

fn quantile_ms(latencies_ns: &[u64], quantile: f64) -> f64 {
    // 1 ns to 60 s at 3 significant figures (slower answers count as 60 s).
    let mut histogram =
        Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds");
    for &latency in latencies_ns {
        histogram.saturating_record(latency);
    }
    histogram.value_at_quantile(quantile) as f64 / 1e6
}

/// `clients` closed-loop clients doing `op` on their own keys: the latencies (ns) of the
/// successes and the count of failures within the window after the warm-up.
async fn closed_loop(
    cluster: &dyn RealTarget,
    op: &'static str,
    clients: usize,
    options: &CompareOptions,
) -> (Vec<u64>, u64) {
    let from = Instant::now() + options.warmup;
    let until = from + options.duration;
    let latencies = Rc::new(RefCell::new(Vec::new()));
    let errors = Rc::new(RefCell::new(0u64));
    let mut tasks = Vec::new();
    for client in 0..clients {
        let mut api = cluster.client(ReadConsistency::Linearizable, Duration::MAX, false);
        let (latencies, errors) = (latencies.clone(), errors.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let key = format!("bench-{client}");
            let mut value = 0;
            loop {
                let start = Instant::now();
                if start >= until {
                    return;
                }
                value += 1;
                let operation = match op {
                    "write" => ClientOp::Write {
                        key: key.clone(),
                        value,
                    },
                    _ => ClientOp::Read { key: key.clone() },
                };
                let (result, _) = api.execute(&operation).await;
                let finish = Instant::now();
                if start < from || finish > until {
                    continue;
                }
                match result {
                    OpResult::Ok(_) => latencies
                        .borrow_mut()
                        .push(finish.duration_since(start).as_nanos() as u64),
                    OpResult::Fail(_) | OpResult::Info(_) => *errors.borrow_mut() += 1,
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let latencies = latencies.borrow().clone();
    let errors = *errors.borrow();
    (latencies, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_in_milliseconds_of_the_recorded_latencies() {
        let latencies: Vec<u64> = (1..=100).map(|ms| ms * 1_000_000).collect();
        assert!((quantile_ms(&latencies, 0.50) - 50.0).abs() < 0.1);
        assert!((quantile_ms(&latencies, 0.99) - 99.0).abs() < 0.1);
    }
}
