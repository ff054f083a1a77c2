//! [`LoopCounters`]: how much work a node's event loop did, so a benchmark can see how
//! proposals batch and what each turn of the loop costs (appends, sends) without a profiler.
//!
//! Architecture invariant: counted, never read by the node: nothing it decides depends on
//! them, so histories do not change with them.

/// Totals since the node started, published with its [`super::Status`]. Take two readings and
/// subtract ([`LoopCounters::since`]) for a window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoopCounters {
    /// Inputs the event loop handled (one per turn: a tick, a message, a batch of
    /// submissions, a result).
    pub turns: u64,
    /// Turns that proposed client commands (one [`crate::core::Core::propose`] each).
    pub proposals: u64,
    /// Client commands those proposals carried.
    pub commands_proposed: u64,
    /// `AppendToLog` actions executed (one [`crate::Log::append`] call each).
    pub log_appends: u64,
    /// Entries those appends wrote.
    pub entries_appended: u64,
    /// Messages sent to peers (requests and answers the loop sent as `Send` actions).
    pub sends: u64,
    /// AppendEntries among those sends, heartbeats included.
    pub append_entries_sent: u64,
    /// Entries those AppendEntries carried.
    pub entries_sent: u64,
    /// Answers to this node's own requests handled (or their failures).
    pub results: u64,
    /// RPCs from peers handled.
    pub requests: u64,
    /// Entries applied to the state machine (no-ops included).
    pub entries_applied: u64,
    /// Turns woken by a submission that first let the runtime run other ready tasks, to
    /// gather more submissions into the proposal ([`super::NodeOptions::eager_proposals`]).
    pub gathers: u64,
    /// Confirmation rounds of local readers given to the core (one [`crate::core::Core::read`]
    /// each, however many ReadIndex or lease reads joined the round).
    pub read_rounds: u64,
}

impl LoopCounters {
    /// What was counted between `earlier` and `self`.
    pub fn since(&self, earlier: &LoopCounters) -> LoopCounters {
        LoopCounters {
            turns: self.turns - earlier.turns,
            proposals: self.proposals - earlier.proposals,
            commands_proposed: self.commands_proposed - earlier.commands_proposed,
            log_appends: self.log_appends - earlier.log_appends,
            entries_appended: self.entries_appended - earlier.entries_appended,
            sends: self.sends - earlier.sends,
            append_entries_sent: self.append_entries_sent - earlier.append_entries_sent,
            entries_sent: self.entries_sent - earlier.entries_sent,
            results: self.results - earlier.results,
            requests: self.requests - earlier.requests,
            entries_applied: self.entries_applied - earlier.entries_applied,
            gathers: self.gathers - earlier.gathers,
            read_rounds: self.read_rounds - earlier.read_rounds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_subtracts_every_counter() {
        let earlier = LoopCounters {
            turns: 1,
            proposals: 2,
            commands_proposed: 3,
            log_appends: 4,
            entries_appended: 5,
            sends: 6,
            append_entries_sent: 7,
            entries_sent: 8,
            results: 9,
            requests: 10,
            entries_applied: 11,
            gathers: 12,
            read_rounds: 13,
        };
        let later = LoopCounters {
            turns: 11,
            proposals: 22,
            commands_proposed: 33,
            log_appends: 44,
            entries_appended: 55,
            sends: 66,
            append_entries_sent: 77,
            entries_sent: 88,
            results: 99,
            requests: 110,
            entries_applied: 121,
            gathers: 132,
            read_rounds: 143,
        };
        let window = later.since(&earlier);
        assert_eq!(window.turns, 10);
        assert_eq!(window.proposals, 20);
        assert_eq!(window.commands_proposed, 30);
        assert_eq!(window.log_appends, 40);
        assert_eq!(window.entries_appended, 50);
        assert_eq!(window.sends, 60);
        assert_eq!(window.append_entries_sent, 70);
        assert_eq!(window.entries_sent, 80);
        assert_eq!(window.results, 90);
        assert_eq!(window.requests, 100);
        assert_eq!(window.entries_applied, 110);
        assert_eq!(window.gathers, 120);
        assert_eq!(window.read_rounds, 130);
    }
}
