//! The progress of one long run on the terminal: simulated time against the time limit,
//! client operations and faults so far, and the process's resident memory (what a long run's
//! bound is read from). Hidden when stderr is not a terminal.
//!
//! It only reads counters from the outer step loop, every [`STEPS_PER_UPDATE`] steps, so the
//! simulation runs exactly as without it (the same seed gives the same history).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// How many simulation steps (1 ms of simulated time each) between two updates.
pub const STEPS_PER_UPDATE: u64 = 1000;

/// A run's progress bar (a hidden one draws nothing).
pub struct RunProgress {
    bar: ProgressBar,
    steps: u64,
}

impl RunProgress {
    /// Nothing shown.
    pub fn hidden() -> Self {
        RunProgress {
            bar: ProgressBar::hidden(),
            steps: 0,
        }
    }

    /// A bar for seed `seed` up to `time_limit`, under `multi` when stderr is a terminal.
    pub fn new(multi: &MultiProgress, seed: u64, time_limit: Duration) -> Self {
        if !std::io::stderr().is_terminal() {
            return RunProgress::hidden();
        }
        let bar = multi.add(ProgressBar::new(time_limit.as_secs().max(1)));
        let style = ProgressStyle::with_template(&format!(
            "seed {seed} {{bar:30}} {{pos}}/{{len}} s simulated, {{msg}} [{{elapsed_precise}}, eta {{eta}}]"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        RunProgress { bar, steps: 0 }
    }

    /// Called after every step; redraws every [`STEPS_PER_UPDATE`] steps.
    pub fn step(&mut self, simulated: Duration, ops: u64, faults: u64) {
        self.steps += 1;
        if self.steps % STEPS_PER_UPDATE == 0 && !self.bar.is_hidden() {
            self.bar.set_position(simulated.as_secs());
            let resident = crate::bench::machine::resident_bytes()
                .map(|bytes| format!(", {} MB resident", bytes / (1 << 20)))
                .unwrap_or_default();
            self.bar
                .set_message(format!("{ops} ops, {faults} faults{resident}"));
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
