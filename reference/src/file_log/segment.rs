//! Segment files: naming, their header, and recovering the segments of a log directory on
//! open.
//!
//! A segment holds the records of consecutive entries (see `record.rs`) after a 28-byte
//! header; its name is the index of its first entry, zero-padded so that names sort in index
//! order: `00000000000000000001.segment`.
//!
//! ```text
//! ["RFSG"][format version: u32 LE = 2][first index: u64 LE][sequence: u64 LE]
//! [crc32c of the 24 bytes before: u32 LE]
//! ```
//!
//! The *sequence* numbers segments in the order they were created. Format version 1 (rafty
//! before batches were atomic) had no header and no batch counts in its records; such a file is
//! refused with an error that says so, never misread.
//!
//! **What a log directory means.** Replay the segments in sequence order: each one's entries
//! replace every entry from its first index on. So a segment created later *supersedes* the
//! records at and after its first index in every segment created before it; an older segment
//! that starts at or after it is stale. Rolls create segments in index order, where this
//! changes nothing; truncations use it (below).
//!
//! **Where batches end.** A batch never spans two segments: a segment starts only where a
//! batch starts. A segment's records normally end with a complete batch. Two exceptions:
//!
//! * the **last** segment may end with an *open* batch, whose closing record never reached
//!   the disk (an append interrupted by a crash, torn or not): recovery cuts it off, whole,
//!   so an append is all-or-nothing;
//! * a segment that is **not the last** may end with an open batch when the next segment
//!   starts right after it: [`Log::truncate`](crate::Log::truncate) into the middle of a batch
//!   keeps the batch's first part by creating an empty segment that starts at the cut (a
//!   *seal*) before anything else. That one durable step is the truncation: the seal
//!   supersedes the rest of the batch and every later segment, which are then removed and cut
//!   (recovery finishes the job if a crash came first).
//!
//! Anything else is corruption: damaged or misnumbered records anywhere, an open batch
//! followed by another, a torn record in a segment that is not the last, a gap between
//! segments, two segments with one sequence number.

use std::io;
use std::path::{Path, PathBuf};

use super::fs::{FileSystem, FsFile};
use super::record::{Location, scan, u32_at};
use crate::log::LogError;
use crate::types::LogIndex;

const SUFFIX: &str = ".segment";
const DIGITS: usize = 20;

/// Bytes in a segment header.
pub const HEADER_BYTES: usize = 28;
const MAGIC: &[u8; 4] = b"RFSG";
/// The segment format this code writes and reads.
pub const FORMAT_VERSION: u32 = 2;

/// One open segment file.
pub struct Segment<F> {
    /// The index of the first entry the segment holds (or will hold, when empty).
    pub first_index: LogIndex,
    /// Its path, for error messages.
    pub path: PathBuf,
    /// The open file.
    pub file: F,
    /// The offset just past its last record (the header's size when it holds none): where
    /// the next record goes.
    pub end: u64,
}

