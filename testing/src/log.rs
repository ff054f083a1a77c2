//! Test a [`Log`](rafty::Log): [`run_all`] runs every suite and a chaos run on the logs your
//! [`LogFactory`] opens.

use rafty::testing::process_crash_suite::{self, ChildCommand};
use rafty::testing::{crash_suite, log_suite};

use crate::LogFactory;
pub use crate::options::Options;
use crate::session::{Session, Verdict, run_chaos};

/// Run every suite that applies to the logs `factory` opens, and a chaos run of a cluster on
/// them, with [`Options::default`]; fail the test (a panic listing every failure, the report
/// under `store/` and the command that reruns this test with the failing seed) unless all
/// pass. Call it first in its own test function: the process-crash suite reruns that test
/// in a child process, where this call serves the log and exits.
///
/// See the [crate](crate) documentation for the suites. Returns what ran, when all passed.
pub fn run_all<F>(factory: F) -> Verdict
where
    F: LogFactory + Send + 'static,
    F::Store: Send,
{
    run_all_with(factory, Options::default())
}

/// [`run_all`] with `options`.
pub fn run_all_with<F>(mut factory: F, options: Options) -> Verdict
where
    F: LogFactory + Send + 'static,
    F::Store: Send,
{
    process_crash_suite::serve_if_child(&mut factory);
    let session = Session::current();
    let seed = session.seed();
    let mut verdict = Verdict::new("Log");
    let report = verdict.timed("log_suite", || Some(log_suite::run(&mut factory)));
    verdict.suites.extend(report);
    match verdict.timed("crash_suite", || {
        crash_suite::run_factory(&mut factory, seed)
    }) {
        Some(report) => verdict.suites.push(report),
        None => verdict.not_run.push(
            "crash_suite (power loss): the log does not do its I/O through rafty's FileSystem \
             (LogFactory::open_on_file_system is None), so no simulated power cut reaches it \
             and a missing fsync goes unseen; FileCursor moves a std::fs log onto FileSystem"
                .to_owned(),
        ),
    }
    run_process_crash(&mut factory, &session, &mut verdict);
    run_chaos!(verdict, options, {
        crate::chaos::run_log(factory, &session, &options, &mut verdict)
    });
    verdict.finish(&session)
}

fn run_process_crash<F: LogFactory>(factory: &mut F, session: &Session, verdict: &mut Verdict) {
    if session.test == "YOUR_TEST" {
        verdict.not_run.push(
            "process_crash_suite: the test's name is unknown (the call is not on a test's \
             thread), so no child process can rerun it"
                .to_owned(),
        );
        return;
    }
    let report = match ChildCommand::this_test(&session.test) {
        Ok(child) => {
            let run = || Some(process_crash_suite::run(factory, session.seed(), &child));
            verdict
                .timed("process_crash_suite", run)
                .expect("the suite always reports")
        }
        Err(error) => {
            let reason = format!("process_crash_suite: the test binary's path: {error}");
            verdict.not_run.push(reason);
            return;
        }
    };
    let unsupported = report.unsupported();
    if !report.cases.is_empty() && unsupported.len() == report.cases.len() {
        let reason = match &unsupported[0].outcome {
            rafty::testing::Outcome::Unsupported(reason) => reason.clone(),
            _ => String::new(),
        };
        verdict
            .not_run
            .push(format!("process_crash_suite: {reason}"));
    } else {
        verdict.suites.push(report);
    }
}
