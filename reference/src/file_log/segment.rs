//! Segment files: naming, and recovering the segments of a log directory on open.
//!
//! A segment holds the records of consecutive entries; its name is the index of its first
//! entry, zero-padded so that names sort in index order: `00000000000000000001.segment`.

use std::path::{Path, PathBuf};

use super::fs::{FileSystem, FsFile};
use super::record::{Location, ScanEnd, scan};
use crate::log::LogError;
use crate::types::LogIndex;

const SUFFIX: &str = ".segment";
const DIGITS: usize = 20;

/// One open segment file.
pub struct Segment<F> {
    /// The index of the first entry the segment holds (or will hold, when empty).
    pub first_index: LogIndex,
    /// Its path, for error messages.
    pub path: PathBuf,
    /// The open file.
    pub file: F,
    /// The offset just past its last record: where the next record goes.
    pub end: u64,
}

/// The file name of the segment whose first entry is `first_index`.
pub fn file_name(first_index: LogIndex) -> String {
    format!("{first_index:0DIGITS$}{SUFFIX}")
}

/// The first index a segment file name stands for, or `None` for another file.
pub fn parse_file_name(name: &str) -> Option<LogIndex> {
    let digits = name.strip_suffix(SUFFIX)?;
    if digits.len() != DIGITS || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// What recovery found: the segments in index order and where each entry is.
pub struct Recovered<F> {
    /// The segments, in index order.
    pub segments: Vec<Segment<F>>,
    /// `locations[i]` is the entry with index `i + 1`.
    pub locations: Vec<Location>,
}

fn corrupted(path: &Path, offset: Option<u64>, reason: String) -> LogError {
    let location = match offset {
        Some(offset) => format!("{} at offset {offset}", path.display()),
        None => path.display().to_string(),
    };
    LogError::Corrupted { location, reason }
}

/// Open every segment in `dir`, check that together they hold entries `1..` contiguously,
/// cut a torn tail off the last one (durably), and refuse any other damage.
pub fn recover<FS: FileSystem>(fs: &FS, dir: &Path) -> Result<Recovered<FS::File>, LogError> {
    let mut firsts: Vec<LogIndex> = fs
        .list(dir)?
        .iter()
        .filter_map(|n| parse_file_name(n))
        .collect();
    firsts.sort_unstable();
    let mut recovered = Recovered {
        segments: Vec::new(),
        locations: Vec::new(),
    };
    for (position, &first_index) in firsts.iter().enumerate() {
        let is_last = position + 1 == firsts.len();
        let path = dir.join(file_name(first_index));
        let expected = recovered.locations.len() as LogIndex + 1;
        if first_index != expected {
            let reason = format!("segment starts at index {first_index}, expected {expected}");
            return Err(corrupted(&path, None, reason));
        }
        let bytes = fs.read(&path)?;
        let (locations, scan_end) = scan(&bytes, first_index)
            .map_err(|damage| corrupted(&path, Some(damage.offset), damage.reason))?;
        let mut file = fs.open(&path)?;
        let end = match scan_end {
            ScanEnd::Clean => bytes.len() as u64,
            ScanEnd::Torn { offset, reason } if is_last => {
                tracing::warn!(path = %path.display(), offset, %reason, "cutting a torn tail");
                file.set_len(offset)?;
                file.sync()?;
                offset
            }
            ScanEnd::Torn { offset, reason } => {
                let reason = format!("{reason}, in a segment that is not the last");
                return Err(corrupted(&path, Some(offset), reason));
            }
        };
        recovered.locations.extend(locations);
        recovered.segments.push(Segment {
            first_index,
            path,
            file,
            end,
        });
    }
    Ok(recovered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_in_index_order() {
        assert_eq!(file_name(1), "00000000000000000001.segment");
        assert_eq!(parse_file_name(&file_name(u64::MAX)), Some(u64::MAX));
        assert!(file_name(9) < file_name(10));
        for other in [
            "hard_state",
            "1.segment",
            "0000000000000000000x.segment",
            "00000000000000000001.seg",
        ] {
            assert_eq!(parse_file_name(other), None, "{other}");
        }
    }
}
