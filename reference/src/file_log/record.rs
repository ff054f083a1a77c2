//! How an entry is framed on disk, and how a segment's bytes are read back.
//!
//! A record is a 16-byte header and a payload:
//!
//! ```text
//! [payload length: u32 LE][records after this one in its batch: u32 LE]
//! [crc32c of the 8 bytes before: u32 LE][crc32c of the payload: u32 LE]
//! [payload: the entry, postcard-encoded]
//! ```
//!
//! The length has its own checksum so that a damaged length is told apart from a record cut
//! short by a crash: only a record whose (valid) length runs past the end of the file, or an
//! incomplete header, or zeros to the end of the file, count as a torn tail.
//!
//! **Batches.** Every record says how many records of its batch (one [`Log::append`]) follow
//! it: a batch of `n` records counts down `n - 1, ..., 1, 0`, and the record with 0 closes
//! it. A batch is *complete* once its closing record is on disk; recovery keeps only complete
//! batches at the tail of the log (see `segment.rs`), which is what makes an append
//! all-or-nothing after a crash. The count is covered by the header checksum, so a torn or
//! flipped count is never believed; a record whose count does not continue the batch before it
//! (a batch left open and then followed by another) is damage, not a torn tail.
//!
//! [`Log::append`]: crate::Log::append

use crate::types::{Entry, LogIndex, Term};

/// Bytes in a record header.
pub const HEADER_BYTES: usize = 16;

/// Append the record for `entry` to `out`, saying that `after` more records of its batch follow
/// it; returns the record's size in bytes, or `None` if the entry is too large for a record
/// (its payload over `u32::MAX` bytes).
pub fn encode(entry: &Entry, after: u32, out: &mut Vec<u8>) -> Option<u64> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_BYTES]);
    let taken = std::mem::take(out);
    // Encoding into a Vec cannot fail for an Entry: a failure is a broken invariant.
    *out = postcard::to_extend(entry, taken).expect("an Entry always encodes");
    let Ok(length) = u32::try_from(out.len() - start - HEADER_BYTES) else {
        out.truncate(start);
        return None;
    };
    let payload_crc = crc32c::crc32c(&out[start + HEADER_BYTES..]);
    out[start..start + 4].copy_from_slice(&length.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&after.to_le_bytes());
    let header_crc = crc32c::crc32c(&out[start..start + 8]);
    out[start + 8..start + 12].copy_from_slice(&header_crc.to_le_bytes());
    out[start + 12..start + 16].copy_from_slice(&payload_crc.to_le_bytes());
    Some((out.len() - start) as u64)
}

/// A sound record read back.
#[derive(Debug, PartialEq)]
pub struct Record {
    /// The entry it holds.
    pub entry: Entry,
    /// How many records of its batch follow it (0: it closes its batch).
    pub after: u32,
    /// Its size in bytes, header included.
    pub size: u64,
}

/// What is at one position of a segment's bytes.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A sound record.
    Record(Record),
    /// The bytes end inside a record, or only zeros remain: what a crash mid-write leaves.
    Incomplete(String),
    /// A record that fails its checks: corruption.
    Damaged(String),
}

/// The little-endian `u32` at `at` in `bytes` (which must hold it).
pub(super) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

/// Parse the record that starts at the beginning of `bytes`.
pub fn parse(bytes: &[u8]) -> Parsed {
    if bytes.len() < HEADER_BYTES {
        return Parsed::Incomplete(format!(
            "{} bytes of a {HEADER_BYTES}-byte header",
            bytes.len()
        ));
    }
    let length = u32_at(bytes, 0);
    let after = u32_at(bytes, 4);
    if crc32c::crc32c(&bytes[..8]) != u32_at(bytes, 8) {
        if bytes.iter().all(|&byte| byte == 0) {
            return Parsed::Incomplete(format!("{} zero bytes", bytes.len()));
        }
        return Parsed::Damaged("record header checksum mismatch".into());
    }
    let end = HEADER_BYTES as u64 + u64::from(length);
    if end > bytes.len() as u64 {
        return Parsed::Incomplete(format!(
            "a record of {end} bytes with only {} bytes left in the file",
            bytes.len()
        ));
    }
    let payload = &bytes[HEADER_BYTES..end as usize];
    if crc32c::crc32c(payload) != u32_at(bytes, 12) {
        return Parsed::Damaged("record checksum mismatch".into());
    }
    match postcard::take_from_bytes::<Entry>(payload) {
        Ok((entry, [])) => Parsed::Record(Record {
            entry,
            after,
            size: end,
        }),
        Ok((_, rest)) => Parsed::Damaged(format!("{} stray bytes after the entry", rest.len())),
        Err(error) => Parsed::Damaged(format!("undecodable entry: {error}")),
    }
}