impl<F> Segment<F> {
    /// Whether the segment holds no record.
    pub fn is_empty(&self) -> bool {
        self.end <= HEADER_BYTES as u64
    }
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

/// The header of the segment whose first entry is `first_index`, created `sequence`th.
pub fn header(first_index: LogIndex, sequence: u64) -> [u8; HEADER_BYTES] {
    let mut bytes = [0; HEADER_BYTES];
    bytes[..4].copy_from_slice(MAGIC);
    bytes[4..8].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes[8..16].copy_from_slice(&first_index.to_le_bytes());
    bytes[16..24].copy_from_slice(&sequence.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..24]);
    bytes[24..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// What the start of a segment file holds.
#[derive(Debug, PartialEq)]
enum HeaderCheck {
    /// A sound header for this segment, with its sequence number.
    Sound(u64),
    /// The file ends inside the header, or is zeros from inside the header on, and what is
    /// there agrees with this segment's header: it was being created when the power went.
    Torn(String),
    /// Anything else.
    Bad(String),
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Check the header at the start of `bytes` (the whole file, or at least its header).
fn check_header(bytes: &[u8], first_index: LogIndex) -> HeaderCheck {
    if bytes.len() >= HEADER_BYTES
        && bytes[..4] == *MAGIC
        && u32_at(bytes, 4) == FORMAT_VERSION
        && crc32c::crc32c(&bytes[..24]) == u32_at(bytes, 24)
        && u64_at(bytes, 8) == first_index
    {
        return HeaderCheck::Sound(u64_at(bytes, 16));
    }
    let written = bytes
        .iter()
        .rposition(|&byte| byte != 0)
        .map_or(0, |at| at + 1);
    let known = header(first_index, 0);
    let agrees = written.min(16);
    if written < HEADER_BYTES && bytes[..agrees] == known[..agrees] {
        return HeaderCheck::Torn(format!(
            "{written} bytes of a {HEADER_BYTES}-byte segment header, then {} zero bytes",
            bytes.len() - written
        ));
    }
    // Format 1 began with a record: a length and its checksum.
    let format_1 = bytes.len() >= 8 && crc32c::crc32c(&bytes[..4]) == u32_at(bytes, 4);
    let reason = if format_1 && bytes[..4] != *MAGIC {
        "a segment of format version 1 (written by rafty before batches were atomic; it has no \
         header): this version reads only format 2; start from an empty directory"
            .to_string()
    } else if bytes.len() >= 4 && bytes[..4] != *MAGIC {
        "not a segment file (bad magic)".to_string()
    } else if bytes.len() < HEADER_BYTES {
        format!(
            "{} bytes of a {HEADER_BYTES}-byte segment header",
            bytes.len()
        )
    } else if u32_at(bytes, 4) != FORMAT_VERSION {
        format!(
            "segment format version {}; this version of rafty reads only {FORMAT_VERSION}",
            u32_at(bytes, 4)
        )
    } else if crc32c::crc32c(&bytes[..24]) != u32_at(bytes, 24) {
        "segment header checksum mismatch".to_string()
    } else {
        format!(
            "the header says the segment starts at index {}, its name {first_index}",
            u64_at(bytes, 8)
        )
    };
    HeaderCheck::Bad(reason)
}

/// Read the header of the segment file at `path`: its sequence number, or `None` if it is
/// torn (see [`HeaderCheck::Torn`]).
fn read_header<FS: FileSystem>(
    fs: &FS,
    path: &Path,
    first_index: LogIndex,
) -> Result<Option<u64>, LogError> {
    let mut start = [0; HEADER_BYTES];
    match io_at("open", path, fs.open(path))?.read_at(0, &mut start) {
        Ok(()) => match check_header(&start, first_index) {
            HeaderCheck::Sound(sequence) => return Ok(Some(sequence)),
            HeaderCheck::Bad(reason) => return Err(corrupted(path, Some(0), reason)),
            HeaderCheck::Torn(_) => {}
        },
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {}
        Err(error) => return io_at("read", path, Err(error)),
    }
    // Short, or zeros inside the header: the whole file tells torn from damaged.
    match check_header(&io_at("read", path, fs.read(path))?, first_index) {
        HeaderCheck::Sound(sequence) => Ok(Some(sequence)),
        HeaderCheck::Torn(reason) => {
            tracing::warn!(path = %path.display(), %reason,
                "removing a segment whose creation a crash cut short");
            Ok(None)
        }
        HeaderCheck::Bad(reason) => Err(corrupted(path, Some(0), reason)),
    }
}

/// What recovery found: the segments in index order and where each entry is.
pub struct Recovered<F> {
    /// The segments, in index order.
    pub segments: Vec<Segment<F>>,
    /// The index of the entry `locations[0]` stands for: the first segment's first index (1
    /// for a log that never compacted).
    pub first_index: LogIndex,
    /// `locations[i]` is the entry with index `first_index + i`.
    pub locations: Vec<Location>,
    /// The sequence number for the next segment created.
    pub next_sequence: u64,
}

/// `result`, its I/O error (if any) naming what was being done to which file.
pub(super) fn io_at<T>(what: &str, path: &Path, result: io::Result<T>) -> Result<T, LogError> {
    result.map_err(|error| {
        let message = format!("{what} {}: {error}", path.display());
        LogError::Io(io::Error::new(error.kind(), message))
    })
}

fn corrupted(path: &Path, offset: Option<u64>, reason: String) -> LogError {
    let location = match offset {
        Some(offset) => format!("{} at offset {offset}", path.display()),
        None => path.display().to_string(),
    };
    LogError::Corrupted { location, reason }
}

/// A segment file found in the directory.
struct Found {
    first_index: LogIndex,
    sequence: u64,
    /// Entries from this index on are superseded by a segment created later.
    superseded_from: LogIndex,
}

/// Open every segment in `dir`, settle what an interrupted append or truncation left (torn
/// new segments and stale ones removed, superseded records and an open batch at the end cut
/// off), check that the rest holds entries contiguously from index 1 (from at most
/// `base + 1` when the log was compacted through `base`), and refuse any other damage.
/// Every segment kept is synced; the caller syncs `dir` and applies the compaction base.
/// See the [module documentation](self).
pub fn recover<FS: FileSystem>(
    fs: &FS,
    dir: &Path,
    base: LogIndex,
) -> Result<Recovered<FS::File>, LogError> {
    let mut firsts: Vec<LogIndex> = fs
        .list(dir)?
        .iter()
        .filter_map(|n| parse_file_name(n))
        .collect();
    firsts.sort_unstable();
    let mut found = Vec::new();
    let mut removed = false;
    for first_index in firsts {
        let path = dir.join(file_name(first_index));
        match read_header(fs, &path, first_index)? {
            Some(sequence) => found.push(Found {
                first_index,
                sequence,
                superseded_from: LogIndex::MAX,
            }),
            None => {
                io_at("remove", &path, fs.remove(&path))?;
                removed = true;
            }
        }
    }
    let next_sequence = supersede(&mut found, dir)?;
    // Stale segments go, newest name first (any order would do: what supersedes them stays).
    for stale in found
        .iter()
        .rev()
        .filter(|f| f.superseded_from <= f.first_index)
    {
        let path = dir.join(file_name(stale.first_index));
        tracing::warn!(path = %path.display(), "removing a segment a truncation superseded");
        io_at("remove", &path, fs.remove(&path))?;
        removed = true;
    }
    if removed {
        io_at("sync directory", dir, fs.sync_dir(dir))?;
    }
    found.retain(|f| f.superseded_from > f.first_index);
    let first_index = found.first().map_or(1, |f| f.first_index);
    if first_index > base.saturating_add(1) || (base == 0 && first_index != 1) {
        let path = dir.join(file_name(first_index));
        let reason = if base == 0 {
            format!(
                "the first segment starts at index {first_index}, expected 1 (the log was \
                 never compacted)"
            )
        } else {
            format!(
                "the first segment starts at index {first_index}, but the log was compacted \
                 only through index {base} (the compaction base file): entries \
                 {}..{first_index} are missing",
                base + 1
            )
        };
        return Err(corrupted(&path, None, reason));
    }
    let mut recovered = Recovered {
        segments: Vec::new(),
        first_index,
        locations: Vec::new(),
        next_sequence,
    };
    for (position, segment) in found.iter().enumerate() {
        let path = dir.join(file_name(segment.first_index));
        let expected = first_index + recovered.locations.len() as LogIndex;
        if segment.first_index != expected {
            let reason = format!(
                "segment starts at index {}, expected {expected}",
                segment.first_index
            );
            return Err(corrupted(&path, None, reason));
        }
        let is_last = position + 1 == found.len();
        let (segment, locations) = recover_segment(fs, path, segment, is_last)?;
        recovered.locations.extend(locations);
        recovered.segments.push(segment);
    }
    Ok(recovered)
}

/// Work out, for each segment, from which index a later-created one supersedes it; returns
/// the next sequence number. Refuses two segments with one sequence number.
fn supersede(found: &mut [Found], dir: &Path) -> Result<u64, LogError> {
    let mut by_sequence: Vec<usize> = (0..found.len()).collect();
    by_sequence.sort_unstable_by_key(|&i| std::cmp::Reverse(found[i].sequence));
    let mut lowest_later = LogIndex::MAX;
    let mut previous: Option<u64> = None;
    for i in by_sequence {
        if previous == Some(found[i].sequence) {
            let reason = format!("two segments have sequence number {}", found[i].sequence);
            return Err(corrupted(
                &dir.join(file_name(found[i].first_index)),
                None,
                reason,
            ));
        }
        previous = Some(found[i].sequence);
        found[i].superseded_from = lowest_later;
        lowest_later = lowest_later.min(found[i].first_index);
    }
    let highest = found.iter().map(|f| f.sequence).max();
    Ok(highest.map_or(1, |sequence| sequence.saturating_add(1)))
}

/// Recover one segment that is not stale.
fn recover_segment<FS: FileSystem>(
    fs: &FS,
    path: PathBuf,
    found: &Found,
    is_last: bool,
) -> Result<(Segment<FS::File>, Vec<Location>), LogError> {
    let bytes = io_at("read", &path, fs.read(&path))?;
    let mut scanned = scan(&bytes, HEADER_BYTES as u64, found.first_index)
        .map_err(|damage| corrupted(&path, Some(damage.offset), damage.reason))?;
    // Records a later segment supersedes: a truncation made its seal and had not yet cut
    // this segment.
    let superseded =
        usize::try_from(found.superseded_from - found.first_index).unwrap_or(usize::MAX);
    let (keep, end) = if let Some(record) = scanned.locations.get(superseded) {
        tracing::warn!(path = %path.display(), offset = record.offset,
            "finishing a truncation a crash interrupted");
        (superseded, record.offset)
    } else if let Some(reason) = scanned.torn.take().filter(|_| !is_last) {
        let reason = format!("{reason}, in a segment that is not the last");
        return Err(corrupted(&path, Some(scanned.end), reason));
    } else if is_last {
        // An open batch at the end of the log is an append a crash interrupted: it goes
        // whole, with any torn record after it.
        let end = scanned.complete_end();
        if end < bytes.len() as u64 {
            let dropped = scanned.locations.len() - scanned.complete;
            tracing::warn!(path = %path.display(), offset = end, dropped,
                "cutting an interrupted append off the end of the log");
        }
        (scanned.complete, end)
    } else {
        // Ends with a complete batch, or with an open one the next segment seals.
        (scanned.locations.len(), scanned.end)
    };
    let mut file = io_at("open", &path, fs.open(&path))?;
    if end < bytes.len() as u64 {
        io_at("truncate", &path, file.set_len(end))?;
    }
    // After a process crash the file may hold writes the disk never made durable; the log
    // builds on what it recovered, so that must survive a power loss from now on.
    io_at("sync", &path, file.sync())?;
    scanned.locations.truncate(keep);
    let segment = Segment {
        first_index: found.first_index,
        path,
        file,
        end,
    };
    Ok((segment, scanned.locations))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_log::record;

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

    #[test]
    fn a_header_cut_short_or_zero_filled_is_torn() {
        let full = header(42, 7);
        assert_eq!(check_header(&full, 42), HeaderCheck::Sound(7));
        for cut in 0..HEADER_BYTES {
            assert!(
                matches!(check_header(&full[..cut], 42), HeaderCheck::Torn(_)),
                "{cut}"
            );
            let mut zero_filled = full[..cut].to_vec();
            zero_filled.resize(4096, 0);
            assert!(
                matches!(check_header(&zero_filled, 42), HeaderCheck::Torn(_)),
                "{cut}"
            );
        }
    }

    #[test]
    fn a_damaged_header_is_bad_and_says_why() {
        let reason = |bytes: &[u8], first_index| match check_header(bytes, first_index) {
            HeaderCheck::Bad(reason) => reason,
            other => panic!("{other:?}"),
        };
        let mut flipped = header(42, 1);
        flipped[20] ^= 1;
        assert_eq!(reason(&flipped, 42), "segment header checksum mismatch");
        assert!(reason(&header(41, 1), 42).contains("starts at index 41"));
        let mut version_3 = header(42, 1);
        version_3[4] = 3;
        assert!(reason(&version_3, 42).contains("format version 3"));
        assert_eq!(
            reason(b"hello, world, hello world", 1),
            "not a segment file (bad magic)"
        );
    }

    #[test]
    fn a_format_1_segment_is_refused_by_name() {
        // Format 1: records with no segment header, and a 12-byte record header.
        let length = 9u32.to_le_bytes();
        let mut old = length.to_vec();
        old.extend(crc32c::crc32c(&length).to_le_bytes());
        old.extend([7; 4 + 9]);
        match check_header(&old, 1) {
            HeaderCheck::Bad(reason) => assert!(reason.contains("format version 1"), "{reason}"),
            other => panic!("{other:?}"),
        }
        // And the current record format is no segment header either.
        let mut records = Vec::new();
        let entry = crate::types::Entry {
            term: 1,
            index: 1,
            payload: crate::types::Payload::Noop,
        };
        record::encode(&entry, 0, &mut records).unwrap();
        assert!(matches!(check_header(&records, 1), HeaderCheck::Bad(_)));
    }
}
