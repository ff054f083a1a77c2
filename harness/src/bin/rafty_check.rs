//! `rafty-check`: `rafty check` alone, in a small binary that starts as fast as a checker
//! should (the `rafty` binary carries every subcommand: the simulation, the nodes, TLS, HTTP).
//! Same arguments, output and exit codes as `rafty check`.
//!
//! It starts at C's `main` (`#![no_main]`) rather than through std's runtime start-up, which
//! on Linux reads `/proc/self/maps` to place the main thread's stack guard and polls the
//! standard descriptors: about a tenth of a millisecond, a visible share of checking a small
//! file. What it gives up is std's handling of a panic escaping `main` (here it aborts, after
//! the panic message, instead of unwinding to an exit code of 101) and SIGPIPE set to ignored
//! (a closed pipe kills the process quietly, as it does a C tool).

#![no_main]

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

/// The process's entry point, called by the C runtime (arguments come from
/// `std::env::args`, which glibc hands to std before `main`).
#[unsafe(no_mangle)]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    let cli = Cli::parse();
    std::ffi::c_int::from(check::run(&cli.args))
}
