//! Snapshots (Raft §7; Ongaro's dissertation, chapter 5): the applied state at one index, kept
//! durably by a [`SnapshotStore`] so that the log before it can be compacted away, and sent
//! to a follower that is too far behind to catch up entry by entry (InstallSnapshot).
//!
//! A snapshot is opaque bytes produced by [`crate::StateMachine::snapshot`] and consumed by
//! [`crate::StateMachine::restore`], plus its [`SnapshotMeta`]. It is streamed, never forced
//! through one `Vec<u8>`: written through a [`SnapshotWriter`] and read back in chunks.

mod memory;
mod reader;

use std::io;

pub use memory::MemorySnapshotStore;
pub use reader::SnapshotReader;

use serde::{Deserialize, Serialize};

use crate::types::{LogIndex, Term};

/// What a snapshot covers: the state after applying every entry up to and including
/// `last_included_index`, whose term is `last_included_term` (Figure 13).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SnapshotMeta {
    /// The index of the last entry the snapshot replaces.
    pub last_included_index: LogIndex,
    /// The term of that entry.
    pub last_included_term: Term,
    /// The snapshot's size in bytes.
    pub size_bytes: u64,
    /// CRC32C of the snapshot's bytes, checked whenever the snapshot is read back or received.
    pub checksum: u32,
}

/// Why a snapshot operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The underlying storage failed.
    #[error("snapshot I/O error: {0}")]
    Io(#[from] io::Error),
    /// A stored or received snapshot failed its integrity check (torn, truncated, wrong
    /// checksum, unknown format); `location` names the file (or the sender) and the offset.
    #[error("snapshot corrupted at {location}: {reason}")]
    Corrupted {
        /// Where the damage was found.
        location: String,
        /// What was wrong.
        reason: String,
    },
    /// The caller broke the contract (a chunk at the wrong offset, a snapshot older than the
    /// one kept...). A bug in the caller or a stale message.
    #[error("snapshot contract violated: {0}")]
    Contract(String),
}

/// A snapshot being written: bytes are appended in order, then [`SnapshotWriter::finish`]
/// makes the whole snapshot durable and the store's latest, atomically.
pub trait SnapshotWriter: Send {
    /// Append `bytes` at the end of the snapshot being written. The node buffers: a snapshot
    /// it takes arrives in pieces of 64 KiB (the last one shorter), however small the state
    /// machine's own writes; a snapshot it receives arrives one InstallSnapshot chunk per call.
    fn write(&mut self, bytes: &[u8]) -> Result<(), SnapshotError>;

    /// How many bytes were written so far (the offset the next chunk must start at).
    fn written(&self) -> u64;

    /// Finish: check the bytes against nothing (the store computes the checksum itself) and
    /// make the snapshot durable and the store's latest, atomically (temporary file, fsync,
    /// rename, fsync of the directory, for a file store). Returns the snapshot's metadata.
    /// A crash before this returns leaves the previous latest snapshot in place.
    fn finish(self: Box<Self>) -> Result<SnapshotMeta, SnapshotError>;
}

