//! The nemesis: injects faults into the simulated cluster from the outer `Sim::step` loop
//! (only the `Sim` can crash and restart hosts), on a schedule derived from the run seed.
//!
//! Each fault kind is one file under [`kinds`] implementing [`kind::Fault`] (its name, whether
//! `all` includes it, what it claims, how it is drawn from the seed, how it starts and stops)
//! and one line in the registry there; the scheduler ([`schedule`]), the claim rule
//! ([`claims`]), the command line and the reports know kinds only through that trait.
//!
//! By default one fault is active at a time: a healthy gap, a fault, a healthy gap... With
//! `--nemesis-overlap N`, N such schedules run side by side, each drawn from the seed, so up to
//! N faults are in effect at once; they never fight over a node or the network, by the claim
//! rule of [`claims`]. From the time limit on, nothing new starts and everything still in
//! effect is healed at once, so the quiet period that follows sees a healthy cluster.

pub mod action;
pub mod claims;
pub mod kind;
pub mod kinds;
pub mod list;
pub mod listed;
pub mod partition;
pub mod plan;
pub mod schedule;
#[cfg(test)]
mod test_support;

pub use action::{Action, ClusterView, Network};
pub use kind::{Claim, Draw, Fault, FaultKind, Watch, Watcher};
pub use list::{KindList, parse_kind_list, parse_kinds};
pub use listed::{FaultRecord, FaultStop, Listed, TimedAction};
pub use schedule::{
    Drawn, FaultSource, Nemesis, NemesisEvent, NemesisOptions, most_faults_at_once,
};
