//! [`Submitter`]: one client's commands and reads, one after another, under one reused deadline
//! timer.

use std::pin::Pin;

use tokio::time::{Instant, Sleep};
use tracing::Instrument;

use super::Node;
use super::handle::ReadAtOnce;
use crate::client::{ClientError, ReadConsistency};

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
/// under [`Node::submit`]. Reads ([`Submitter::read`]) share the timer the same way: a read
/// that waits for a confirmation round is bounded by it, not by a timer of its own.
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
        let (submission, outcome, span) = self.node.submission(command, true);
        let wait = self.node.queue_and_wait(submission, outcome);
        let result = within(&mut self.timer, deadline, wait)
            .instrument(span.clone())
            .await;
        tracing::debug!(parent: &span, ok = result.is_ok(), "replied");
        result
    }

    /// Read with the chosen consistency, for at most the node's `command_timeout`: see
    /// [`Node::read`], whose answers these are. A log read is [`Submitter::submit`]; a
    /// ReadIndex read (or a lease read when no lease holds) waits under this submitter's
    /// timer instead of a timer of its own.
    pub async fn read(
        &mut self,
        query: Vec<u8>,
        consistency: ReadConsistency,
    ) -> Result<Vec<u8>, ClientError> {
        let mode = match self.node.read_at_once(&query, consistency).await {
            ReadAtOnce::Answered(answer) => return answer,
            ReadAtOnce::Log => return self.submit(query).await,
            ReadAtOnce::Confirm(mode) => mode,
        };
        // What came before took no time: it never waits.
        let deadline = Instant::now() + self.node.settings().command_timeout();
        let wait = self.node.confirmed_read(&query, mode);
        within(&mut self.timer, deadline, wait).await
    }
}

/// Wait for `wait`, or until `deadline`: then [`ClientError::Timeout`]. `timer` is touched only
/// when an earlier deadline it still holds comes round (see [`Submitter`]).
async fn within(
    timer: &mut Option<Pin<Box<Sleep>>>,
    deadline: Instant,
    wait: impl Future<Output = Result<Vec<u8>, ClientError>>,
) -> Result<Vec<u8>, ClientError> {
    let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
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
}

impl std::fmt::Debug for Submitter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Submitter")
            .field("node", &self.node.id())
            .finish_non_exhaustive()
    }
}
