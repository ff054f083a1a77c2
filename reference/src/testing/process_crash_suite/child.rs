//! The child's side: open the log in the directory the parent named, then make each write the
//! parent asks for and acknowledge it once the call returned `Ok`; dump the log on request.
//! Every line it writes starts with [`PREFIX`], so the test harness's own output is skipped.

use std::io::{self, BufRead, Write as _};
use std::path::Path;

use super::CHILD_DIR_VAR;
use super::model::{entries, payload};
use crate::log::Log;
use crate::testing::log_suite::LogFactory;
use crate::types::{HardState, Payload};

/// What starts each line of the child's answers.
pub(super) const PREFIX: &str = "rafty-process-crash-child:";

/// If this process is a child of the process-crash suite ([`CHILD_DIR_VAR`] is set), serve
/// the log `factory` keeps in that directory until the parent closes the pipe or kills the
/// process, then exit the process; otherwise return at once. Call it first in a test that runs
/// the suite, so the child does nothing else.
pub fn serve_if_child<F: LogFactory>(factory: &mut F) {
    let Some(dir) = std::env::var_os(CHILD_DIR_VAR) else {
        return;
    };
    let code = match serve(factory, Path::new(&dir)) {
        Ok(()) => 0,
        Err(error) => {
            say(&format!("error {error}"));
            3
        }
    };
    std::process::exit(code);
}

fn say(line: &str) {
    let mut out = io::stdout().lock();
    // The parent reads until it finds its line; a closed pipe means it has gone: nothing to do.
    let _ = writeln!(out, "{PREFIX} {line}");
    let _ = out.flush();
}

fn serve<F: LogFactory>(factory: &mut F, dir: &Path) -> Result<(), String> {
    let store = match factory.store_in_directory(dir) {
        Some(Ok(store)) => store,
        Some(Err(error)) => {
            say(&format!(
                "open-failed LogFactory::store_in_directory: {error}"
            ));
            return Ok(());
        }
        None => return Err("LogFactory::store_in_directory is None".to_owned()),
    };
    let mut log = match factory.open(&store) {
        Ok(log) => log,
        Err(error) => {
            say(&format!("open-failed {error}"));
            return Ok(());
        }
    };
    say("ready");
    for line in io::stdin().lock().lines() {
        let line = line.map_err(|error| format!("reading the pipe: {error}"))?;
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["dump"] => dump(&log),
            command => {
                let answer = match write(&mut log, command) {
                    Ok(()) => "ok".to_owned(),
                    Err(error) => format!("err {error}"),
                };
                say(&answer);
            }
        }
    }
    drop(log);
    drop(store);
    Ok(())
}

fn number(word: &str) -> Result<u64, String> {
    word.parse()
        .map_err(|_| format!("`{word}` is not a number"))
}

/// Make the write `command` names.
fn write<L: Log>(log: &mut L, command: &[&str]) -> Result<(), String> {
    match command {
        ["append", first, count, term] => {
            let batch = entries(number(first)?, number(count)?, number(term)?);
            log.append(&batch).map_err(|error| error.to_string())
        }
        ["truncate", from] => log.truncate(number(from)?).map_err(|e| e.to_string()),
        ["hard", term, vote] => {
            let voted_for = match *vote {
                "-" => None,
                vote => Some(number(vote)?),
            };
            let state = HardState {
                current_term: number(term)?,
                voted_for,
            };
            log.save_hard_state(state)
                .map_err(|error| error.to_string())
        }
        other => Err(format!("unknown command {other:?}")),
    }
}

/// `state TERM VOTE FIRST LAST`, one `entry INDEX TERM ok|damaged` per entry, then `end`.
fn dump<L: Log>(log: &L) {
    let hard = log.hard_state();
    let vote = hard
        .voted_for
        .map_or("-".to_owned(), |vote| vote.to_string());
    let (first, last) = (log.first_index(), log.last_index());
    say(&format!(
        "state {} {vote} {first} {last}",
        hard.current_term
    ));
    match log.entries(first, last + 1) {
        Ok(held) => {
            for entry in held {
                let whole = entry.payload == Payload::Command(payload(entry.index, entry.term));
                let mark = if whole { "ok" } else { "damaged" };
                say(&format!("entry {} {} {mark}", entry.index, entry.term));
            }
            say("end");
        }
        Err(error) => say(&format!("read-failed {error}")),
    }
}
