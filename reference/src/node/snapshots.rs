//! The driver's side of snapshots (Raft §7, Figure 13): taking one off the event loop,
//! compacting the log, streaming one to a follower, and receiving and installing one.
//!
//! The core decides; this file moves the bytes. Only one snapshot is written at a time (the
//! core asks for the next once the last is reported), one transfer runs per follower (the
//! core's progress is in its snapshot state meanwhile), and one incoming snapshot is received
//! at a time (a newer one replaces it). Every outcome goes back to the event loop as a
//! [`SnapshotEvent`] and from there into the core.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;

use super::driver::Driver;
use super::envelope;
use super::events::NodeEvent;
use super::snapshot_stream::write_snapshot;
use crate::core::InstallDecision;
use crate::log::{Log, LogError};
use crate::membership::Membership;
use crate::message::{InstallSnapshot, InstallSnapshotResponse};
use crate::peer::Peer;
use crate::snapshot::{
    SnapshotChunks, SnapshotError, SnapshotMeta, SnapshotReader, SnapshotStore, SnapshotWriter,
};
use crate::state_machine::StateMachine;
use crate::types::{LogIndex, NodeId, Term};

/// The node's snapshot store, shared by the event loop and the tasks that stream snapshots
/// to followers (each holds the lock only to open the snapshot it sends, then reads through
/// its own handle, which outlives a newer snapshot replacing that one).
pub(super) type SharedStore = Arc<Mutex<Box<dyn SnapshotStore>>>;

/// Lock the shared store (nothing panics while holding it: a poisoned lock is still whole).
pub(super) fn lock(store: &SharedStore) -> MutexGuard<'_, Box<dyn SnapshotStore>> {
    store
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// An InstallSnapshot chunk from the leader, with where its answer goes.
pub(super) struct InstallIncoming {
    pub(super) request: InstallSnapshot,
    pub(super) reply: oneshot::Sender<InstallSnapshotResponse>,
}

/// The outcome of snapshot work done away from the event loop.
pub(super) enum SnapshotEvent {
    /// The snapshot asked for by `TakeSnapshot` was written (or not).
    Written(Result<SnapshotMeta, SnapshotError>),
    /// A transfer to `to` in the leader's `term` ended with this last answer (`None`: failed).
    Sent {
        to: NodeId,
        term: Term,
        response: Option<InstallSnapshotResponse>,
    },
}

/// The snapshot being received from a leader.
pub(super) struct Receiving {
    /// What the leader says it is sending (index, term, size, checksum).
    key: (LogIndex, Term, u64, u32),
    writer: Box<dyn SnapshotWriter>,
    /// CRC32C of the bytes received so far.
    checksum: u32,
}

impl<L: Log, S: StateMachine> Driver<L, S> {
    /// `TakeSnapshot`: a frozen copy of the state machine now, written out in a task of its
    /// own (a blocking-pool thread on a multi-thread runtime; a plain task on a
    /// current-thread one, as in the simulation, where no thread may be spawned). A state
    /// machine without snapshots is never asked again: the core's request stays pending.
    /// The snapshot carries `membership`, the configuration as of `index`, in front of the
    /// state machine's bytes (see `envelope.rs`); both reach the store through a buffer (see
    /// `snapshot_stream.rs`).
    pub(super) fn take_snapshot(&mut self, index: LogIndex, term: Term, membership: Membership) {
        let source = super::local_reads::lock(&self.state_machine)
            .state_machine
            .snapshot();
        let Some(source) = source else {
            tracing::debug!(
                node = self.core.id(),
                "the state machine takes no snapshots"
            );
            return;
        };
        let events = self.snapshot_events.clone();
        let writer = lock(&self.store).begin(index, term);
        let write = move || {
            let result = writer.and_then(|mut writer| {
                write_snapshot(writer.as_mut(), &membership, source)?;
                writer.finish()
            });
            // The loop is gone only when the node stopped.
            let _ = events.try_send(SnapshotEvent::Written(result));
        };
        let flavor = tokio::runtime::Handle::current().runtime_flavor();
        if flavor == tokio::runtime::RuntimeFlavor::MultiThread {
            tokio::task::spawn_blocking(write);
        } else {
            tokio::spawn(async move { write() });
        }
    }

