//! The configurations in a node's log (dissertation §4.1): the one in effect is the latest in
//! the log, committed or not, and goes back to the previous one if its entry is truncated.
//! The configuration as of the snapshot (or the bootstrap one) is kept as the base.

use crate::membership::Membership;
use crate::types::{Entry, LogIndex, Payload};

/// The configurations known to a node: a base as of some index (the snapshot's last
/// included index, or 0 for the bootstrap configuration), then every configuration entry of
/// the log after it.
#[derive(Clone, Debug)]
pub(super) struct Configurations {
    /// The configuration as of `base.0`.
    base: (LogIndex, Membership),
    /// The configuration entries after `base.0`, in index order.
    entries: Vec<(LogIndex, Membership)>,
}

impl Configurations {
    /// `base` as of `base_index`, then the configuration entries of `log` after it.
    pub(super) fn new(base_index: LogIndex, base: Membership, log: &[Entry]) -> Configurations {
        let mut configurations = Configurations {
            base: (base_index, base),
            entries: Vec::new(),
        };
        let after_base: Vec<Entry> = log
            .iter()
            .filter(|entry| entry.index > base_index)
            .cloned()
            .collect();
        configurations.appended(&after_base);
        configurations
    }

    /// The configuration in effect: the latest one in the log (§4.1).
    pub(super) fn in_effect(&self) -> &Membership {
        self.entries.last().map_or(&self.base.1, |(_, m)| m)
    }

    /// The index of the entry that holds the configuration in effect (the base's index if
    /// no entry after it does).
    pub(super) fn in_effect_index(&self) -> LogIndex {
        self.entries.last().map_or(self.base.0, |(index, _)| *index)
    }

    /// The configuration in effect at `index`: the latest at or before it.
    pub(super) fn at(&self, index: LogIndex) -> &Membership {
        self.entries
            .iter()
            .rev()
            .find(|(at, _)| *at <= index)
            .map_or(&self.base.1, |(_, m)| m)
    }

    /// The number of configuration entries after `index`.
    pub(super) fn entries_after(&self, index: LogIndex) -> usize {
        self.indices_after(index).count()
    }

    /// The indices of the configuration entries after `index`.
    pub(super) fn indices_after(&self, index: LogIndex) -> impl Iterator<Item = LogIndex> + '_ {
        self.entries
            .iter()
            .map(|(at, _)| *at)
            .filter(move |at| *at > index)
    }

    /// Entries were appended to the log: their configurations take effect now. Returns
    /// whether the configuration in effect changed.
    pub(super) fn appended(&mut self, entries: &[Entry]) -> bool {
        let before = self.entries.len();
        for entry in entries {
            if let Payload::Membership(membership) = &entry.payload {
                assert!(
                    entry.index > self.in_effect_index(),
                    "configuration entries are appended in index order"
                );
                self.entries.push((entry.index, membership.clone()));
            }
        }
        self.entries.len() != before
    }

    /// The log was truncated from `from`: configurations there are gone, and the previous
    /// one is in effect again (§4.1). Returns whether the configuration in effect changed.
    pub(super) fn truncated(&mut self, from: LogIndex) -> bool {
        assert!(
            from > self.base.0,
            "truncation from {from} reaches behind the snapshot's configuration at {}",
            self.base.0
        );
        let before = self.entries.len();
        self.entries.retain(|(index, _)| *index < from);
        self.entries.len() != before
    }

    /// A snapshot through `index` now covers the log up to there: its configuration is the
    /// new base (`membership`, or the one known at `index` when the snapshot carries none),
    /// and entries after `index` that the log keeps stay in effect on top of it.
    pub(super) fn snapshot(&mut self, index: LogIndex, membership: Option<Membership>) {
        if index < self.base.0 {
            return;
        }
        let membership = membership.unwrap_or_else(|| self.at(index).clone());
        self.entries.retain(|(at, _)| *at > index);
        self.base = (index, membership);
    }

    /// The log was discarded and replaced by a snapshot through `index`: only its
    /// configuration is known.
    pub(super) fn reset(&mut self, index: LogIndex, membership: Option<Membership>) {
        let membership = membership.unwrap_or_else(|| self.at(index).clone());
        self.entries.clear();
        self.base = (index, membership);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: LogIndex, payload: Payload) -> Entry {
        Entry {
            term: 1,
            index,
            payload,
        }
    }

    fn configuration(index: LogIndex, voters: &[u64]) -> Entry {
        entry(
            index,
            Payload::Membership(Membership::new(voters.iter().copied())),
        )
    }

    /// §4.1: a server uses the latest configuration in its log, committed or not, and falls
    /// back to the previous one when that entry is removed by a conflict.
    #[test]
    fn latest_configuration_in_the_log_is_in_effect_and_reverts_on_truncation() {
        let log = [
            entry(1, Payload::Noop),
            configuration(2, &[1, 2, 3, 4]),
            entry(3, Payload::Noop),
        ];
        let mut configurations = Configurations::new(0, Membership::new([1, 2, 3]), &log);
        assert_eq!(configurations.in_effect(), &Membership::new([1, 2, 3, 4]));
        assert_eq!(configurations.at(1), &Membership::new([1, 2, 3]));
        configurations.appended(&[configuration(4, &[1, 2, 4])]);
        assert_eq!(configurations.in_effect_index(), 4);
        assert_eq!(configurations.entries_after(2), 1);
        configurations.truncated(4);
        assert_eq!(configurations.in_effect(), &Membership::new([1, 2, 3, 4]));
        configurations.truncated(2);
        assert_eq!(configurations.in_effect(), &Membership::new([1, 2, 3]));
    }

    /// §5.4 (snapshot metadata holds the latest configuration as of its index): after a
    /// snapshot the base is its configuration; later entries stay in effect on top.
    #[test]
    fn snapshot_configuration_becomes_the_base() {
        let log = [configuration(2, &[1, 2]), configuration(5, &[1, 2, 3])];
        let mut configurations = Configurations::new(0, Membership::new([1]), &log);
        configurations.snapshot(3, None);
        assert_eq!(configurations.at(3), &Membership::new([1, 2]));
        assert_eq!(configurations.in_effect(), &Membership::new([1, 2, 3]));
        configurations.reset(9, Some(Membership::new([7, 8, 9])));
        assert_eq!(configurations.in_effect(), &Membership::new([7, 8, 9]));
        assert_eq!(configurations.in_effect_index(), 9);
        let restarted = Configurations::new(5, Membership::new([4]), &log);
        assert_eq!(
            restarted.in_effect(),
            &Membership::new([4]),
            "entry 5 is the base's"
        );
    }
}
