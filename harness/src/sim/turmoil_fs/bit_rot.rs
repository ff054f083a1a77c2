//! Bit rot in a [`rafty::FileLog`]'s segment files, for the `corrupt` nemesis.
//!
//! **What "a corrupted record" means here.** One bit of one durable record flips on the medium
//! (a bad sector, a decaying cell, a misdirected write of one block), after Raft already
//! acknowledged the entry: the entry is committed or may be, and the node must never serve the
//! damaged copy (never apply it, send it, or vote on a log holding it). The record is drawn
//! among every whole record **strictly before the tail** of the log (the last whole record of
//! the log is never chosen), so the damage cannot pass for a write cut short by a crash:
//! `FileLog` cuts a torn tail off on open, as it must, and a damaged last record that looked
//! exactly like one would be cut the same way. (A single flipped bit never looks like that:
//! each record's length has its own checksum; see the tests. Damage that does, such as a last
//! record zeroed to the end of the file, is cut as a torn tail: a limit of any log that
//! recovers torn writes without another record of where its durable end is.)
//!
//! **When it rots and how it is found.** The flip happens while the node's host is powered
//! off, and the node finds it at its next start: `FileLog` checks every record's checksum when
//! it opens, and reads entries back from disk only then (the node loads its whole log into the
//! core's memory at start), so a flip of what one read returns at run time
//! ([`rafty::testing::DiskFaults::corrupt_next_read`]) would only ever matter at recovery too,
//! and would vanish on a retry; damage on the medium is persistent, as bit rot is. The log
//! refuses to open with [`rafty::LogError::Corrupted`] naming the segment file and the offset
//! of the damaged record, and the node stays down (fail-stop) while the cluster goes on with
//! its healthy majority.
//!
//! **The heal.** An operator restores the damaged bytes (from a backup, or the entry from a
//! replica): the same bit flips back and the node starts with its whole log, term and vote
//! included. The disk is never wiped: a node that forgot entries it acknowledged, or the vote
//! it cast, could help elect a leader without a committed entry, or vote twice in a term.
//!
//! Which record and which bit come from one number the nemesis drew from the run's seed,
//! resolved against what is on the disk when the host boots ([`choose`]), so a seed reproduces
//! the same flip. The framing read here is `FileLog`'s: each record's header starts with its
//! payload length as a little-endian `u32`, and only the lengths are read, to find where each
//! record starts (format 2: records after a 20-byte segment header that starts `RFSG`, 16-byte
//! record headers; format 1: no segment header, 12-byte record headers). The tests check the
//! walk against what `FileLog` writes, so a change of format shows there.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rafty::LogIndex;
use rafty::file_log::fs::{FileSystem, FsFile};

/// Where the first record of a `FileLog` segment starts and how many bytes each record's
/// header takes, in the format `bytes` (the segment's content) is written in.
fn layout(bytes: &[u8]) -> (u64, u64) {
    if bytes.starts_with(b"RFSG") {
        (20, 16)
    } else {
        (0, 12)
    }
}

/// A `FileLog` segment file's name: the index of its first entry, 20 digits, `.segment`.
fn segment_first_index(name: &str) -> Option<LogIndex> {
    let digits = name.strip_suffix(".segment")?;
    (digits.len() == 20 && digits.bytes().all(|byte| byte.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// A whole record of a segment file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The segment file.
    pub path: PathBuf,
    /// Where the record starts in it.
    pub offset: u64,
    /// Its size in bytes, header included.
    pub size: u64,
    /// The index of the entry it holds.
    pub index: LogIndex,
}

/// One flipped bit: where, and in which record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flip {
    /// The damaged record.
    pub record: Record,
    /// The byte whose bit flips, as an offset in the segment file.
    pub byte_offset: u64,
    /// Which bit of that byte (0 is the least significant).
    pub bit: u8,
}

impl fmt::Display for Flip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bit {} of byte {} of {} (in the record of entry {}, at offset {})",
            self.bit,
            self.byte_offset,
            self.record.path.display(),
            self.record.index,
            self.record.offset
        )
    }
}