    /// `SendSnapshot`: stream the store's latest snapshot to `to` unless a transfer to it is
    /// running already.
    pub(super) fn send_snapshot(&mut self, to: NodeId, term: Term) {
        if !self.transfers.insert(to) {
            return;
        }
        let events = self.snapshot_events.clone();
        // Opened here, on the loop: the transfer reads this snapshot to its end, whatever
        // the store holds by then.
        let opened = {
            let store = lock(&self.store);
            store
                .latest()
                .and_then(|meta| meta.map(|meta| store.open(&meta)).transpose())
        };
        let snapshot = match opened {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::warn!(node = self.core.id(), %error, "snapshot not opened to send");
                None
            }
        };
        let (Some(peer), Some(snapshot)) = (self.peer(to), snapshot) else {
            let _ = events.try_send(SnapshotEvent::Sent {
                to,
                term,
                response: None,
            });
            return;
        };
        let transfer = Transfer {
            peer,
            term,
            leader_id: self.core.id(),
            chunk_bytes: self.settings.snapshot_chunk_bytes(),
            timeout: self.settings.rpc_timeout(),
        };
        tokio::spawn(async move {
            let response = transfer.run(snapshot).await;
            let _ = events
                .send(SnapshotEvent::Sent { to, term, response })
                .await;
        });
    }

    /// A snapshot was written or a transfer ended: tell the core.
    pub(super) fn on_snapshot_event(&mut self, event: SnapshotEvent) -> Result<(), LogError> {
        let now = self.now();
        match event {
            SnapshotEvent::Written(Ok(meta)) => {
                self.notify(NodeEvent::SnapshotTaken {
                    index: meta.last_included_index,
                });
                self.core.snapshot_taken(now, meta);
            }
            SnapshotEvent::Written(Err(error)) => {
                tracing::warn!(node = self.core.id(), %error, "snapshot not taken");
                self.core.snapshot_failed(now);
            }
            SnapshotEvent::Sent { to, term, response } => {
                self.transfers.remove(&to);
                self.core.snapshot_sent(now, to, term, response);
            }
        }
        self.execute(None)
    }

    /// `CompactLog`: durable before any later action.
    pub(super) fn compact_log(&mut self, index: LogIndex, term: Term) -> Result<(), LogError> {
        self.log.compact(index, term)?;
        self.notify(NodeEvent::LogCompacted {
            first_index: index + 1,
        });
        Ok(())
    }

    /// One InstallSnapshot chunk: the core decides (and any new term is saved) before the
    /// answer; an accepted chunk is written at its offset, and the last one installs.
    pub(super) fn on_install(&mut self, incoming: InstallIncoming) -> Result<(), LogError> {
        let request = incoming.request;
        let decision = self.core.install_snapshot_request(self.now(), &request);
        self.execute(None)?;
        let answer = |term, next_offset, installed| InstallSnapshotResponse {
            term,
            last_included_index: request.last_included_index,
            next_offset,
            installed,
        };
        let response = match decision {
            InstallDecision::Refuse { term } => answer(term, 0, false),
            InstallDecision::Stale { term } => answer(term, request.size_bytes, true),
            InstallDecision::Accept { term } => match self.receive_chunk(&request)? {
                Some(next_offset) => answer(term, next_offset, false),
                None => answer(self.core.term(), request.size_bytes, true),
            },
        };
        let _ = incoming.reply.send(response);
        Ok(())
    }

    /// Write an accepted chunk; returns the offset expected next, or `None` once the whole
    /// snapshot is installed.
    fn receive_chunk(&mut self, request: &InstallSnapshot) -> Result<Option<u64>, LogError> {
        let key = (
            request.last_included_index,
            request.last_included_term,
            request.size_bytes,
            request.checksum,
        );
        if self.receiving.as_ref().is_none_or(|r| r.key != key) {
            if request.offset != 0 {
                return Ok(Some(0));
            }
            let begun = lock(&self.store).begin(key.0, key.1);
            match begun {
                Ok(writer) => {
                    self.receiving = Some(Receiving {
                        key,
                        writer,
                        checksum: 0,
                    })
                }
                Err(error) => {
                    tracing::warn!(node = self.core.id(), %error, "cannot receive the snapshot");
                    return Ok(Some(0));
                }
            }
        }
        let receiving = self.receiving.as_mut().expect("set above");
        let written = receiving.writer.written();
        if request.offset != written {
            return Ok(Some(written));
        }
        if let Err(error) = receiving.writer.write(&request.data) {
            tracing::warn!(node = self.core.id(), %error, "snapshot chunk not written");
            self.receiving = None;
            return Ok(Some(0));
        }
        receiving.checksum = crc32c::crc32c_append(receiving.checksum, &request.data);
        if !request.done {
            return Ok(Some(receiving.writer.written()));
        }
        let receiving = self.receiving.take().expect("set above");
        match finish(receiving, request.leader_id) {
            Ok(meta) => {
                self.install(meta)?;
                Ok(None)
            }
            Err(error) => {
                tracing::warn!(node = self.core.id(), %error, "received snapshot refused");
                Ok(Some(0))
            }
        }
    }

    /// The received snapshot is durable: restore the state machine from it (unless the node
    /// has meanwhile committed past it), then let the core compact the log. A state machine
    /// that cannot restore a verified snapshot may be half-restored: fail-stop.
    fn install(&mut self, meta: SnapshotMeta) -> Result<(), LogError> {
        let index = meta.last_included_index;
        if self.core.snapshot_is_stale(index) {
            return Ok(());
        }
        let chunk_bytes = self.settings.snapshot_chunk_bytes();
        let restored = {
            let store = lock(&self.store);
            let mut reader = SnapshotReader::new(store.as_ref(), meta, chunk_bytes);
            envelope::read(&mut reader).and_then(|(membership, mut data)| {
                let mut applied = super::local_reads::lock(&self.state_machine);
                match applied.state_machine.restore(index, &mut data) {
                    Ok(()) => applied.last_applied = index,
                    // Half restored, maybe: the node fail-stops; serve nothing meanwhile.
                    Err(error) => {
                        applied.closed = true;
                        return Err(error);
                    }
                }
                Ok(membership)
            })
        };
        let membership = restored.map_err(|error| LogError::Corrupted {
            location: format!("the snapshot through index {index}"),
            reason: format!("the state machine could not restore it: {error}"),
        })?;
        self.last_applied = index;
        self.core.snapshot_installed(self.now(), meta, membership);
        self.notify(NodeEvent::SnapshotInstalled { index });
        self.execute(None)
    }
}

