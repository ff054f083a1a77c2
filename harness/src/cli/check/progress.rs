//! The progress bar of a long `rafty check`: bytes read in the first pass, then operations
//! checked. Hidden when stderr is not a terminal, and for files too small to wait on.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use rafty_checkers::stream::Progress;

/// Files smaller than this check too fast for a bar to help.
const SHOWN_FROM_BYTES: u64 = 16 << 20;

/// A bar on stderr (a hidden one draws nothing).
pub struct CheckProgress {
    bar: ProgressBar,
}

impl CheckProgress {
    /// A bar for checking `file` of `bytes`, shown only on a terminal and for a large file.
    pub fn new(file: &str, bytes: u64) -> CheckProgress {
        if bytes < SHOWN_FROM_BYTES || !std::io::stderr().is_terminal() {
            return CheckProgress {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = ProgressBar::new(bytes);
        bar.set_prefix(file.to_owned());
        bar.set_style(style(
            "{prefix}: reading {bar:30} {bytes}/{total_bytes} [{elapsed}, eta {eta}]",
        ));
        CheckProgress { bar }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress for CheckProgress {
    fn start_reading(&self, bytes: u64) {
        self.bar.set_length(bytes);
        self.bar.set_position(0);
    }

    fn reading(&self, bytes: u64) {
        self.bar.set_position(bytes);
    }

    fn start_checking(&self, calls: u64) {
        self.bar.set_style(style(
            "{prefix}: checking {bar:30} {human_pos}/{human_len} ops [{elapsed}, eta {eta}]",
        ));
        self.bar.set_length(calls);
        self.bar.set_position(0);
        self.bar.reset_eta();
    }

    fn checked(&self, calls: u64) {
        self.bar.inc(calls);
    }
}
