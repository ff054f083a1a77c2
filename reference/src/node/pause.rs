//! [`PauseSwitch`]: freeze a node's event loop from outside, as SIGSTOP or a long GC pause
//! would, while its timers, its peers and its clients go on.

use std::sync::Arc;

use tokio::sync::watch;

/// A test-facing switch that pauses a node's event loop (see [`super::NodeOptions::pause_switch`]).
///
/// While paused, the event loop waits at the top of its next iteration and handles nothing:
/// no ticks, no RPCs, no results of its own RPCs, no submissions, no applies. What arrives
/// meanwhile queues in the node's bounded channels (senders then wait) and callers give up by
/// their own deadlines. The tasks around the loop keep running, as a kernel would for a
/// stopped process: the transport still reads and queues requests, and RPCs already sent may
/// still complete (their results wait for the loop). A pause does not stop
/// [`super::Node::stop`].
///
/// On resume the loop continues where it was; its timers, set before the pause, are overdue
/// and fire at once, as after a real pause. Built on `tokio::sync::watch` only: no threads, no
/// clock of its own, so it is deterministic in paused tokio time and under turmoil.
///
/// Clones share one switch. The switch outlives node restarts: a node started with a paused
/// switch starts paused. Flipping a switch no node holds does nothing.
#[derive(Clone, Debug)]
pub struct PauseSwitch {
    paused: Arc<watch::Sender<bool>>,
}

impl PauseSwitch {
    /// A switch, not paused.
    pub fn new() -> PauseSwitch {
        PauseSwitch {
            paused: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Pause the node(s) holding this switch: their event loops stop at once (before their
    /// next event). Pausing a paused switch does nothing.
    pub fn pause(&self) {
        self.paused
            .send_if_modified(|paused| !std::mem::replace(paused, true));
    }

    /// Let the event loops run again. Resuming a running switch does nothing.
    pub fn resume(&self) {
        self.paused
            .send_if_modified(|paused| std::mem::replace(paused, false));
    }

    /// Whether the switch is paused.
    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    /// Wait until the switch is not paused (at once if it is not). For code beside a node
    /// that should freeze with it.
    pub async fn resumed(&self) {
        let mut watching = self.paused.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = watching.wait_for(|paused| !paused).await;
    }

    /// A receiver for the event loop.
    pub(super) fn subscribe(&self) -> watch::Receiver<bool> {
        self.paused.subscribe()
    }
}

impl Default for PauseSwitch {
    fn default() -> Self {
        PauseSwitch::new()
    }
}
