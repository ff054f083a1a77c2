//! `hold-first-append`: `depose`'s leader changes (see [`super::depose`]), with the
//! successor's first entry held back: when a successor wins, the AppendEntries it sends with
//! entries (its no-op first) are held 40 to 90 ms on the way, while its heartbeats pass. It
//! is then confirmed leader by a majority (its heartbeats answered) before the entry of its
//! term commits: the window in which a ReadIndex read must still wait for that entry
//! (dissertation §6.4 step 1), since the successor's commit index may lag behind what its
//! predecessor acknowledged.

use rand_chacha::ChaCha8Rng;

use crate::nemesis::kind::{Claim, Draw, Fault, Watcher};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::depose::{Deposing, Successor};

/// The leader change of the module's doc. Not in `all` (adding a kind there moves every
/// recorded catalogue seed): the catalogue's `read-index-before-term-commit` adds it.
pub struct HoldFirstAppend;

impl Fault for HoldFirstAppend {
    fn name(&self) -> &'static str {
        "hold-first-append"
    }

    fn summary(&self) -> &'static str {
        "isolate the leader just after it committed a write the others do not know is \
         committed; when a successor wins, hold its AppendEntries with entries 40-90 ms while \
         its heartbeats pass; heal once it committed past the old leader"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        false
    }

    fn claim(&self) -> Claim {
        Claim::Links
    }

    fn overlaps(&self) -> bool {
        // It claims the links, yet holds the successor's messages, which a node fault (such
        // as `replay`) may hold.
        false
    }

    /// Nothing planned ahead: the [`Deposing`] watcher reacts to the leaders reported.
    fn plan(&self, _draw: Draw<'_>, _rng: &mut ChaCha8Rng) -> Plan {
        Plan::new(
            "depose the leader, hold its successor's entries".to_owned(),
            Vec::new(),
        )
    }

    fn watcher(&self, _plan: &Plan) -> Option<Box<dyn Watcher>> {
        Some(Box::new(Deposing::with(Successor::HoldEntries)))
    }
}
