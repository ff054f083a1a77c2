//! The `rafty` command: one binary, one subcommand per task.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rafty_harness::cli::{
    admin, bench, catalogue, certs, check, node, registry, replay, report, runs, serve, shrink,
    test, test_registry,
};

/// rafty: a Raft library and the Jepsen-style harness that proves it.
#[derive(Debug, Parser)]
#[command(name = "rafty", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Membership calls against a running cluster (show, add-learner, promote, remove, change,
    /// transfer), made at its leader over the admin service.
    Admin(admin::Args),
    /// Measure commit throughput and latency of a 3-node cluster (in process or real processes).
    Bench(bench::Args),
    /// One node of `rafty bench --mode real` (spawned by it; not for direct use).
    #[command(hide = true)]
    BenchNode(bench::NodeArgs),
    /// List the bug catalogue, or measure which bugs the default chaos run catches (--run).
    Catalogue(catalogue::Args),
    /// Make a cluster's TLS certificates (a CA, one per node, one per client) into a directory.
    Certs(certs::Args),
    /// Check history files for linearizability (exit 0 valid, 1 invalid, 2 unknown or error).
    Check(check::Args),
    /// Run one reference node as an OS process: file log, TCP transport, key-value service.
    Node(Box<node::Args>),
    /// Start a local cluster of the service registry (HTTP+JSON on rafty), durable in --data.
    Registry(registry::Args),
    /// Run a schedule (a failing run's schedule.json, edited or not) and store the run.
    Replay(replay::Args),
    /// Draw a stored run's report again from its results.json and history.jsonl (streamed).
    Report(report::Args),
    /// List a store's runs and their verdicts, one a line (--not-valid: only those that failed).
    Runs(runs::Args),
    /// Serve the store of results over HTTP (on 127.0.0.1 unless --bind says otherwise).
    Serve(serve::Args),
    /// Shrink a failing run's schedule to the smallest that fails the same check.
    Shrink(shrink::Args),
    /// Run the chaos test of a simulated cluster (exit 0 valid, 1 invalid, 2 unknown or error).
    Test(Box<test::Args>),
    /// Chaos-test the service registry on real processes (exit 0 valid, 1 invalid, 2 unknown).
    TestRegistry(test_registry::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Admin(args) => admin::run(args),
        Command::Bench(args) => bench::run(args),
        Command::BenchNode(args) => bench::run_node(args),
        Command::Catalogue(args) => catalogue::run(args),
        Command::Certs(args) => certs::run(args),
        Command::Check(args) => check::run(args),
        Command::Node(args) => node::run(args),
        Command::Registry(args) => registry::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Report(args) => report::run(args),
        Command::Runs(args) => runs::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Shrink(args) => shrink::run(args),
        Command::Test(args) => test::run(args),
        Command::TestRegistry(args) => test_registry::run(args),
    };
    ExitCode::from(code)
}
