//! The hard state file: a fixed 26-byte record, replaced atomically.
//!
//! ```text
//! ["RFHS"][version: u8 = 1][current_term: u64 LE][has vote: u8][voted_for: u64 LE][crc32c: u32 LE]
//! ```
//!
//! It is written to a temporary file, synced, renamed over the old one, and the directory is
//! synced: a crash leaves either the old state or the new one, never a mix.

use std::path::Path;

use super::fs::FileSystem;
use super::small_file;
use crate::log::LogError;
use crate::types::HardState;

/// The hard state file's name in the log directory.
pub const FILE_NAME: &str = "hard_state";
/// The temporary file a new hard state is written to before the rename.
pub const TEMP_FILE_NAME: &str = "hard_state.tmp";

const MAGIC: &[u8; 4] = b"RFHS";
const VERSION: u8 = 1;
const BYTES: usize = 26;

/// The file's bytes for `state`.
pub fn encode(state: HardState) -> [u8; BYTES] {
    let mut bytes = [0; BYTES];
    bytes[..4].copy_from_slice(MAGIC);
    bytes[4] = VERSION;
    bytes[5..13].copy_from_slice(&state.current_term.to_le_bytes());
    bytes[13] = u8::from(state.voted_for.is_some());
    bytes[14..22].copy_from_slice(&state.voted_for.unwrap_or(0).to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..22]);
    bytes[22..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// The hard state in `bytes`, or why they are not one.
pub fn decode(bytes: &[u8]) -> Result<HardState, String> {
    if bytes.len() != BYTES {
        return Err(format!("{} bytes, expected {BYTES}", bytes.len()));
    }
    if &bytes[..4] != MAGIC {
        return Err("not a hard state file (bad magic)".into());
    }
    if bytes[4] != VERSION {
        return Err(format!("unknown format version {}", bytes[4]));
    }
    let crc = u32::from_le_bytes(bytes[22..].try_into().expect("4 bytes"));
    if crc32c::crc32c(&bytes[..22]) != crc {
        return Err("checksum mismatch".into());
    }
    let current_term = u64::from_le_bytes(bytes[5..13].try_into().expect("8 bytes"));
    let voted = u64::from_le_bytes(bytes[14..22].try_into().expect("8 bytes"));
    let voted_for = match bytes[13] {
        0 => None,
        1 => Some(voted),
        flag => return Err(format!("bad vote flag {flag}")),
    };
    Ok(HardState {
        current_term,
        voted_for,
    })
}

/// Read the hard state from `dir`: the default if the file does not exist yet.
pub fn load<F: FileSystem>(fs: &F, dir: &Path) -> Result<HardState, LogError> {
    small_file::load(fs, dir, FILE_NAME, HardState::default(), decode)
}

/// Replace the hard state in `dir` with `state`, durably and atomically.
pub fn save<F: FileSystem>(fs: &F, dir: &Path, state: HardState) -> std::io::Result<()> {
    small_file::save(fs, dir, (FILE_NAME, TEMP_FILE_NAME), &encode(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for state in [
            HardState::default(),
            HardState {
                current_term: 7,
                voted_for: Some(0),
            },
            HardState {
                current_term: u64::MAX,
                voted_for: Some(u64::MAX),
            },
        ] {
            assert_eq!(decode(&encode(state)), Ok(state));
        }
    }

    #[test]
    fn any_damage_is_refused() {
        let bytes = encode(HardState {
            current_term: 3,
            voted_for: Some(1),
        });
        for position in 0..BYTES {
            let mut damaged = bytes;
            damaged[position] ^= 1;
            assert!(decode(&damaged).is_err(), "flip at {position}");
        }
        assert_eq!(decode(&bytes[..25]), Err("25 bytes, expected 26".into()));
    }
}
