//! The nemesis: injects faults into the simulated cluster from the outer `Sim::step` loop
//! (only the `Sim` can crash and restart hosts), on a schedule derived from the run seed.
//!
//! By default one fault is active at a time: a healthy gap, a fault, a healthy gap... With
//! `--nemesis-overlap N`, N such schedules run side by side, each drawn from the seed, so up to
//! N faults are in effect at once; they never fight over a node or the network, by the claim
//! rule of [`claims`]. From the time limit on, nothing new starts and everything still in
//! effect is healed at once, so the quiet period that follows sees a healthy cluster.

pub mod action;
pub mod claims;
pub mod fault;
pub mod figure8;
pub mod partition;
pub mod plan;
pub mod schedule;

pub use action::{Action, ClusterView, Network};
pub use fault::{FaultKind, KindList, parse_kind_list, parse_kinds};
pub use schedule::{Nemesis, NemesisEvent, NemesisOptions, most_faults_at_once};
