//! The start path: read a [`Log`]'s persisted state into a [`Core`], refusing a log that breaks
//! its contract.
//!
//! A `Log` is the user's code. Whatever it returns at start is input, checked here against the
//! contract its documentation states, and a broken promise is a [`StartError::LogContract`]
//! naming what was wrong and at which index: never a panic, and never a node running on a log
//! it cannot trust. The [`Core`] then asserts only what the library itself maintains.

use std::time::Duration;

use super::envelope;
use super::handle::peers_by_id;
use super::{NodeOptions, StartError};
use crate::core::{Core, StartState};
use crate::log::Log;
use crate::membership::Membership;
use crate::peers_provider::PeersProvider;
use crate::settings::{Config, Settings};
use crate::snapshot::{SnapshotMeta, SnapshotReader, SnapshotStore};
use crate::state_machine::StateMachine;
use crate::types::{Entry, LogIndex, NodeId, Term};

/// How a [`Log`] broke its contract, as found when a node loads it at start. Each names the
/// index where the log went wrong. A bug in that `Log` implementation, not in rafty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogContractViolation {
    /// `last_index()` is `u64::MAX`: the log has no room for a next entry, and
    /// `entries(first_index(), last_index() + 1)` cannot be asked.
    #[error("last_index() is {index}, leaving no index for the next entry")]
    LastIndexTooLarge {
        /// The log's last index.
        index: LogIndex,
    },
    /// `entries(first_index(), last_index() + 1)` returned a different number of entries
    /// than `first_index()..=last_index()` holds.
    #[error(
        "entries(first_index(), last_index() + 1) returned {returned} entries, expected \
         {expected} (first_index() to last_index()); the first missing or extra index is \
         {index}"
    )]
    WrongEntryCount {
        /// The first index the answer lacks (or the first one too many).
        index: LogIndex,
        /// How many entries the log's first and last index promise.
        expected: u64,
        /// How many `entries` returned.
        returned: u64,
    },
    /// The entry `entries` returned at the place of `index` carries another index: the
    /// indices are not contiguous from 1.
    #[error("entries(..) returned the entry with index {found} where index {index} belongs")]
    WrongIndex {
        /// The index the entry should have.
        index: LogIndex,
        /// The index it carries.
        found: LogIndex,
    },
    /// An entry of term 0: terms of entries start at 1 (term 0 is the empty log's sentinel).
    #[error("entry {index} has term 0; the terms of entries start at 1")]
    ZeroTerm {
        /// The entry's index.
        index: LogIndex,
    },
    /// An entry's term is below its predecessor's: terms never decrease along a log (§5.3).
    #[error(
        "entry {index} has term {term}, below the term {previous_term} of the entry before it; \
         terms never decrease along the log"
    )]
    TermDecreases {
        /// The entry's index.
        index: LogIndex,
        /// Its term.
        term: Term,
        /// The term of the entry at `index - 1`.
        previous_term: Term,
    },
    /// `term(index)` disagrees with the entry at `index` (`None` inside the log, or another
    /// term), or `term(0)` is not `Some(0)`.
    #[error("term({index}) returned {returned:?}, but the entry at {index} has term {term}")]
    TermMismatch {
        /// The index asked.
        index: LogIndex,
        /// What `term` returned.
        returned: Option<Term>,
        /// The term of the entry there (0 for the sentinel index 0).
        term: Term,
    },
    /// `term(last_index() + 1)` returned a term: past the end it must be `None`.
    #[error("term({index}) returned Some({returned}) past last_index(); expected None")]
    TermPastTheEnd {
        /// The index just past the last.
        index: LogIndex,
        /// The term it returned.
        returned: Term,
    },
    /// The hard state's current term is below the term of the last entry: a node's current
    /// term is the latest it has seen (Figure 2), so at least every term in its log.
    #[error(
        "the hard state's current term {current_term} is below the term {term} of entry {index}"
    )]
    TermAboveCurrentTerm {
        /// The index of the last entry.
        index: LogIndex,
        /// Its term.
        term: Term,
        /// The hard state's current term.
        current_term: Term,
    },
}

impl LogContractViolation {
    /// The index where the log broke its contract.
    pub fn index(&self) -> LogIndex {
        match *self {
            LogContractViolation::LastIndexTooLarge { index }
            | LogContractViolation::WrongEntryCount { index, .. }
            | LogContractViolation::WrongIndex { index, .. }
            | LogContractViolation::ZeroTerm { index }
            | LogContractViolation::TermDecreases { index, .. }
            | LogContractViolation::TermMismatch { index, .. }
            | LogContractViolation::TermPastTheEnd { index, .. }
            | LogContractViolation::TermAboveCurrentTerm { index, .. } => index,
        }
    }
}

