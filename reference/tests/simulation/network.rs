//! The simulated network: a time-ordered queue of packets, drops, and one partition at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rafty::{Message, NodeId};

/// How long a caller takes to notice a lost request or response (its RPC timeout).
pub const FAILURE_DETECTION: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
pub enum PacketKind {
    /// A request; `reply_to` is the caller's incarnation, so answers to a restarted caller
    /// are discarded (its new core never sent the request).
    Request { message: Message, reply_to: u64 },
    /// The answer to `request`.
    Response {
        request: Message,
        response: Message,
        incarnation: u64,
    },
    /// The caller's RPC for `request` failed (lost request or response, callee down).
    Failed { request: Message, incarnation: u64 },
}

#[derive(Clone, Debug)]
pub struct Packet {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: PacketKind,
}

#[derive(Default)]
pub struct Network {
    queue: BTreeMap<(Duration, u64), Packet>,
    sequence: u64,
    /// One side of a partition and when it heals.
    partition: Option<(BTreeSet<NodeId>, Duration)>,
}

impl Network {
    pub fn next_time(&self) -> Option<Duration> {
        self.queue.keys().next().map(|(time, _)| *time)
    }

    pub fn pop(&mut self) -> Option<Packet> {
        self.queue.pop_first().map(|(_, packet)| packet)
    }

    pub fn push(&mut self, from: NodeId, to: NodeId, kind: PacketKind, at: Duration) {
        self.sequence += 1;
        self.queue
            .insert((at, self.sequence), Packet { from, to, kind });
    }

    /// Send a request; a lost one comes back to the caller as a failure after the timeout.
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        from: NodeId,
        incarnation: u64,
        to: NodeId,
        message: Message,
        now: Duration,
        delay: Duration,
        dropped: bool,
    ) {
        if dropped || self.blocked(from, to, now) {
            let failed = PacketKind::Failed {
                request: message,
                incarnation,
            };
            self.push(to, from, failed, now + FAILURE_DETECTION);
        } else {
            let request = PacketKind::Request {
                message,
                reply_to: incarnation,
            };
            self.push(from, to, request, now + delay);
        }
    }

    pub fn blocked(&self, from: NodeId, to: NodeId, now: Duration) -> bool {
        match &self.partition {
            Some((side, until)) if now < *until => side.contains(&from) != side.contains(&to),
            _ => false,
        }
    }

    pub fn partition(&mut self, side: BTreeSet<NodeId>, until: Duration) {
        self.partition = Some((side, until));
    }

    pub fn heal(&mut self) {
        self.partition = None;
    }
}
