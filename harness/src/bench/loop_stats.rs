//! The leader's event-loop counters over a round's window ([`rafty::node::LoopCounters`]),
//! with the ratios that show how proposals batch: commands per proposal, appends and sends
//! per turn, entries per AppendEntries.

use rafty::node::LoopCounters;
use serde::Serialize;

/// What the leader's loop did in the window, and per turn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LoopSummary {
    /// Turns of the leader's loop (inputs handled) per second of window.
    pub turns_per_sec: f64,
    /// Client commands per proposal (per turn that proposed): the proposal batch size.
    pub commands_per_proposal: f64,
    /// Share of turns that proposed client commands.
    pub proposal_turns_share: f64,
    /// Log appends per proposal (1.0: one append per batch).
    pub appends_per_proposal: f64,
    /// Entries per log append.
    pub entries_per_append: f64,
    /// AppendEntries sent per proposal (2.0 for one broadcast to two followers).
    pub append_entries_per_proposal: f64,
    /// Entries per AppendEntries sent.
    pub entries_per_append_entries: f64,
    /// Answers (results of its AppendEntries) handled per turn.
    pub results_per_turn: f64,
    /// Share of proposals whose turn first yielded to gather more submissions.
    pub gathered_share: f64,
    /// The raw counts.
    pub counts: Counts,
}

/// The leader's counters over the window, as counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Turns of the loop.
    pub turns: u64,
    /// Turns that proposed.
    pub proposals: u64,
    /// Commands they proposed.
    pub commands_proposed: u64,
    /// Log appends.
    pub log_appends: u64,
    /// Entries appended.
    pub entries_appended: u64,
    /// AppendEntries sent.
    pub append_entries_sent: u64,
    /// Entries they carried.
    pub entries_sent: u64,
    /// RPC answers handled.
    pub results: u64,
    /// Turns that yielded to gather submissions before proposing.
    pub gathers: u64,
}

impl LoopSummary {
    /// The summary of `window` (a difference of two readings) over `seconds`.
    pub fn of(window: &LoopCounters, seconds: f64) -> LoopSummary {
        let per = |part: u64, whole: u64| {
            if whole == 0 {
                0.0
            } else {
                part as f64 / whole as f64
            }
        };
        LoopSummary {
            turns_per_sec: if seconds > 0.0 {
                window.turns as f64 / seconds
            } else {
                0.0
            },
            commands_per_proposal: per(window.commands_proposed, window.proposals),
            proposal_turns_share: per(window.proposals, window.turns),
            appends_per_proposal: per(window.log_appends, window.proposals),
            entries_per_append: per(window.entries_appended, window.log_appends),
            append_entries_per_proposal: per(window.append_entries_sent, window.proposals),
            entries_per_append_entries: per(window.entries_sent, window.append_entries_sent),
            results_per_turn: per(window.results, window.turns),
            gathered_share: per(window.gathers, window.proposals),
            counts: Counts {
                turns: window.turns,
                proposals: window.proposals,
                commands_proposed: window.commands_proposed,
                log_appends: window.log_appends,
                entries_appended: window.entries_appended,
                append_entries_sent: window.append_entries_sent,
                entries_sent: window.entries_sent,
                results: window.results,
                gathers: window.gathers,
            },
        }
    }

    /// One line for the table.
    pub fn line(&self) -> String {
        format!(
            "{:.0} turns/s, {:.1} commands/proposal ({:.0}% of turns propose, {:.0}% after \
             gathering), {:.2} appends and {:.2} AppendEntries per proposal, {:.1} entries/append, \
             {:.1} entries/AppendEntries",
            self.turns_per_sec,
            self.commands_per_proposal,
            self.proposal_turns_share * 100.0,
            self.gathered_share * 100.0,
            self.appends_per_proposal,
            self.append_entries_per_proposal,
            self.entries_per_append,
            self.entries_per_append_entries
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_divide_the_window_counts_and_survive_zeroes() {
        let window = LoopCounters {
            turns: 100,
            proposals: 10,
            commands_proposed: 640,
            log_appends: 10,
            entries_appended: 640,
            append_entries_sent: 20,
            entries_sent: 1280,
            results: 40,
            gathers: 5,
            ..LoopCounters::default()
        };
        let summary = LoopSummary::of(&window, 2.0);
        assert_eq!(summary.turns_per_sec, 50.0);
        assert_eq!(summary.commands_per_proposal, 64.0);
        assert_eq!(summary.proposal_turns_share, 0.1);
        assert_eq!(summary.append_entries_per_proposal, 2.0);
        assert_eq!(summary.entries_per_append_entries, 64.0);
        assert_eq!(summary.results_per_turn, 0.4);
        assert_eq!(summary.gathered_share, 0.5);
        let empty = LoopSummary::of(&LoopCounters::default(), 0.0);
        assert_eq!(empty, LoopSummary::default());
    }
}
