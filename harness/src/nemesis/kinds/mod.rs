//! The registry of fault kinds: one file each, one line each below.
//!
//! To add a kind: write `kinds/<name>.rs` with a unit struct implementing
//! [`super::kind::Fault`], and add `<file> => <Struct>,` to the `registry!` list. Its place in
//! the list is its place in the order the seed draws kinds from, so add new kinds at the end
//! (moving one changes every history drawn with it).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use rafty::NodeId;

use super::kind::{Draw, Fault};

mod staged_cut;

/// Declares each kind's module and lists its fault in [`KINDS`].
macro_rules! registry {
    ($($module:ident => $fault:ident,)*) => {
        $(pub mod $module;)*

        /// Every fault kind, in the order the seed draws from and `--nemesis` lists them.
        pub static KINDS: &[&dyn Fault] = &[$(&$module::$fault,)*];
    };
}

registry! {
    partition => Partition,
    kill => Kill,
    power => Power,
    power_mid_write => PowerMidWrite,
    pause => Pause,
    latency => Latency,
    clog => Clog,
    disk => Disk,
    corrupt => Corrupt,
    figure8 => Figure8,
    install_snapshot => InstallSnapshot,
    replay => Replay,
    membership => Membership,
    clock => Clock,
    clock_storm => ClockStorm,
    depose => Depose,
    hold_first_append => HoldFirstAppend,
    clock_bound => ClockBound,
}

/// One node of `draw.nodes`, uniformly.
pub fn pick(draw: &Draw<'_>, rng: &mut ChaCha8Rng) -> NodeId {
    draw.nodes[rng.random_range(0..draw.nodes.len())]
}

/// The leader half the time when there is one (a fault aimed where it hurts most), otherwise
/// [`pick`].
pub fn leader_or_pick(draw: &Draw<'_>, rng: &mut ChaCha8Rng) -> NodeId {
    match draw.leader.filter(|_| rng.random_bool(0.5)) {
        Some(node) => node,
        None => pick(draw, rng),
    }
}
