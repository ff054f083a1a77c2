//! Each node's clock as the `clock` nemesis leaves it: an offset that jumps (forward or back)
//! and a rate that drifts (fast or slow), read by the node's driver through
//! [`rafty::node::Clock`]. Made outside the hosts and kept across restarts (the node's
//! hardware clock), like the pause switches.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rafty::NodeId;

use crate::nemesis::action::ClockDraw;

/// Parts per million in one.
const MILLION: i128 = 1_000_000;

/// A clock's skew from simulated time: `offset(t) = offset_ns + (t - anchor_ns) * drift_ppm /
/// 1e6`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Skew {
    offset_ns: i128,
    anchor_ns: i128,
    drift_ppm: i64,
}

impl Skew {
    fn offset_at(&self, now_ns: i128) -> i128 {
        self.offset_ns + (now_ns - self.anchor_ns) * i128::from(self.drift_ppm) / MILLION
    }
}

/// One node's skewed clock (clones share it).
#[derive(Clone, Debug, Default)]
pub struct SkewedClock {
    skew: Arc<Mutex<Skew>>,
}

impl SkewedClock {
    fn skew(&self) -> Skew {
        *self.skew.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Jump by `draw.jump_ms` and run `draw.drift_ppm` fast (slow if negative) from `now`.
    pub fn apply(&self, draw: ClockDraw, now: Duration) {
        let now_ns = now.as_nanos() as i128;
        let mut skew = self.skew.lock().unwrap_or_else(|p| p.into_inner());
        let offset_ns = skew.offset_at(now_ns) + i128::from(draw.jump_ms) * 1_000_000;
        *skew = Skew {
            offset_ns,
            anchor_ns: now_ns,
            drift_ppm: draw.drift_ppm,
        };
    }

    /// Back to the true time (a jump by whatever the skew was) and rate.
    pub fn reset(&self) {
        *self.skew.lock().unwrap_or_else(|p| p.into_inner()) = Skew::default();
    }

    /// How far ahead of simulated time the clock is at `now` (negative: behind), in ms.
    pub fn offset_ms_at(&self, now: Duration) -> i64 {
        (self.skew().offset_at(now.as_nanos() as i128) / 1_000_000) as i64
    }
}

impl rafty::node::Clock for SkewedClock {
    fn local(&self, elapsed: Duration) -> Duration {
        let offset = self
            .skew()
            .offset_at(super::clock::now().as_nanos() as i128);
        let local = (elapsed.as_nanos() as i128 + offset).max(0);
        Duration::from_nanos(local.min(i128::from(u64::MAX)) as u64)
    }

    fn real_delay(&self, local: Duration) -> Duration {
        let rate = MILLION + i128::from(self.skew().drift_ppm);
        let real = local.as_nanos() as i128 * MILLION / rate.max(1);
        Duration::from_nanos(real.clamp(0, i128::from(u64::MAX)) as u64)
    }
}

/// Each node's [`SkewedClock`].
#[derive(Clone, Debug, Default)]
pub struct ClockSkews {
    clocks: BTreeMap<NodeId, SkewedClock>,
}

impl ClockSkews {
    /// One true clock per node of `nodes`.
    pub fn new(nodes: &[NodeId]) -> ClockSkews {
        let clocks = nodes
            .iter()
            .map(|&id| (id, SkewedClock::default()))
            .collect();
        ClockSkews { clocks }
    }

    /// Node `id`'s clock (a clone sharing it). Panics for an unknown node.
    pub fn clock(&self, id: NodeId) -> SkewedClock {
        self.clocks
            .get(&id)
            .unwrap_or_else(|| panic!("no clock for n{id}"))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jump_and_a_drift_move_the_offset_and_a_reset_undoes_them() {
        let clock = SkewedClock::default();
        let at = Duration::from_secs(1);
        clock.apply(
            ClockDraw {
                jump_ms: -5,
                drift_ppm: 10_000,
            },
            at,
        );
        assert_eq!(clock.offset_ms_at(at), -5);
        // 1% fast: 10 ms gained per second.
        assert_eq!(clock.offset_ms_at(at + Duration::from_secs(1)), 5);
        clock.reset();
        assert_eq!(clock.offset_ms_at(at), 0);
    }

    #[test]
    fn a_fast_clock_reaches_a_local_delay_sooner() {
        let clock = SkewedClock::default();
        clock.apply(
            ClockDraw {
                jump_ms: 0,
                drift_ppm: 250_000,
            },
            Duration::ZERO,
        );
        let real = rafty::node::Clock::real_delay(&clock, Duration::from_millis(125));
        assert_eq!(real, Duration::from_millis(100));
    }
}
