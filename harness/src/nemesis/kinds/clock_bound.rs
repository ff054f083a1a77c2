//! `clock-bound`: `depose`'s leader changes (see [`super::depose`]) with the leader's clock
//! running slow, as far as the lease reads' drift bound allows and no further. A lease
//! (dissertation §6.4.1) holds for the minimum election timeout less a margin, the bound on
//! how far clocks may drift within one lease; the run's margin (`--lease-margin-percent`,
//! reaching the fault as [`Watch::drift_bound_ppm`]) is that bound. Each round slows the
//! leader's clock (by nine tenths of the bound to all of it) from the round's start, cuts the
//! leader off from the other nodes (clients still reach it) the moment a majority answered
//! its next heartbeat ([`ReplayDraw::cut_after_heartbeats`]: the network loses every later
//! request of it, and the isolation follows), waits for a successor to commit past it, then
//! sets the clock right and heals.
//!
//! Why right after a heartbeat: the lease runs from when the last round a majority answered
//! was *sent*, while the followers refuse an election for a timeout after they last *heard*
//! from the leader. Every AppendEntries carrying a write renews the latter and not the
//! former, so a leader cut off at a random moment under load (as `depose` cuts it, right
//! after a commit) left its followers' refusal ending up to a heartbeat interval after its
//! lease, which swallowed the few ms a lease without its margin outlives it.
//!
//! Within the bound a correct lease stays safe: a leader slow by the whole bound ends its
//! lease at the minimum election timeout in true time, before the followers that heard its
//! round may elect another (one clock skewed at a time: the kind may not overlap). A lease
//! without its margin outlives that by a quarter of the election timeout at a 20% bound,
//! and serves stale reads when a successor commits a write meanwhile. Beyond the bound:
//! `clock-storm`.
//!
//! [`Watch::drift_bound_ppm`]: crate::nemesis::kind::Watch::drift_bound_ppm
//! [`ReplayDraw::cut_after_heartbeats`]: crate::nemesis::action::ReplayDraw::cut_after_heartbeats

use rand_chacha::ChaCha8Rng;

use crate::nemesis::kind::{Claim, Draw, Fault, Watcher};
use crate::nemesis::plan::Plan;
use crate::run::config::LogKind;

use super::depose::Deposing;

/// Deposed leaders with clocks slow within the lease's drift bound.
pub struct ClockBound;

impl Fault for ClockBound {
    fn name(&self) -> &'static str {
        "clock-bound"
    }

    fn summary(&self) -> &'static str {
        "within the lease's drift bound: the leader's clock runs slow by up to the bound \
         (--lease-margin-percent of the election timeout) and it is cut off from the other \
         nodes right after a majority answered its next heartbeat, until a successor \
         committed past it (a correct lease survives it)"
    }

    fn in_all(&self, _log: LogKind) -> bool {
        false
    }

    fn overlaps(&self) -> bool {
        // It claims the links, yet skews the leader's clock, which a node fault may hold.
        false
    }

    fn skews_clocks(&self) -> bool {
        true
    }

    fn claim(&self) -> Claim {
        Claim::Links
    }

    /// Nothing planned ahead: the [`Deposing`] watcher reacts to the leaders reported.
    fn plan(&self, _draw: Draw<'_>, _rng: &mut ChaCha8Rng) -> Plan {
        Plan::new(
            "depose the leader, its clock slow within the lease's bound".to_owned(),
            Vec::new(),
        )
    }

    fn watcher(&self, _plan: &Plan) -> Option<Box<dyn Watcher>> {
        Some(Box::new(Deposing::slowing_leader()))
    }
}
