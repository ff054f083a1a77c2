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
//! the same flip.
//!
//! **Finding the records.** The walk assumes only that a segment file is a fixed-size header
//! and then records, each a fixed-size header starting with its payload length (`u32`, little
//! endian) and the payload. The two sizes are not written down here: [`Layout::measure`]
//! has `FileLog` itself write two records to an in-memory disk and measures them, so the walk
//! follows `FileLog`'s format as it changes; the tests check the walk against what `FileLog`
//! writes. In the simulation every crash falls between two steps, when each of `FileLog`'s
//! writes has been synced (it syncs before it returns), so the disk holds whole batches and
//! segments in index order; a torn tail (the log that skips its fsyncs) ends the walk.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use rafty::file_log::fs::{FileSystem, FsFile};
use rafty::testing::CrashFs;
use rafty::{Entry, FileLog, FileLogOptions, Log, LogIndex, Payload};

/// Where records sit in `FileLog`'s segment files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Bytes before a segment's first record (its header).
    pub segment_header: u64,
    /// Bytes of a record's header, before its payload; the header starts with the payload's
    /// length.
    pub record_header: u64,
}

impl Layout {
    /// Measure the layout of `FileLog` as this harness is built: on an in-memory disk, append
    /// two entries of the same size, one batch each, to an empty log. The segment grows by one
    /// record per batch, so the second batch gives a record's size and the first, less that,
    /// the segment header; the length the record starts with gives its header's size.
    pub fn measure() -> io::Result<Layout> {
        let failed = |what: String| io::Error::other(format!("measuring FileLog's layout: {what}"));
        let disk = CrashFs::new(0);
        let dir = Path::new("/measure");
        let mut log = FileLog::open_with(disk.clone(), dir, FileLogOptions::default())
            .map_err(|error| failed(error.to_string()))?;
        let mut sizes = Vec::new();
        for index in 1..=2 {
            let entry = Entry {
                term: 1,
                index,
                payload: Payload::Command(vec![0xA5; 32]),
            };
            log.append(&[entry])
                .map_err(|error| failed(error.to_string()))?;
            let segments = segment_files(&disk, dir)?;
            let [(_, path)] = &segments[..] else {
                return Err(failed(format!("{} segment files", segments.len())));
            };
            sizes.push(disk.read(path)?);
        }
        let (first, second) = (&sizes[0], &sizes[1]);
        let record = (second.len() as u64)
            .checked_sub(first.len() as u64)
            .ok_or_else(|| failed("the segment shrank".into()))?;
        let segment_header = (first.len() as u64)
            .checked_sub(record)
            .ok_or_else(|| failed("records of different sizes".into()))?;
        let length = first
            .get(segment_header as usize..segment_header as usize + 4)
            .map(|bytes| u64::from(u32::from_le_bytes(bytes.try_into().expect("4 bytes"))))
            .ok_or_else(|| failed("no record length".into()))?;
        match record.checked_sub(length) {
            Some(record_header) if record_header >= 4 => Ok(Layout {
                segment_header,
                record_header,
            }),
            _ => Err(failed(format!(
                "a {record}-byte record does not start with its payload length ({length})"
            ))),
        }
    }
}

/// The segment files in `dir`, by first index (an empty list if `dir` does not exist).
fn segment_files<FS: FileSystem>(fs: &FS, dir: &Path) -> io::Result<Vec<(LogIndex, PathBuf)>> {
    let names = match fs.list(dir) {
        Ok(names) => names,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut segments: Vec<(LogIndex, PathBuf)> = names
        .into_iter()
        .filter_map(|name| segment_first_index(&name).map(|first| (first, dir.join(name))))
        .collect();
    segments.sort();
    Ok(segments)
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
/// (before any recovery), laid out as `layout` says: each segment is walked from its header on
/// by the records' lengths, up to the first record that is not whole (a torn tail) or whose
/// header is all zeros; a segment replaces the records from its first index on (as after a
/// truncation). An empty list when the directory does not exist yet.
pub fn records<FS: FileSystem>(fs: &FS, dir: &Path, layout: Layout) -> io::Result<Vec<Record>> {
    let mut records: Vec<Record> = Vec::new();
    for (first_index, path) in segment_files(fs, dir)? {
        records.retain(|record| record.index < first_index);
        let bytes = fs.read(&path)?;
        let header_bytes = layout.record_header;
        let mut offset = layout.segment_header;
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
    use rafty::LogError;

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

    /// The walk's layout is `FileLog`'s: the first record starts right after the segment
    /// header, and each record's size is its header plus the length it starts with.
    #[test]
    fn the_measured_layout_is_stable_and_plausible() {
        let layout = Layout::measure().unwrap();
        assert_eq!(layout, Layout::measure().unwrap());
        assert!(
            layout.record_header >= 4 && layout.record_header <= 64,
            "{layout:?}"
        );
        assert!(layout.segment_header <= 4096, "{layout:?}");
    }

    #[test]
    fn the_walk_finds_every_record_in_index_order_across_segments() {
        let disk = thirty_entries();
        let found = records(&disk, Path::new(DIR), Layout::measure().unwrap()).unwrap();
        let indices: Vec<LogIndex> = found.iter().map(|record| record.index).collect();
        assert_eq!(indices, (1..=30).collect::<Vec<_>>());
        let segments: std::collections::BTreeSet<_> = found.iter().map(|r| &r.path).collect();
        assert!(segments.len() > 2, "several segments: {segments:?}");
        assert!(
            records(
                &CrashFs::new(1),
                Path::new("/none"),
                Layout::measure().unwrap()
            )
            .unwrap()
            .is_empty()
        );
    }

    /// Every flip the nemesis can make is refused on open, naming the segment file and the
    /// record's offset; flipping it back gives the whole log again.
    #[test]
    fn every_chosen_flip_is_detected_on_open_and_undone_by_the_restore() {
        let disk = thirty_entries();
        let found = records(&disk, Path::new(DIR), Layout::measure().unwrap()).unwrap();
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
        let found = records(&disk, Path::new(DIR), Layout::measure().unwrap()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(choose(&found, 12345), None);
        assert_eq!(choose(&[], 1), None);
    }

    /// The nemesis never damages the last record, but a single flipped bit there would be
    /// refused too, not cut as a torn tail: the record's length has its own checksum.
    #[test]
    fn a_flipped_bit_in_the_last_record_is_refused_not_cut_as_a_torn_tail() {
        let disk = thirty_entries();
        let found = records(&disk, Path::new(DIR), Layout::measure().unwrap()).unwrap();
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
