//! [`Submitter`]: one client's commands, one after another, under one reused deadline timer.

use std::pin::Pin;

use tokio::time::{Instant, Sleep};
use tracing::Instrument;

use super::Node;
use crate::client::ClientError;

/// Submits one client's commands to a [`Node`], one at a time, with exactly the answers of
/// [`Node::submit`]: the state machine's response, [`ClientError::NotLeader`], or, once
/// `command_timeout` has passed since that command was submitted, [`ClientError::Timeout`]
/// (indefinite: the command may still apply).
///
/// The difference is cost. [`Node::submit`] bounds each call by a `tokio::time::timeout` of
/// its own, which registers an entry in tokio's timer wheel on its first poll and removes it
/// again when the answer comes: two locked operations on the timer wheel per command (about
/// a tenth of the CPU of `rafty bench` at 1024 clients). A `Submitter` keeps one timer for
/// all its commands and leaves it alone while commands are answered in time: the timer stays
/// set to an earlier command's deadline, which is never later than the current command's
/// (each command's deadline is `command_timeout` after its own submission, and commands
/// follow one another). When that earlier deadline comes round while a command is still
/// waiting, the submitter moves the timer to this command's own deadline and waits on; only
/// that deadline answers [`ClientError::Timeout`]. The timer is thus touched at most once per
/// `command_timeout`, not once per command, and a command times out exactly when it would
/// under [`Node::submit`].
///
/// Get one from [`Node::submitter`], one per client task: `submit` takes `&mut self`, so a
/// submitter serves one command at a time. The timer is created by the first command (it
/// needs the tokio runtime) and dropped with the submitter. An idle submitter's timer fires
/// once, at one of its earlier commands' deadlines, and wakes the task holding it: harmless.
pub struct Submitter {
    node: Node,
    /// Set to the deadline of this or an earlier command (see above).
    timer: Option<Pin<Box<Sleep>>>,
}

impl Submitter {
    pub(super) fn new(node: Node) -> Submitter {
        Submitter { node, timer: None }
    }

    /// The node this submitter submits to.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Submit `command` and wait for the state machine's response, for at most the node's
    /// `command_timeout`: see [`Node::submit`], whose answers these are.
    pub async fn submit(&mut self, command: Vec<u8>) -> Result<Vec<u8>, ClientError> {
        let deadline = Instant::now() + self.node.settings().command_timeout();
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        let (submission, outcome, span) = self.node.submission(command, true);
        let wait = self.node.queue_and_wait(submission, outcome);
        let bounded = async {
            let mut wait = std::pin::pin!(wait);
            loop {
                // As `tokio::time::timeout` does: the answer first, then the deadline.
                tokio::select! {
                    biased;
                    result = &mut wait => return result,
                    () = timer.as_mut() => {
                        if Instant::now() >= deadline {
                            return Err(ClientError::Timeout);
                        }
                        // An earlier command's deadline: wait for this one's.
                        timer.as_mut().reset(deadline);
                    }
                }
            }
        };
        let result = bounded.instrument(span.clone()).await;
        tracing::debug!(parent: &span, ok = result.is_ok(), "replied");
        result
    }
}

impl std::fmt::Debug for Submitter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Submitter")
            .field("node", &self.node.id())
            .finish_non_exhaustive()
    }
}
