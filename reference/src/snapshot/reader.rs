//! `SnapshotReader`: a stored snapshot as an [`io::Read`], for [`crate::StateMachine::restore`].

use std::io;

use super::{SnapshotChunks, SnapshotMeta, SnapshotStore};

/// Reads the snapshot `meta` describes from a [`SnapshotStore`] chunk by chunk, and checks its
/// size and CRC32C at the end: a store that hands back other bytes than it was given makes the
/// last `read` fail with [`io::ErrorKind::InvalidData`], so a state machine that reads to the
/// end never restores silently from damaged bytes. The snapshot is opened
/// ([`SnapshotStore::open`]) at the first `read`, and read through that one handle.
pub struct SnapshotReader<'a> {
    store: &'a dyn SnapshotStore,
    chunks: Option<Box<dyn SnapshotChunks>>,
    meta: SnapshotMeta,
    offset: u64,
    chunk_bytes: usize,
    checksum: u32,
    buffer: Vec<u8>,
    position: usize,
}

impl<'a> SnapshotReader<'a> {
    /// A reader of `meta`'s bytes from `store`, asking for `chunk_bytes` (at least 1) at a time.
    pub fn new(store: &'a dyn SnapshotStore, meta: SnapshotMeta, chunk_bytes: usize) -> Self {
        SnapshotReader {
            store,
            chunks: None,
            meta,
            offset: 0,
            chunk_bytes: chunk_bytes.max(1),
            checksum: 0,
            buffer: Vec::new(),
            position: 0,
        }
    }

    /// Fetch the next chunk; at the end, check size and checksum.
    fn refill(&mut self) -> io::Result<()> {
        let remaining = self.meta.size_bytes - self.offset;
        if remaining == 0 {
            return self.check_end();
        }
        let want = self
            .chunk_bytes
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let chunks = match &mut self.chunks {
            Some(chunks) => chunks,
            None => self.chunks.insert(
                self.store
                    .open(&self.meta)
                    .map_err(|error| io::Error::other(error.to_string()))?,
            ),
        };
        let chunk = chunks
            .read_chunk(self.offset, want)
            .map_err(|error| io::Error::other(error.to_string()))?;
        if chunk.is_empty() || chunk.len() > want {
            return Err(invalid(format!(
                "the store returned {} bytes at offset {} of a snapshot of {} bytes (asked {want})",
                chunk.len(),
                self.offset,
                self.meta.size_bytes
            )));
        }
        self.checksum = crc32c::crc32c_append(self.checksum, &chunk);
        self.offset += chunk.len() as u64;
        self.buffer = chunk;
        self.position = 0;
        Ok(())
    }

    fn check_end(&self) -> io::Result<()> {
        if self.checksum != self.meta.checksum {
            return Err(invalid(format!(
                "snapshot through index {} has checksum {:#010x}, expected {:#010x}",
                self.meta.last_included_index, self.checksum, self.meta.checksum
            )));
        }
        Ok(())
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl io::Read for SnapshotReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.position == self.buffer.len() {
            self.refill()?;
            if self.offset == self.meta.size_bytes && self.position == self.buffer.len() {
                return Ok(0);
            }
        }
        let count = out.len().min(self.buffer.len() - self.position);
        out[..count].copy_from_slice(&self.buffer[self.position..self.position + count]);
        self.position += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::snapshot::{MemorySnapshotStore, SnapshotError, SnapshotWriter};

    fn stored(bytes: &[u8]) -> (MemorySnapshotStore, SnapshotMeta) {
        let mut store = MemorySnapshotStore::new();
        let mut writer: Box<dyn SnapshotWriter> = store.begin(4, 1).unwrap();
        writer.write(bytes).unwrap();
        let meta = writer.finish().unwrap();
        (store, meta)
    }

    #[test]
    fn reads_the_whole_snapshot_in_small_chunks() {
        let bytes: Vec<u8> = (0..=255).collect();
        let (store, meta) = stored(&bytes);
        let mut read = Vec::new();
        SnapshotReader::new(&store, meta, 7)
            .read_to_end(&mut read)
            .unwrap();
        assert_eq!(read, bytes);
        let mut empty = Vec::new();
        let (store, meta) = stored(b"");
        SnapshotReader::new(&store, meta, 7)
            .read_to_end(&mut empty)
            .unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn a_checksum_mismatch_is_invalid_data() {
        let (store, mut meta) = stored(b"payload");
        meta.checksum ^= 1;
        // The store refuses a meta that is not its current one; a store that ignored the
        // checksum would be caught by the reader, shown with a store lying about it.
        struct Lying(MemorySnapshotStore, SnapshotMeta);
        impl SnapshotStore for Lying {
            fn latest(&self) -> Result<Option<SnapshotMeta>, SnapshotError> {
                Ok(Some(self.1))
            }
            fn begin(&mut self, _: u64, _: u64) -> Result<Box<dyn SnapshotWriter>, SnapshotError> {
                unreachable!()
            }
            fn open(&self, _: &SnapshotMeta) -> Result<Box<dyn SnapshotChunks>, SnapshotError> {
                let real = self.0.latest()?.expect("stored");
                self.0.open(&real)
            }
        }
        let lying = Lying(store, meta);
        let error = SnapshotReader::new(&lying, meta, 3)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("checksum"), "{error}");
    }
}
