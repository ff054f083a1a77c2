//! `rafty-check`: `rafty check` alone, in a small binary that starts as fast as a checker
//! should (the `rafty` binary carries every subcommand: the simulation, the nodes, TLS, HTTP).
//! Same arguments, output and exit codes as `rafty check`.

use std::process::ExitCode;

use clap::Parser;
use rafty_harness::cli::check;

/// Check history files for linearizability or, with a transactional model, isolation
/// anomalies (exit 0 valid, 1 invalid, 2 unknown or error).
#[derive(Debug, Parser)]
#[command(name = "rafty-check", version, about)]
struct Cli {
    #[command(flatten)]
    args: check::Args,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(check::run(&cli.args))
}
