//! `rafty test-registry`: a chaos run of the service registry on real processes (see
//! [`crate::real::registry::run`]).
//!
//! ```text
//! rafty test-registry --time-limit 600 --seed 1 --store store
//! ```
//!
//! Exit code: 0 valid, 1 invalid, 2 unknown or error.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::number::whole_number;
use crate::real::faults::REAL_KINDS;
use crate::real::registry::run::{self, RegistryRunOptions};

/// Arguments of `rafty test-registry`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The seed: draws every operation and fault.
    #[arg(long, default_value_t = 1, value_parser = whole_number(0, u64::MAX))]
    pub seed: u64,
    /// How long the clients and the nemesis run, in seconds.
    #[arg(long, default_value_t = 60, value_parser = whole_number(1, 86_400))]
    pub time_limit: u64,
    /// Client processes (six watchers come on top, two per service).
    #[arg(long, default_value_t = 6, value_parser = whole_number(1, 64))]
    pub clients: u64,
    /// Fault kinds, comma separated, from partition, kill, pause, latency, clog, power (`all`:
    /// every one; `none`: no faults). With power the nodes run `rafty node --lazy-fs`.
    #[arg(long, default_value = "all")]
    pub nemesis: String,
    /// A fault's typical length and the healthy gap after it, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = whole_number(100, 600_000))]
    pub nemesis_interval_ms: u64,
    /// Where run folders go.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Where the nodes' data directories go (removed after the run).
    #[arg(long, default_value = "/tmp")]
    pub data_root: PathBuf,
}

/// The kinds `--nemesis` names, checked against the real ones.
fn kinds(text: &str) -> Result<Vec<&'static str>, String> {
    match text {
        "all" => return Ok(REAL_KINDS.to_vec()),
        "none" => return Ok(Vec::new()),
        _ => {}
    }
    text.split(',')
        .map(|name| {
            REAL_KINDS
                .into_iter()
                .find(|kind| *kind == name.trim())
                .ok_or_else(|| {
                    format!(
                        "--nemesis: `{name}` is not a real fault kind (one of {}, or all, none)",
                        REAL_KINDS.join(", ")
                    )
                })
        })
        .collect()
}

/// Run `rafty test-registry`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let kinds = match kinds(&args.nemesis) {
        Ok(kinds) => kinds,
        Err(error) => {
            eprintln!("rafty test-registry: {error}");
            return 2;
        }
    };
    let options = RegistryRunOptions {
        seed: args.seed,
        time_limit: Duration::from_secs(args.time_limit),
        clients: args.clients,
        kinds,
        interval: Duration::from_millis(args.nemesis_interval_ms),
        recovery: Duration::from_secs(5),
        store: args.store.clone(),
        data_root: args.data_root.clone(),
    };
    match run::run(&options) {
        Ok(outcome) => {
            print!("{}", outcome.summary);
            println!("stored in {}", outcome.dir.display());
            match outcome.verdict {
                "valid" => 0,
                "invalid" => 1,
                _ => 2,
            }
        }
        Err(error) => {
            eprintln!("rafty test-registry: {error}");
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nemesis_names_real_kinds_only() {
        assert_eq!(kinds("kill,pause").unwrap(), ["kill", "pause"]);
        assert_eq!(kinds("kill,power").unwrap(), ["kill", "power"]);
        assert_eq!(kinds("all").unwrap().len(), REAL_KINDS.len());
        assert!(kinds("none").unwrap().is_empty());
        let error = kinds("kill,power-mid-write").unwrap_err();
        assert!(
            error.contains("`power-mid-write` is not a real fault kind"),
            "{error}"
        );
    }
}
