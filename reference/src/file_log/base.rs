//! The compaction base file: where the log starts after [`Log::compact`](crate::Log::compact),
//! a fixed 25-byte record replaced atomically.
//!
//! ```text
//! ["RFCB"][version: u8 = 1][index: u64 LE][term: u64 LE][crc32c of the 21 bytes before: u32 LE]
//! ```
//!
//! `index` is the last entry a snapshot replaced and `term` its term: the log's first index is
//! `index + 1`, and `term(index)` answers `term`. It is written to a temporary file, synced,
//! renamed over the old one, and the directory is synced, *before* any segment is removed: a
//! crash leaves the old base or the new one, and the open that follows finishes a compaction
//! the crash interrupted (see `FileLog::open_with`). No file means no compaction yet.

use std::path::Path;

use super::fs::FileSystem;
use super::small_file;
use crate::log::LogError;
use crate::types::{LogIndex, Term};

/// The base file's name in the log directory.
pub const FILE_NAME: &str = "compaction_base";
/// The temporary file a new base is written to before the rename.
pub const TEMP_FILE_NAME: &str = "compaction_base.tmp";

const MAGIC: &[u8; 4] = b"RFCB";
const VERSION: u8 = 1;
const BYTES: usize = 25;

/// Where a compacted log starts: every entry up to `index` (whose term is `term`) is gone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Base {
    /// The last index compacted away (0: none).
    pub index: LogIndex,
    /// Its term (0 for index 0).
    pub term: Term,
}

/// The file's bytes for `base`.
pub fn encode(base: Base) -> [u8; BYTES] {
    let mut bytes = [0; BYTES];
    bytes[..4].copy_from_slice(MAGIC);
    bytes[4] = VERSION;
    bytes[5..13].copy_from_slice(&base.index.to_le_bytes());
    bytes[13..21].copy_from_slice(&base.term.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..21]);
    bytes[21..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// The base in `bytes`, or why they are not one.
pub fn decode(bytes: &[u8]) -> Result<Base, String> {
    if bytes.len() != BYTES {
        return Err(format!("{} bytes, expected {BYTES}", bytes.len()));
    }
    if &bytes[..4] != MAGIC {
        return Err("not a compaction base file (bad magic)".into());
    }
    if bytes[4] != VERSION {
        return Err(format!("unknown format version {}", bytes[4]));
    }
    let crc = u32::from_le_bytes(bytes[21..].try_into().expect("4 bytes"));
    if crc32c::crc32c(&bytes[..21]) != crc {
        return Err("checksum mismatch".into());
    }
    Ok(Base {
        index: u64::from_le_bytes(bytes[5..13].try_into().expect("8 bytes")),
        term: u64::from_le_bytes(bytes[13..21].try_into().expect("8 bytes")),
    })
}

/// Read the base from `dir`: the default (no compaction) if the file does not exist.
pub fn load<F: FileSystem>(fs: &F, dir: &Path) -> Result<Base, LogError> {
    small_file::load(fs, dir, FILE_NAME, Base::default(), decode)
}

/// Replace the base in `dir` with `base`, durably and atomically.
pub fn save<F: FileSystem>(fs: &F, dir: &Path, base: Base) -> std::io::Result<()> {
    small_file::save(fs, dir, (FILE_NAME, TEMP_FILE_NAME), &encode(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for base in [
            Base { index: 1, term: 1 },
            Base {
                index: u64::MAX,
                term: u64::MAX,
            },
        ] {
            assert_eq!(decode(&encode(base)), Ok(base));
        }
    }

    #[test]
    fn any_damage_is_refused() {
        let bytes = encode(Base { index: 9, term: 3 });
        for position in 0..BYTES {
            let mut damaged = bytes;
            damaged[position] ^= 1;
            assert!(decode(&damaged).is_err(), "flip at {position}");
        }
        assert_eq!(decode(&bytes[..24]), Err("24 bytes, expected 25".into()));
        assert_eq!(
            decode(&[0; 25]),
            Err("not a compaction base file (bad magic)".into())
        );
    }
}
