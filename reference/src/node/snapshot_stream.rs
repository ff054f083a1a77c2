//! Streaming a snapshot the node takes into its store, through a buffer.
//!
//! A [`SnapshotSource`] writes with whatever encoder its state machine uses, and a streaming
//! encoder (`serde_json::to_writer`, say) writes a token at a time: a quote, a colon, a key.
//! Handed straight to the store, each of those was one [`SnapshotWriter::write`], so one
//! `pwrite` for a [`FileSnapshotStore`](crate::FileSnapshotStore): a registry snapshot of
//! some 100 KiB took tens of thousands of them (and on the simulation's disk, which keeps
//! every unsynced write and looks through them on each write, its cost grew with the square
//! of the snapshot's size). The node therefore buffers what the source writes and hands the
//! store pieces of [`SNAPSHOT_WRITE_BUFFER_BYTES`] (the last one shorter): the same bytes in
//! the same order, in a few writes.

use std::io::{self, BufWriter, Write};

use super::envelope;
use crate::membership::Membership;
use crate::snapshot::{SnapshotError, SnapshotSource, SnapshotWriter, WriterAdapter};

/// The size of the pieces a snapshot the node takes reaches its store in (the last one
/// shorter).
pub(super) const SNAPSHOT_WRITE_BUFFER_BYTES: usize = 64 << 10;

/// Write the envelope carrying `membership`, then `source`'s bytes, into `writer`, in pieces
/// of [`SNAPSHOT_WRITE_BUFFER_BYTES`]. After a failure nothing more reaches `writer` (what
/// was buffered is dropped, not flushed into a writer that just failed).
pub(super) fn write_snapshot(
    writer: &mut dyn SnapshotWriter,
    membership: &Membership,
    source: Box<dyn SnapshotSource>,
) -> Result<(), SnapshotError> {
    let mut out = BufWriter::with_capacity(SNAPSHOT_WRITE_BUFFER_BYTES, WriterAdapter(writer));
    let written = stream(&mut out, membership, source);
    if written.is_err() {
        // Drop the buffered bytes rather than let BufWriter's drop flush them.
        let _ = out.into_parts();
    }
    written.map_err(SnapshotError::from)
}

fn stream(
    out: &mut BufWriter<WriterAdapter<'_>>,
    membership: &Membership,
    source: Box<dyn SnapshotSource>,
) -> io::Result<()> {
    envelope::write(membership, out)?;
    source.write_to(out)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::SnapshotMeta;

    /// A store's writer that records each write it is handed, and fails the write numbered
    /// `fail_at` (counting from 0), if any.
    #[derive(Default)]
    struct Recording {
        writes: Vec<Vec<u8>>,
        fail_at: Option<usize>,
    }

    impl SnapshotWriter for Recording {
        fn write(&mut self, bytes: &[u8]) -> Result<(), SnapshotError> {
            if self.fail_at == Some(self.writes.len()) {
                self.fail_at = None;
                return Err(SnapshotError::Io(io::Error::other("disk full")));
            }
            self.writes.push(bytes.to_vec());
            Ok(())
        }

        fn written(&self) -> u64 {
            self.writes.iter().map(|write| write.len() as u64).sum()
        }

        fn finish(self: Box<Self>) -> Result<SnapshotMeta, SnapshotError> {
            unreachable!("write_snapshot never finishes the writer")
        }
    }

    /// A source that writes `bytes` one byte per call, as a token-at-a-time encoder does.
    struct ByteAtATime(Vec<u8>);

    impl SnapshotSource for ByteAtATime {
        fn write_to(self: Box<Self>, out: &mut dyn io::Write) -> io::Result<()> {
            for byte in self.0 {
                out.write_all(&[byte])?;
            }
            Ok(())
        }
    }

    /// A source that fails after writing `bytes`.
    struct FailsAfter(Vec<u8>);

    impl SnapshotSource for FailsAfter {
        fn write_to(self: Box<Self>, out: &mut dyn io::Write) -> io::Result<()> {
            out.write_all(&self.0)?;
            Err(io::Error::other("the state machine's encoder failed"))
        }
    }

    fn state(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    fn envelope_bytes(membership: &Membership) -> Vec<u8> {
        let mut bytes = Vec::new();
        envelope::write(membership, &mut bytes).expect("a Vec takes every write");
        bytes
    }

    #[test]
    fn a_source_writing_byte_by_byte_reaches_the_store_in_buffer_sized_pieces() {
        let membership = Membership::new([1, 2, 3]);
        let data = state(3 * SNAPSHOT_WRITE_BUFFER_BYTES + 1000);
        let mut writer = Recording::default();
        write_snapshot(
            &mut writer,
            &membership,
            Box::new(ByteAtATime(data.clone())),
        )
        .expect("written");

        let mut expected = envelope_bytes(&membership);
        expected.extend_from_slice(&data);
        assert_eq!(writer.writes.concat(), expected, "the same bytes, in order");
        // 3 full buffers and the rest: 4 writes for some 200,000 one-byte writes.
        assert_eq!(writer.writes.len(), 4);
        let (last, full) = writer.writes.split_last().expect("writes");
        assert!(full.iter().all(|w| w.len() == SNAPSHOT_WRITE_BUFFER_BYTES));
        assert_eq!(last.len(), expected.len() - 3 * SNAPSHOT_WRITE_BUFFER_BYTES);
    }

    #[test]
    fn a_small_snapshot_reaches_the_store_in_one_write() {
        let membership = Membership::new([1]);
        let mut writer = Recording::default();
        write_snapshot(&mut writer, &membership, Box::new(ByteAtATime(state(500))))
            .expect("written");
        assert_eq!(writer.writes.len(), 1);
        assert_eq!(
            writer.written(),
            envelope_bytes(&membership).len() as u64 + 500
        );
    }

    #[test]
    fn a_failing_source_fails_the_snapshot_and_its_buffered_bytes_never_reach_the_store() {
        let membership = Membership::new([1, 2, 3]);
        let mut writer = Recording::default();
        let result = write_snapshot(&mut writer, &membership, Box::new(FailsAfter(state(100))));
        assert!(
            matches!(&result, Err(SnapshotError::Io(error)) if error.to_string().contains("encoder failed")),
            "{result:?}"
        );
        assert!(writer.writes.is_empty(), "{} writes", writer.writes.len());
    }

    #[test]
    fn a_failing_store_write_fails_the_snapshot_and_nothing_more_is_written() {
        let membership = Membership::new([1, 2, 3]);
        let mut writer = Recording {
            fail_at: Some(1),
            ..Recording::default()
        };
        let data = state(3 * SNAPSHOT_WRITE_BUFFER_BYTES);
        let result = write_snapshot(&mut writer, &membership, Box::new(ByteAtATime(data)));
        assert!(
            matches!(&result, Err(SnapshotError::Io(error)) if error.to_string().contains("disk full")),
            "{result:?}"
        );
        assert_eq!(writer.writes.len(), 1, "only the write before the failure");
    }
}
