//! The `rafty` command: one binary, one subcommand per task.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rafty_harness::cli::check;

/// rafty: a Raft library and the Jepsen-style harness that proves it.
#[derive(Debug, Parser)]
#[command(name = "rafty", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check history files for linearizability (exit 0 valid, 1 invalid, 2 unknown or error).
    Check(check::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Check(args) => check::run(args),
    };
    ExitCode::from(code)
}