/// The whole records of the log in `dir`, in index order, as its segment files hold them now
/// (before any recovery): each segment is walked from its start by the records' lengths, up
/// to the first record that is not whole (a torn tail) or whose header is all zeros. An
/// empty list when the directory does not exist yet.
pub fn records<FS: FileSystem>(fs: &FS, dir: &Path) -> io::Result<Vec<Record>> {
    let names = match fs.list(dir) {
        Ok(names) => names,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut segments: Vec<(LogIndex, String)> = names
        .into_iter()
        .filter_map(|name| segment_first_index(&name).map(|first| (first, name)))
        .collect();
    segments.sort();
    let mut records = Vec::new();
    for (first_index, name) in segments {
        let path = dir.join(name);
        let bytes = fs.read(&path)?;
        let (mut offset, header_bytes) = layout(&bytes);
        let mut index = first_index;
        while let Some(header) = bytes.get(offset as usize..(offset + header_bytes) as usize) {
            if header.iter().all(|&byte| byte == 0) {
                break;
            }
            let length = u32::from_le_bytes(header[..4].try_into().expect("4 bytes"));
            let size = header_bytes + u64::from(length);
            if offset + size > bytes.len() as u64 {
                break;
            }
            records.push(Record {
                path: path.clone(),
                offset,
                size,
                index,
            });
            offset += size;
            index += 1;
        }
    }
    Ok(records)
}

/// The bit that `draw` picks among `records` (in index order), never in the last one (the
/// tail); `None` when no record comes before the tail.
pub fn choose(records: &[Record], draw: u64) -> Option<Flip> {
    let candidates = records.split_last()?.1;
    if candidates.is_empty() {
        return None;
    }
    let record = &candidates[(draw % candidates.len() as u64) as usize];
    let bit_in_record = (draw / candidates.len() as u64) % (record.size * 8);
    Some(Flip {
        record: record.clone(),
        byte_offset: record.offset + bit_in_record / 8,
        bit: (bit_in_record % 8) as u8,
    })
}

/// Flip `flip`'s bit on the disk and sync it (the same call undoes it).
pub fn toggle<FS: FileSystem>(fs: &FS, flip: &Flip) -> io::Result<()> {
    let mut file = fs.open(&flip.record.path)?;
    let mut byte = [0u8];
    file.read_at(flip.byte_offset, &mut byte)?;
    byte[0] ^= 1 << flip.bit;
    file.write_at(flip.byte_offset, &byte)?;
    file.sync()
}

#[cfg(test)]
mod tests {
    use rafty::testing::CrashFs;
    use rafty::{Entry, FileLog, FileLogOptions, Log, LogError, Payload};

    use super::*;

    const DIR: &str = "/log";

    fn entries(first: u64, count: u64) -> Vec<Entry> {
        (first..first + count)
            .map(|index| Entry {
                term: 1 + index / 10,
                index,
                payload: Payload::Command(vec![index as u8; 50 + index as usize]),
            })
            .collect()
    }

    fn open(disk: &CrashFs) -> Result<FileLog<CrashFs>, LogError> {
        let options = FileLogOptions {
            segment_size_bytes: 1024,
        };
        FileLog::open_with(disk.clone(), Path::new(DIR), options)
    }

    /// A log of 30 entries over several segments, written in batches of 3.
    fn thirty_entries() -> CrashFs {
        let disk = CrashFs::new(7);
        let mut log = open(&disk).unwrap();
        for first in (1..=30).step_by(3) {
            log.append(&entries(first, 3)).unwrap();
        }
        disk
    }

    #[test]
    fn the_walk_finds_every_record_in_index_order_across_segments() {
        let disk = thirty_entries();
        let found = records(&disk, Path::new(DIR)).unwrap();
        let indices: Vec<LogIndex> = found.iter().map(|record| record.index).collect();
        assert_eq!(indices, (1..=30).collect::<Vec<_>>());
        let segments: std::collections::BTreeSet<_> = found.iter().map(|r| &r.path).collect();
        assert!(segments.len() > 2, "several segments: {segments:?}");
        assert!(
            records(&CrashFs::new(1), Path::new("/none"))
                .unwrap()
                .is_empty()
        );
    }

    /// Every flip the nemesis can make is refused on open, naming the segment file and the
    /// record's offset; flipping it back gives the whole log again.
    #[test]
    fn every_chosen_flip_is_detected_on_open_and_undone_by_the_restore() {
        let disk = thirty_entries();
        let found = records(&disk, Path::new(DIR)).unwrap();
        for draw in (0..400u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) {
            let flip = choose(&found, draw).unwrap();
            assert_ne!(flip.record.index, 30, "the tail is never chosen");
            toggle(&disk, &flip).unwrap();
            match open(&disk) {
                Err(LogError::Corrupted { location, .. }) => {
                    let expected = format!(
                        "{} at offset {}",
                        flip.record.path.display(),
                        flip.record.offset
                    );
                    assert_eq!(location, expected, "{flip}");
                }
                Err(other) => panic!("{flip}: {other}"),
                Ok(_) => panic!("{flip}: the log opened"),
            }
            toggle(&disk, &flip).unwrap();
            let log = open(&disk).unwrap();
            assert_eq!(log.entries(1, 31).unwrap(), entries(1, 30), "{flip}");
        }
    }

    #[test]
    fn a_log_of_one_record_has_nothing_before_its_tail() {
        let disk = CrashFs::new(1);
        open(&disk).unwrap().append(&entries(1, 1)).unwrap();
        let found = records(&disk, Path::new(DIR)).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(choose(&found, 12345), None);
        assert_eq!(choose(&[], 1), None);
    }

    /// The nemesis never damages the last record, but a single flipped bit there would be
    /// refused too, not cut as a torn tail: the record's length has its own checksum.
    #[test]
    fn a_flipped_bit_in_the_last_record_is_refused_not_cut_as_a_torn_tail() {
        let disk = thirty_entries();
        let found = records(&disk, Path::new(DIR)).unwrap();
        let last = found.last().unwrap().clone();
        for bit_in_record in 0..last.size * 8 {
            let flip = Flip {
                record: last.clone(),
                byte_offset: last.offset + bit_in_record / 8,
                bit: (bit_in_record % 8) as u8,
            };
            toggle(&disk, &flip).unwrap();
            assert!(
                matches!(open(&disk), Err(LogError::Corrupted { .. })),
                "{flip} was not refused"
            );
            toggle(&disk, &flip).unwrap();
        }
        assert_eq!(open(&disk).unwrap().last_index(), 30);
    }
}
