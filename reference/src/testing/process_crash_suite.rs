//! The process-crash suite for any [`Log`](crate::Log) whose state lives in a directory: the
//! log runs in a child process that appends, truncates and saves hard states, acknowledging
//! each write over a pipe once the call returned `Ok`; the suite `kill -9`s the child at
//! points drawn from the seed (between writes, and while a write is in flight), reopens the
//! log in a fresh child and checks what it finds:
//!
//! * every acknowledged write is there (entries, their bytes, the hard state);
//! * a write cut by the kill left a state the contract allows (an append: all of its batch or
//!   none; a truncation: a prefix at least as long as asked; a hard state: the old or the new);
//! * the log opens at all after the kill (a torn tail is recovered, never refused).
//!
//! No simulated disk is needed, so a log on sled, fjall, RocksDB or redb's own file backend
//! is tested as it runs in production. What it catches: an acknowledgement before the write
//! (data kept in a buffer of the process, a write cache, durability switched off), a
//! truncation that was not written, a hard state saved after the reply, a batch that is not
//! all-or-nothing, a recovery that cannot read a half-written tail.
//!
//! What it cannot catch: a missing **fsync**. A killed process leaves the operating system
//! running, and its page cache keeps every write that reached it, synced or not, so a log
//! that never fsyncs passes here. Only a power cut loses unsynced data: that is the
//! [`crash_suite`](crate::testing::crash_suite)'s `CrashFs`, for logs that do their I/O
//! through [`FileSystem`](crate::file_log::fs::FileSystem)
//! ([`LogFactory::open_on_file_system`]).
//!
//! The child is the test binary itself: [`ChildCommand::this_test`] reruns the one test that
//! called the suite, with [`CHILD_DIR_VAR`] set to the log's directory, and that test must
//! call [`serve_if_child`] (the `rafty-testing` crate's entry points do) before anything else.
//! Where a kill lands inside an in-flight write depends on the operating system's timing, so
//! the same seed repeats the same script and kill points, not always the same instant.

use std::path::PathBuf;

use crate::testing::SuiteReport;
use crate::testing::log_suite::LogFactory;

mod cases;
mod child;
mod model;
mod parent;

pub use child::serve_if_child;

/// The environment variable that makes a test process the suite's child: the directory of
/// the log it serves.
pub const CHILD_DIR_VAR: &str = "RAFTY_PROCESS_CRASH_DIR";

/// How to start a child: a program and its arguments (the environment variable is added).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

impl ChildCommand {
    /// The running test binary, running only the test named `test` (its full path, as
    /// libtest names the test's thread: `tests::my_log`), its output not captured.
    pub fn this_test(test: &str) -> std::io::Result<ChildCommand> {
        Ok(ChildCommand {
            program: std::env::current_exe()?,
            args: vec![
                test.to_owned(),
                "--exact".to_owned(),
                "--nocapture".to_owned(),
                "--test-threads=1".to_owned(),
                "--quiet".to_owned(),
            ],
        })
    }
}

/// A case of the suite: its name and its body.
type Case = (&'static str, fn(&mut parent::Run<'_>) -> Result<(), String>);

fn all_cases() -> Vec<Case> {
    vec![
        (
            "acknowledged_writes_survive_kill_9",
            cases::acknowledged_writes_survive_kill_9,
        ),
        (
            "a_write_cut_by_kill_9_leaves_an_allowed_state",
            cases::a_write_cut_by_kill_9_leaves_an_allowed_state,
        ),
    ]
}

/// The names of the cases [`run`] runs, in order.
pub fn case_names() -> Vec<&'static str> {
    all_cases().into_iter().map(|(name, _)| name).collect()
}

/// Run every case with the scripts and kill points drawn from `seed`, starting children with
/// `child`. A factory without [`LogFactory::store_in_directory`] gets every case reported
/// unsupported.
pub fn run<F: LogFactory>(factory: &mut F, seed: u64, child: &ChildCommand) -> SuiteReport {
    let mut report = SuiteReport::new("process_crash_suite");
    let probe = parent::scratch_dir(seed, "probe");
    let supported = match probe.as_ref().map(|dir| factory.store_in_directory(dir)) {
        Ok(Some(Ok(store))) => {
            drop(store);
            Ok(())
        }
        Ok(Some(Err(error))) => Err((
            false,
            format!("LogFactory::store_in_directory failed on an empty directory: {error}"),
        )),
        Ok(None) => Err((
            true,
            "the factory keeps no store in a directory (LogFactory::store_in_directory is \
             None), so no second process can open it; a log that keeps its data only in \
             memory cannot survive a process crash"
                .to_owned(),
        )),
        Err(error) => Err((
            false,
            format!("could not make a scratch directory: {error}"),
        )),
    };
    if let Ok(dir) = probe {
        let _ = std::fs::remove_dir_all(dir);
    }
    for (number, (name, case)) in all_cases().into_iter().enumerate() {
        match &supported {
            Ok(()) => report.run_case(name, || {
                let case_seed = seed.wrapping_mul(31).wrapping_add(number as u64);
                let mut run = parent::Run::new(child, case_seed, name)?;
                let outcome = case(&mut run);
                run.finish();
                outcome
            }),
            Err((true, reason)) => report.record_unsupported(name, reason.clone()),
            Err((false, reason)) => report.run_case(name, || Err(reason.clone())),
        }
    }
    report
}

#[cfg(test)]
mod tests;