/// Check the received bytes against the leader's size and checksum, then make the snapshot
/// durable and the store's latest.
fn finish(receiving: Receiving, leader: NodeId) -> Result<SnapshotMeta, SnapshotError> {
    let (_, _, size_bytes, checksum) = receiving.key;
    let written = receiving.writer.written();
    if written != size_bytes || receiving.checksum != checksum {
        return Err(SnapshotError::Corrupted {
            location: format!("InstallSnapshot from node {leader}"),
            reason: format!(
                "received {written} bytes with checksum {:#010x}, the leader sent {size_bytes} \
                 with {checksum:#010x}",
                receiving.checksum
            ),
        });
    }
    receiving.writer.finish()
}

/// One snapshot transfer to a follower.
struct Transfer {
    peer: Arc<dyn Peer>,
    term: Term,
    leader_id: NodeId,
    chunk_bytes: usize,
    timeout: Duration,
}

impl Transfer {
    /// Send `meta`'s chunks in order, resuming where the follower says it is; the follower's
    /// last answer, or `None` on a failure (store, transport, a follower that keeps asking
    /// for offsets that make no progress). The snapshot was opened once, when the transfer
    /// began: it is read to its end even if the leader takes a newer one meanwhile (else a
    /// transfer longer than the time between two snapshots would never finish).
    async fn run(&self, mut snapshot: Box<dyn SnapshotChunks>) -> Option<InstallSnapshotResponse> {
        let meta = snapshot.meta();
        let chunks = meta.size_bytes / self.chunk_bytes as u64 + 1;
        let mut offset = 0;
        // Each chunk at most twice, plus a restart from zero: bounded whatever it answers.
        for _ in 0..2 * chunks + 2 {
            let data = match snapshot.read_chunk(offset, self.chunk_bytes) {
                Ok(data) => data,
                Err(error) => {
                    tracing::warn!(node = self.leader_id, %error, "snapshot chunk not read");
                    return None;
                }
            };
            let done = offset + data.len() as u64 == meta.size_bytes;
            let request = InstallSnapshot {
                term: self.term,
                leader_id: self.leader_id,
                last_included_index: meta.last_included_index,
                last_included_term: meta.last_included_term,
                size_bytes: meta.size_bytes,
                checksum: meta.checksum,
                offset,
                data,
                done,
            };
            // Bounded by the Peer's own deadline, as its contract says (no second timer).
            let call = self.peer.install_snapshot(request, self.timeout);
            let response = call.await.ok()?;
            if response.installed || response.term != self.term || done {
                return Some(response);
            }
            if response.next_offset > meta.size_bytes {
                return None;
            }
            offset = response.next_offset;
        }
        None
    }
}
