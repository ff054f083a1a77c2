//! `rafty replay <schedule.json | run folder>`: run a schedule (a failing run's inputs, edited
//! or not) and store the run like any other. Unedited, it gives the history of the run that
//! wrote it, byte for byte.
//!
//! Exit code as `rafty test`'s: 0 valid, 1 invalid, 2 unknown or a bad schedule.

use std::path::{Path, PathBuf};

use crate::run::plugins::Plugins;
use crate::run::runner::{RunOptions, RunOutput};
use crate::run::store::{self, Artifacts};
use crate::schedule::{self, Schedule};

/// Arguments of `rafty replay`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// A schedule file (`schedule.json`), or the folder of a run that wrote one.
    pub schedule: PathBuf,
    /// Where the run goes: STORE/TEST/TIME-SEED/.
    #[arg(long, default_value = "store")]
    pub store: PathBuf,
    /// Write nothing to the store.
    #[arg(long)]
    pub no_store: bool,
}

/// Run `rafty replay`; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let schedule = match schedule::load(&args.schedule) {
        Ok(schedule) => schedule,
        Err(error) => {
            eprintln!("rafty replay: {error}");
            return 2;
        }
    };
    let plugins = match schedule::plugins_for(&schedule) {
        Ok(plugins) => plugins,
        Err(error) => {
            eprintln!("rafty replay: {error}");
            return 2;
        }
    };
    let store_root = (!args.no_store).then_some(args.store.as_path());
    if let Some(root) = store_root {
        if let Err(error) = store::check_writable(root) {
            eprintln!("rafty replay: --store {error}");
            return 2;
        }
    }
    eprintln!("rafty replay: {}", schedule.size());
    let (output, dir) = match run_and_store(&schedule, &plugins, store_root, "") {
        Ok(done) => done,
        Err(error) => {
            eprintln!("rafty replay: {error}");
            return 2;
        }
    };
    let (checks, detail) = crate::catalogue::search::fired(&output.result);
    println!(
        "replay of seed {}: {}{}{}",
        schedule.seed,
        output.result.valid.describe(),
        if checks.is_empty() {
            String::new()
        } else {
            format!(" ({}): {detail}", checks.join("; "))
        },
        dir.map_or(String::new(), |dir| format!(" -> {}", dir.display()))
    );
    output.result.valid.exit_code() as u8
}

/// Run `schedule` with `plugins` and, given a store, write the run's folder with its schedule
/// (the folder's time stamp followed by `suffix`), its report drawn, and the store's index.
pub fn run_and_store(
    schedule: &Schedule,
    plugins: &Plugins,
    store_root: Option<&Path>,
    suffix: &str,
) -> Result<(RunOutput, Option<PathBuf>), String> {
    let options = RunOptions {
        spool_dir: store_root.map(Path::to_owned),
        ..RunOptions::default()
    };
    let mut output = schedule::run_schedule(schedule, plugins, options);
    // The seed alone does not reproduce a schedule's run (it may be edited or shrunk).
    output.result.reproduce = format!(
        "cargo run --release -p rafty-harness{} -- replay {}  (the schedule.json in this run's folder)",
        if schedule.plant.is_some() {
            " --features mutations"
        } else {
            ""
        },
        crate::schedule::FILE_NAME
    );
    let Some(root) = store_root else {
        return Ok((output, None));
    };
    // The inputs as this run applied them (the same as given, unless edited by hand into
    // something the run could not follow exactly, such as an operation due after the limit).
    let applied = Schedule {
        faults: output.faults.clone(),
        clients: output.client_ops.clone(),
        ..schedule.clone()
    };
    let artifacts = Artifacts {
        node_logs: &output.node_logs,
        nemesis_log: &output.nemesis_log,
        spooled_history: output.history_spool.as_ref().map(|spool| spool.path()),
        schedule: Some(&applied),
    };
    let stamp = format!("{}{suffix}", store::timestamp());
    let dir = store::write_run(root, &stamp, &output.result, &artifacts).map_err(|error| {
        format!(
            "could not write the store under {}: {error}",
            root.display()
        )
    })?;
    if let Err(error) = rafty_reports::write_stored_run_report(&dir) {
        eprintln!("could not draw the report in {}: {error}", dir.display());
    }
    if let Err(error) = rafty_reports::write_store_index(root) {
        eprintln!("could not write the store index: {error}");
    }
    Ok((output, Some(dir)))
}
