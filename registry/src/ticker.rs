//! The leader's clock in the log: while this node leads, it proposes a [`Command::Tick`] every
//! interval, and leases expire when a tick passes their deadline. A follower's ticker does
//! nothing, so the only clock the state machine ever sees is one a leader proposed.

use std::time::Duration;

use rafty::Node;
use rafty::core::Role;

use crate::clock::{RegistryClock, wall_clock};
use crate::command::Command;

/// How often a leader ticks by default: the finest a lease's expiry is observed.
pub const DEFAULT_TICK_INTERVAL: Duration = Duration::from_millis(250);

/// Spawn the ticker of `node` on the wall clock (ends when the node stops).
pub fn spawn_ticker(node: Node, interval: Duration) -> tokio::task::JoinHandle<()> {
    spawn_ticker_with(node, interval, wall_clock())
}

/// Spawn the ticker of `node`, stamping its ticks with `clock` (ends when the node stops).
pub fn spawn_ticker_with(
    node: Node,
    interval: Duration,
    clock: RegistryClock,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
            let status = node.status();
            if !status.running {
                return;
            }
            if status.role != Role::Leader {
                continue;
            }
            let now_ms = clock();
            let tick = Command::Tick {
                now_ms,
                term: status.term,
            };
            // A tick that fails (the node lost leadership, a timeout) is simply the next
            // leader's to make: nothing waits for it.
            if let Err(error) = node.submit(tick.encode()).await {
                tracing::debug!(%error, "registry tick not applied");
            }
        }
    })
}
