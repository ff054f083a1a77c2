//! The header of a snapshot file, written last (at `finish`), in front of the data.
//!
//! ```text
//! ["RFSN"][format version: u32 LE = 1][last included index: u64 LE][last included term: u64 LE]
//! [data size in bytes: u64 LE][crc32c of the data: u32 LE][crc32c of the 36 bytes before: u32 LE]
//! [data: size bytes]
//! ```
//!
//! A writer reserves the header's bytes, streams the data after them into a temporary file,
//! then fills the header in, syncs and renames: a file with a sound header is a finished
//! snapshot, and its size and data checksum tell a torn or damaged one apart.

use crate::snapshot::SnapshotMeta;

/// Bytes in the header.
pub const HEADER_BYTES: usize = 40;
const MAGIC: &[u8; 4] = b"RFSN";
/// The format this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The header for a snapshot described by `meta`.
pub fn encode(meta: &SnapshotMeta) -> [u8; HEADER_BYTES] {
    let mut bytes = [0; HEADER_BYTES];
    bytes[..4].copy_from_slice(MAGIC);
    bytes[4..8].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes[8..16].copy_from_slice(&meta.last_included_index.to_le_bytes());
    bytes[16..24].copy_from_slice(&meta.last_included_term.to_le_bytes());
    bytes[24..32].copy_from_slice(&meta.size_bytes.to_le_bytes());
    bytes[32..36].copy_from_slice(&meta.checksum.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..36]);
    bytes[36..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// The metadata a header holds, or why `bytes` are not a sound header.
pub fn decode(bytes: &[u8; HEADER_BYTES]) -> Result<SnapshotMeta, String> {
    if &bytes[..4] != MAGIC {
        return Err("not a snapshot file (bad magic)".into());
    }
    let version = u32_at(bytes, 4);
    if version != FORMAT_VERSION {
        return Err(format!(
            "snapshot format version {version}; this version of rafty reads only {FORMAT_VERSION}"
        ));
    }
    if crc32c::crc32c(&bytes[..36]) != u32_at(bytes, 36) {
        return Err("snapshot header checksum mismatch".into());
    }
    Ok(SnapshotMeta {
        last_included_index: u64_at(bytes, 8),
        last_included_term: u64_at(bytes, 16),
        size_bytes: u64_at(bytes, 24),
        checksum: u32_at(bytes, 32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> SnapshotMeta {
        SnapshotMeta {
            last_included_index: 42,
            last_included_term: 7,
            size_bytes: 1000,
            checksum: 0xdead_beef,
        }
    }

    #[test]
    fn round_trips() {
        assert_eq!(decode(&encode(&meta())), Ok(meta()));
    }

    #[test]
    fn any_flipped_bit_is_refused() {
        let bytes = encode(&meta());
        for position in 0..HEADER_BYTES {
            let mut damaged = bytes;
            damaged[position] ^= 4;
            assert!(decode(&damaged).is_err(), "flip at {position}");
        }
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let mut bytes = encode(&meta());
        bytes[4] = 2;
        let reason = decode(&bytes).unwrap_err();
        assert!(reason.contains("format version 2"), "{reason}");
    }
}
