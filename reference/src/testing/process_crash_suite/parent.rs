//! The parent's side: start children on the log's directory, ask for writes, kill them with
//! `kill -9`, and keep the trail of what happened for the failure message.

use std::io::{self, BufRead, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::child::PREFIX;
use super::model::{State, Write};
use super::{CHILD_DIR_VAR, ChildCommand};
use crate::types::HardState;

/// A fresh directory under the system's temporary directory, named after the process, the
/// seed and `label`.
pub(super) fn scratch_dir(seed: u64, label: &str) -> io::Result<PathBuf> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let number = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "rafty-process-crash-{}-{seed}-{label}-{number}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A child serving the log.
struct Running {
    process: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

/// One case's run: the log's directory, the child serving it, the seeded generator and the
/// trail of everything done so far.
pub(super) struct Run<'a> {
    command: &'a ChildCommand,
    dir: PathBuf,
    child: Option<Running>,
    /// Draws the script and the kill points.
    pub(super) rng: ChaCha8Rng,
    trail: Vec<String>,
}

impl<'a> Run<'a> {
    /// A run on a fresh directory.
    pub(super) fn new(command: &'a ChildCommand, seed: u64, case: &str) -> Result<Self, String> {
        let dir = scratch_dir(seed, case)
            .map_err(|error| format!("could not make a scratch directory: {error}"))?;
        Ok(Run {
            command,
            dir,
            child: None,
            rng: ChaCha8Rng::seed_from_u64(seed),
            trail: Vec::new(),
        })
    }

    /// Kill any child left and remove the directory.
    pub(super) fn finish(mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// `message`, then the operations that led to it (the last 24).
    pub(super) fn failure(&self, message: impl std::fmt::Display) -> String {
        let skipped = self.trail.len().saturating_sub(24);
        let mut text = format!("{message}\n    operations that led to it");
        if skipped > 0 {
            text.push_str(&format!(" ({skipped} earlier ones left out)"));
        }
        text.push_str(&format!(": {}", self.trail[skipped..].join("; ")));
        text
    }

    /// Start a child on the directory; `Err` (explained) if the log does not open. `after`
    /// is the write a kill cut just before, if any, for the explanation.
    pub(super) fn start(&mut self, after: Option<&Write>) -> Result<(), String> {
        let mut process = Command::new(&self.command.program)
            .args(&self.command.args)
            .env(CHILD_DIR_VAR, &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| {
                format!(
                    "could not start the child process {}: {error}",
                    self.command.program.display()
                )
            })?;
        let (Some(input), Some(output)) = (process.stdin.take(), process.stdout.take()) else {
            let _ = process.kill();
            return Err("the child process has no pipes".to_owned());
        };
        self.child = Some(Running {
            process,
            input,
            output: BufReader::new(output),
        });
        self.trail
            .push("start a process and open the log".to_owned());
        let line = self.answer()?;
        match line.split_once(' ').unwrap_or((&line, "")) {
            ("ready", _) => Ok(()),
            ("open-failed", error) => {
                let cause = match after {
                    Some(write) => format!(
                        "after kill -9 during `{write}` the log did not open: {error}. Likely \
                         cause: recovery does not handle what a write cut half-way leaves (a \
                         torn record or batch, a file created but still empty, a temporary \
                         file); it must cut such a tail off, never refuse it"
                    ),
                    None => format!("the log did not open: {error}"),
                };
                Err(self.failure(cause))
            }
            _ => Err(self.failure(format!("the child said `{line}`, not `ready`"))),
        }
    }

    /// The child's next line, without the prefix; skips every line of the test harness.
    fn answer(&mut self) -> Result<String, String> {
        let Some(child) = self.child.as_mut() else {
            return Err("no child process is running".to_owned());
        };
        let mut line = String::new();
        loop {
            line.clear();
            let read = child.output.read_line(&mut line);
            match read {
                Ok(0) => {
                    let status = child.process.wait().map(|status| status.to_string());
                    let status = status.unwrap_or_else(|error| error.to_string());
                    return Err(self.failure(format!(
                        "the child process ended ({status}) without answering: did the test \
                         call the suite's entry point (serve_if_child) before anything else? \
                         A panic in the log while opening or writing ends it too"
                    )));
                }
                Ok(_) => {
                    if let Some(rest) = line.trim_end().strip_prefix(PREFIX) {
                        return Ok(rest.trim_start().to_owned());
                    }
                }
                Err(error) => return Err(format!("reading the child's answer: {error}")),
            }
        }
    }

    fn send(&mut self, line: &str) -> Result<(), String> {
        let Some(child) = self.child.as_mut() else {
            return Err("no child process is running".to_owned());
        };
        writeln!(child.input, "{line}")
            .and_then(|()| child.input.flush())
            .map_err(|error| format!("writing to the child: {error}"))
    }

    /// Make `write` and wait for its acknowledgement.
    pub(super) fn write(&mut self, write: &Write) -> Result<(), String> {
        self.send(&write.command())?;
        let answer = self.answer()?;
        if answer == "ok" {
            self.trail.push(format!("{write}: Ok"));
            return Ok(());
        }
        let error = answer.strip_prefix("err ").unwrap_or(&answer).to_owned();
        self.trail.push(format!("{write}: Err"));
        Err(self.failure(format!(
            "`{write}` failed on a healthy disk: {error}. Expected Ok: the write keeps the \
             contract (contiguous, after a reopen of the same log)"
        )))
    }

    /// Send `write` and kill the child `delay_micros` later, without waiting for an answer.
    pub(super) fn write_and_kill(
        &mut self,
        write: &Write,
        delay_micros: u64,
    ) -> Result<(), String> {
        self.send(&write.command())?;
        if delay_micros > 0 {
            std::thread::sleep(std::time::Duration::from_micros(delay_micros));
        }
        self.kill();
        self.trail.pop();
        self.trail
            .push(format!("{write}: kill -9 {delay_micros} µs after asking"));
        Ok(())
    }

    /// `kill -9` the child (if one runs) and reap it.
    pub(super) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGKILL on Unix: no destructor, no flush, no exit handler runs.
            let _ = child.process.kill();
            let _ = child.process.wait();
            self.trail.push("kill -9".to_owned());
        }
    }

    /// What the log holds now.
    pub(super) fn dump(&mut self) -> Result<State, String> {
        self.send("dump")?;
        let head = self.answer()?;
        let words: Vec<&str> = head.split_whitespace().collect();
        let (term, vote, first) = match words.as_slice() {
            ["state", term, vote, first, _last] => (*term, *vote, *first),
            ["read-failed", ..] => {
                return Err(self.failure(format!(
                    "reading the whole log (entries(first_index, last_index + 1)) failed: {head}"
                )));
            }
            _ => return Err(self.failure(format!("unexpected answer to dump: `{head}`"))),
        };
        if first != "1" {
            return Err(self.failure(format!(
                "first_index() is {first}, expected 1: this suite never compacts"
            )));
        }
        let mut state = State {
            hard_state: HardState {
                current_term: term.parse().unwrap_or(u64::MAX),
                voted_for: vote.parse().ok(),
            },
            ..State::default()
        };
        loop {
            let line = self.answer()?;
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["end"] => break,
                ["entry", index, term, mark] => {
                    let index: u64 = index.parse().unwrap_or(0);
                    if index != state.terms.len() as u64 + 1 {
                        return Err(self.failure(format!(
                            "entries(first, last + 1) returned index {index} where {} was due",
                            state.terms.len() + 1
                        )));
                    }
                    state.terms.push(term.parse().unwrap_or(u64::MAX));
                    if *mark != "ok" {
                        state.damaged.push(index);
                    }
                }
                _ => return Err(self.failure(format!("unexpected line in a dump: `{line}`"))),
            }
        }
        self.trail.push("read the log back".to_owned());
        Ok(state)
    }
}
