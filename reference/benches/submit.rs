//! A client command's way through a running node, per command: `Node::submit` (a
//! `tokio::time::timeout` per command) against a `Submitter` (one timer per client, its
//! deadline moved forward for each command), by 1 and 64 closed-loop clients.
//!
//! The node is a one-node cluster (its own majority) with a `MemoryLog` and a state machine
//! that only acknowledges, on a current-thread tokio runtime and on two workers: what is timed is the handle's
//! side (the deadline, the submission queue, the answer's channel) and the event loop's
//! (proposing the batch, appending it, committing and applying it, answering each client),
//! with no network. Each sample runs `iters` commands spread over the clients and is timed
//! from the first submission to the last answer. Run with `cargo bench -p rafty --bench
//! submit`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rafty::core::Role;
use rafty::node::{Node, NodeOptions};
use rafty::{Config, LogIndex, MemoryLog, StateMachine, StaticPeersProvider};

/// A state machine that only acknowledges.
struct Acknowledge;

impl StateMachine for Acknowledge {
    fn apply(&mut self, _index: LogIndex, _command: &[u8]) -> Vec<u8> {
        Vec::new()
    }
}

/// Start a one-node cluster and wait until it leads.
async fn single_node() -> Node {
    let config = Config {
        election_timeout_min: Duration::from_millis(10),
        election_timeout_max: Duration::from_millis(20),
        heartbeat_interval: Duration::from_millis(5),
        ..Config::default()
    };
    let node = Node::start(
        1,
        MemoryLog::new(),
        Acknowledge,
        Arc::new(StaticPeersProvider::new(Vec::new())),
        Arc::new(config),
        NodeOptions::with_seed(1),
    )
    .await
    .expect("a one-node cluster starts");
    while node.role() != Role::Leader {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    node
}

/// How each client submits.
#[derive(Clone, Copy, Debug)]
enum Way {
    /// `Node::submit`: a timeout per command.
    NodeSubmit,
    /// `Submitter::submit`: one timer per client.
    Submitter,
}

/// `clients` clients submit `iters` empty commands between them, each one after another;
/// the time from the first submission to the last answer.
async fn run(node: &Node, way: Way, clients: u64, iters: u64) -> Duration {
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let commands = iters / clients + u64::from(client < iters % clients);
            let node = node.clone();
            tokio::spawn(async move {
                let mut submitter = node.submitter();
                for _ in 0..commands {
                    let answer = match way {
                        Way::NodeSubmit => node.submit(Vec::new()).await,
                        Way::Submitter => submitter.submit(Vec::new()).await,
                    };
                    answer.expect("a one-node cluster applies every command");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("a client task panicked");
    }
    start.elapsed()
}

/// One group per runtime: a current thread (no contention: the timer wheel's lock and the
/// handle's reference count stay on one core) and two workers, as `rafty bench` runs (the
/// clients and the event loop on both cores, the timer wheel shared between them).
fn submit(c: &mut Criterion) {
    let runtimes = [
        (
            "submit_current_thread",
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
        ),
        (
            "submit_two_workers",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build(),
        ),
    ];
    for (group_name, runtime) in runtimes {
        let runtime = runtime.expect("a tokio runtime");
        let node = runtime.block_on(single_node());
        let mut group = c.benchmark_group(group_name);
        group.throughput(Throughput::Elements(1));
        for clients in [1u64, 64] {
            for way in [Way::NodeSubmit, Way::Submitter] {
                let name = match way {
                    Way::NodeSubmit => "node_submit",
                    Way::Submitter => "submitter",
                };
                group.bench_with_input(BenchmarkId::new(name, clients), &clients, |b, &clients| {
                    b.iter_custom(|iters| runtime.block_on(run(&node, way, clients, iters)));
                });
            }
        }
        group.finish();
        runtime.block_on(node.stop());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = submit
}
criterion_main!(benches);