/// Build node `id`'s core from its latest snapshot and `log`'s persisted state: restore the
/// state machine from the snapshot, read only the log after the compacted prefix (checked
/// by [`read_log`]), and start the core with its commit index at the snapshot's.
pub(super) fn load_core(
    id: NodeId,
    log: &mut dyn Log,
    state_machine: &mut dyn StateMachine,
    store: &dyn SnapshotStore,
    peers: &dyn PeersProvider,
    settings: &dyn Settings,
    options: &NodeOptions,
) -> Result<Core, StartError> {
    let snapshot = store.latest()?;
    let mut state = read_log(log, snapshot)?;
    if let Some(meta) = snapshot {
        let mut reader = SnapshotReader::new(store, meta, settings.snapshot_chunk_bytes());
        let restored = envelope::read(&mut reader).and_then(|(membership, mut data)| {
            state_machine.restore(meta.last_included_index, &mut data)?;
            Ok(membership)
        });
        state.snapshot_membership = restored.map_err(|error| StartError::Restore {
            index: meta.last_included_index,
            reason: error.to_string(),
        })?;
    }
    #[cfg(feature = "mutations")]
    if options
        .mutations
        .contains(&crate::core::Mutation::RestartFromBootstrapConfiguration)
    {
        // The planted bug: the snapshot's configuration is forgotten.
        state.snapshot_membership = None;
    }
    let seed = options.seed ^ id.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let config = Config::from_settings(settings);
    let bootstrap = options
        .initial_membership
        .clone()
        .unwrap_or_else(|| Membership::new(peers_by_id(peers).into_keys().chain([id])));
    let mut core =
        Core::restart_with_membership(id, bootstrap, config, state, Duration::ZERO, seed);
    core.set_check_invariants(options.check_invariants);
    #[cfg(feature = "mutations")]
    core.set_mutations(&options.mutations);
    Ok(core)
}

/// The hard state and the entries of `log` after its compacted prefix, checked against the
/// `Log` contract and against the latest `snapshot`: what [`Core::restart`] needs (entries
/// contiguous from the first index, terms from 1 and non-decreasing from the compacted
/// term, none above the current term; the snapshot's entry held with its term), and `term`
/// agreeing with the entries, the compacted index and the end.
///
/// A log that lacks the snapshot's last included entry (or holds another term there) is
/// compacted through it first, as the follower that installed the snapshot would have done
/// had it not crashed between making the snapshot durable and compacting its log (Figure 13
/// step 7: discard the whole log).
fn read_log(log: &mut dyn Log, snapshot: Option<SnapshotMeta>) -> Result<StartState, StartError> {
    let first_index = log.first_index();
    match snapshot {
        None if first_index != 1 => return Err(StartError::CompactedLog { first_index }),
        Some(meta) if meta.last_included_index < first_index.saturating_sub(1) => {
            return Err(StartError::SnapshotBehindLog {
                snapshot_index: meta.last_included_index,
                first_index,
            });
        }
        Some(meta) if log.term(meta.last_included_index)? != Some(meta.last_included_term) => {
            log.compact(meta.last_included_index, meta.last_included_term)?;
        }
        _ => {}
    }
    let first_index = log.first_index();
    let compacted_index = first_index.saturating_sub(1);
    let compacted_term = log
        .term(compacted_index)?
        .ok_or(LogContractViolation::TermMismatch {
            index: compacted_index,
            returned: None,
            term: 0,
        })?;
    let last_index = log.last_index();
    let end = last_index
        .checked_add(1)
        .ok_or(LogContractViolation::LastIndexTooLarge { index: last_index })?;
    let entries = log.entries(first_index, end)?;
    let returned = entries.len() as u64;
    let expected = end.saturating_sub(first_index);
    if returned != expected {
        return Err(LogContractViolation::WrongEntryCount {
            index: compacted_index + returned.min(expected) + 1,
            expected,
            returned,
        }
        .into());
    }
    check_term(log, 0, 0)?;
    let mut previous_term = compacted_term;
    for (entry, index) in entries.iter().zip(first_index..) {
        check_entry(entry, index, previous_term)?;
        check_term(log, index, entry.term)?;
        previous_term = entry.term;
    }
    if let Some(returned) = log.term(end)? {
        return Err(LogContractViolation::TermPastTheEnd {
            index: end,
            returned,
        }
        .into());
    }
    let hard_state = log.hard_state();
    if previous_term > hard_state.current_term {
        return Err(LogContractViolation::TermAboveCurrentTerm {
            index: last_index,
            term: previous_term,
            current_term: hard_state.current_term,
        }
        .into());
    }
    Ok(StartState {
        hard_state,
        snapshot: snapshot.map(|meta| (meta.last_included_index, meta.last_included_term)),
        snapshot_membership: None,
        compacted: (compacted_index, compacted_term),
        entries,
    })
}

/// The entry read at `index` carries that index and a term from 1, not below `previous_term`.
fn check_entry(
    entry: &Entry,
    index: LogIndex,
    previous_term: Term,
) -> Result<(), LogContractViolation> {
    if entry.index != index {
        return Err(LogContractViolation::WrongIndex {
            index,
            found: entry.index,
        });
    }
    if entry.term == 0 {
        return Err(LogContractViolation::ZeroTerm { index });
    }
    if entry.term < previous_term {
        return Err(LogContractViolation::TermDecreases {
            index,
            term: entry.term,
            previous_term,
        });
    }
    Ok(())
}

/// `log.term(index)` is `Some(term)`.
fn check_term(log: &dyn Log, index: LogIndex, term: Term) -> Result<(), StartError> {
    let returned = log.term(index)?;
    if returned != Some(term) {
        return Err(LogContractViolation::TermMismatch {
            index,
            returned,
            term,
        }
        .into());
    }
    Ok(())
}