/// Where an entry's record sits in its segment, and its term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    /// The entry's term.
    pub term: Term,
    /// The record's offset in its segment file.
    pub offset: u64,
    /// The record's size in bytes, header included.
    pub size: u64,
    /// Whether the record closes its batch.
    pub closes_batch: bool,
}

/// What a scan of a segment's bytes found.
#[derive(Debug, PartialEq)]
pub struct Scan {
    /// Every sound record, in order, whether or not its batch is complete.
    pub locations: Vec<Location>,
    /// How many of `locations` belong to complete batches: the records after them are an
    /// open batch (its closing record never reached the disk, or a truncation cut it).
    pub complete: usize,
    /// The offset just past the last sound record.
    pub end: u64,
    /// When the bytes after `end` are a record cut short (a torn write): what was found there.
    pub torn: Option<String>,
}

impl Scan {
    /// Where the complete batches end: the offset the open batch (if any) starts at, else
    /// `end`.
    pub fn complete_end(&self) -> u64 {
        match self.locations.get(self.complete) {
            Some(open) => open.offset,
            None => self.end,
        }
    }
}

/// Corruption found by a scan, at `offset`.
#[derive(Debug, PartialEq)]
pub struct Damage {
    /// Where the bad record starts.
    pub offset: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// Read every record of a segment from offset `start` on; the first holds entry
/// `first_index`, and the indices and batch counts must follow one another.
pub fn scan(bytes: &[u8], start: u64, first_index: LogIndex) -> Result<Scan, Damage> {
    let mut scanned = Scan {
        locations: Vec::new(),
        complete: 0,
        end: start,
        torn: None,
    };
    // How many more records the open batch expects, if one is open.
    let mut expected_after: Option<u32> = None;
    while scanned.end < bytes.len() as u64 {
        let offset = scanned.end;
        let record = match parse(&bytes[offset as usize..]) {
            Parsed::Record(record) => record,
            Parsed::Incomplete(reason) => {
                scanned.torn = Some(reason);
                break;
            }
            Parsed::Damaged(reason) => return Err(Damage { offset, reason }),
        };
        let expected = first_index + scanned.locations.len() as LogIndex;
        if record.entry.index != expected {
            let reason = format!(
                "entry has index {}, expected {expected}",
                record.entry.index
            );
            return Err(Damage { offset, reason });
        }
        if let Some(after) = expected_after.filter(|&after| after != record.after) {
            let reason = format!(
                "record says {} more records of its batch follow, but the open batch \
                 before it expects {after} more: a batch left open was followed by another",
                record.after
            );
            return Err(Damage { offset, reason });
        }
        scanned.locations.push(Location {
            term: record.entry.term,
            offset,
            size: record.size,
            closes_batch: record.after == 0,
        });
        scanned.end = offset + record.size;
        expected_after = record.after.checked_sub(1);
        if record.after == 0 {
            scanned.complete = scanned.locations.len();
        }
    }
    Ok(scanned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Payload;

    fn entry(index: LogIndex) -> Entry {
        Entry {
            term: 2,
            index,
            payload: Payload::Command(vec![index as u8; 5]),
        }
    }

    /// The records of one batch of entries `first..first + count`.
    fn batch(first: LogIndex, count: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for index in first..first + count {
            let after = (first + count - 1 - index) as u32;
            encode(&entry(index), after, &mut out).unwrap();
        }
        out
    }

    /// Batches of the given sizes, one after another, from entry 1.
    fn batches(sizes: &[u64]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut first = 1;
        for &size in sizes {
            out.extend(batch(first, size));
            first += size;
        }
        out
    }

    #[test]
    fn encoded_records_parse_back() {
        let mut out = Vec::new();
        let size = encode(&entry(1), 3, &mut out).unwrap();
        assert_eq!(size, out.len() as u64);
        let record = Record {
            entry: entry(1),
            after: 3,
            size,
        };
        assert_eq!(parse(&out), Parsed::Record(record));
    }

    #[test]
    fn a_header_of_zeros_is_not_a_record() {
        assert_ne!(crc32c::crc32c(&[0; 8]), 0);
        assert!(matches!(parse(&[0; 40]), Parsed::Incomplete(_)));
    }

    #[test]
    fn scan_reads_every_record_and_every_batch() {
        let bytes = batches(&[2, 1]);
        let scanned = scan(&bytes, 0, 1).unwrap();
        assert_eq!(scanned.locations.len(), 3);
        assert_eq!(scanned.complete, 3);
        assert_eq!(scanned.end, bytes.len() as u64);
        assert_eq!(scanned.complete_end(), scanned.end);
        assert_eq!(scanned.torn, None);
        assert_eq!(scanned.locations[1].offset, scanned.locations[0].size);
        let closes: Vec<bool> = scanned.locations.iter().map(|l| l.closes_batch).collect();
        assert_eq!(closes, [false, true, true]);
    }

    #[test]
    fn scan_starts_at_the_given_offset() {
        let mut bytes = vec![0xAB; 20];
        bytes.extend(batch(7, 2));
        let scanned = scan(&bytes, 20, 7).unwrap();
        assert_eq!(scanned.locations[0].offset, 20);
        assert_eq!(scanned.complete, 2);
    }

    #[test]
    fn every_cut_keeps_only_the_complete_batches() {
        // A batch of one, then a batch of three: a cut anywhere in the second batch leaves
        // only the first complete, whether it falls between records or inside one.
        let bytes = batches(&[1, 3]);
        let first_batch = scan(&bytes, 0, 1).unwrap().locations[1].offset;
        for cut in 1..bytes.len() {
            let scanned = scan(&bytes[..cut], 0, 1).unwrap();
            let complete = if (cut as u64) < first_batch { 0 } else { 1 };
            assert_eq!(scanned.complete, complete, "cut at {cut}");
            let complete_end = if complete == 1 { first_batch } else { 0 };
            assert_eq!(scanned.complete_end(), complete_end, "cut at {cut}");
            let at_a_record_boundary = cut as u64 == scanned.end;
            assert_eq!(scanned.torn.is_none(), at_a_record_boundary, "cut at {cut}");
        }
    }

    #[test]
    fn zeros_after_the_records_are_a_torn_tail() {
        let mut bytes = batch(1, 1);
        let size = bytes.len() as u64;
        bytes.extend([0; 40]);
        let scanned = scan(&bytes, 0, 1).unwrap();
        assert_eq!(scanned.complete, 1);
        assert_eq!(scanned.end, size);
        assert!(scanned.torn.is_some());
    }

    #[test]
    fn a_flipped_bit_anywhere_is_damage_or_a_short_tail_never_a_wrong_entry() {
        let bytes = batches(&[2, 2]);
        for position in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x10;
            match scan(&damaged, 0, 1) {
                Err(_) => {}
                Ok(scanned) => panic!("bit flip at {position} went unnoticed: {scanned:?}"),
            }
        }
    }

    #[test]
    fn an_open_batch_followed_by_another_is_damage() {
        // Entry 1 opens a batch of three, but entry 2 closes a batch: a batch left open
        // (never completed, never cut) followed by more records.
        let mut bytes = Vec::new();
        encode(&entry(1), 2, &mut bytes).unwrap();
        let second = bytes.len() as u64;
        encode(&entry(2), 0, &mut bytes).unwrap();
        let damage = scan(&bytes, 0, 1).unwrap_err();
        assert_eq!(damage.offset, second);
        assert!(
            damage.reason.contains("expects 1 more"),
            "{}",
            damage.reason
        );
    }

    #[test]
    fn an_open_batch_at_the_end_is_kept_apart_from_the_complete_ones() {
        let mut bytes = batch(1, 2);
        let open_at = bytes.len() as u64;
        encode(&entry(3), 2, &mut bytes).unwrap();
        encode(&entry(4), 1, &mut bytes).unwrap();
        let scanned = scan(&bytes, 0, 1).unwrap();
        assert_eq!(scanned.locations.len(), 4);
        assert_eq!(scanned.complete, 2);
        assert_eq!(scanned.complete_end(), open_at);
        assert_eq!(scanned.torn, None);
    }

    #[test]
    fn wrong_index_is_damage() {
        let bytes = batch(1, 2);
        let damage = scan(&bytes, 0, 7).unwrap_err();
        assert_eq!(damage.offset, 0);
        assert!(
            damage.reason.contains("index 1, expected 7"),
            "{}",
            damage.reason
        );
    }
}