/// Where a node keeps its latest snapshot, durably.
///
/// # Contract
///
/// * At most one snapshot is current: [`SnapshotStore::latest`]. A new one replaces it only
///   when its writer's [`SnapshotWriter::finish`] returns `Ok`, and only if it covers a higher
///   index than the current one (an older or equal one is refused with
///   [`SnapshotError::Contract`]): a snapshot never moves a node's state backwards.
/// * Durable: after `finish` returns `Ok`, the snapshot survives a crash (power loss for a
///   durable store); a crash at any point leaves the old snapshot or the new one, whole.
/// * Reads check the checksum: a torn or corrupted snapshot is refused with
///   [`SnapshotError::Corrupted`] naming the file, never handed to a state machine.
/// * An opened snapshot stays readable: [`SnapshotStore::open`] hands out a
///   [`SnapshotChunks`] that reads the snapshot it was opened on, whole and unchanged, until
///   it is dropped, even after a newer snapshot replaced it as the current one (as
///   hashicorp/raft's `SnapshotStore::Open`). A leader streams a snapshot to a follower
///   through one such handle; a store that refused the rest of a replaced snapshot would
///   restart every transfer that takes longer than the time between two snapshots, forever.
///   A store keeps a replaced snapshot's bytes (an `Arc`, an open file, a file renamed aside)
///   only while a handle on it lives; a crash forgets it (only the current one is durable).
pub trait SnapshotStore: Send + 'static {
    /// The metadata of the current snapshot, if there is one.
    fn latest(&self) -> Result<Option<SnapshotMeta>, SnapshotError>;

    /// Start writing a snapshot covering up to `last_included_index` (term
    /// `last_included_term`).
    fn begin(
        &mut self,
        last_included_index: LogIndex,
        last_included_term: Term,
    ) -> Result<Box<dyn SnapshotWriter>, SnapshotError>;

    /// Open the current snapshot for reading. It must be the one `expected` describes: if
    /// the current one is another (or there is none), the call fails with
    /// [`SnapshotError::Contract`]. The handle keeps reading this snapshot after the store
    /// replaced it (see the contract above).
    fn open(&self, expected: &SnapshotMeta) -> Result<Box<dyn SnapshotChunks>, SnapshotError>;

    /// Read up to `max_len` bytes of the current snapshot from `offset` (fewer only at the
    /// end): [`SnapshotStore::open`] and one [`SnapshotChunks::read_chunk`], so it fails with
    /// [`SnapshotError::Contract`] once the snapshot `expected` describes was replaced. A
    /// reader of a whole snapshot opens it once instead.
    fn read_chunk(
        &self,
        expected: &SnapshotMeta,
        offset: u64,
        max_len: usize,
    ) -> Result<Vec<u8>, SnapshotError> {
        self.open(expected)?.read_chunk(offset, max_len)
    }
}

/// One snapshot opened for reading ([`SnapshotStore::open`]): it reads the snapshot it was
/// opened on until it is dropped, whatever the store does meanwhile.
pub trait SnapshotChunks: Send {
    /// The snapshot this handle reads.
    fn meta(&self) -> SnapshotMeta;

    /// Read up to `max_len` bytes from `offset` (fewer only at the end; none at the end). An
    /// offset past the end is a [`SnapshotError::Contract`]. A sequential read (from 0, each
    /// chunk where the last ended) is checked at the chunk that reaches the end: a store
    /// that finds the bytes changed since they were written refuses that chunk with
    /// [`SnapshotError::Corrupted`] (earlier chunks were handed out by then, so a consumer
    /// trusts the bytes only once the last chunk is `Ok`).
    fn read_chunk(&mut self, offset: u64, max_len: usize) -> Result<Vec<u8>, SnapshotError>;
}

/// A frozen copy of a state machine's state at one applied index, taken by
/// [`crate::StateMachine::snapshot`] on the event loop (cheaply: a clone or a copy-on-write
/// handle) and written out away from it, so snapshotting does not stall the node.
pub trait SnapshotSource: Send + 'static {
    /// Write the whole state to `out`. Must be deterministic: the same state writes the same
    /// bytes on every node (sorted maps, no hash-map iteration order, no clocks). The node
    /// buffers `out`, so a streaming encoder may write a token at a time.
    fn write_to(self: Box<Self>, out: &mut dyn io::Write) -> io::Result<()>;
}

/// A [`SnapshotWriter`] as an [`io::Write`], for [`SnapshotSource::write_to`].
pub struct WriterAdapter<'a>(pub &'a mut dyn SnapshotWriter);

impl io::Write for WriterAdapter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(|error| match error {
            SnapshotError::Io(io) => io,
            other => io::Error::other(other.to_string()),
        })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
