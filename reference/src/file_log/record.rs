//! How an entry is framed on disk, and how a segment's bytes are read back.
//!
//! A record is a 12-byte header and a payload:
//!
//! ```text
//! [payload length: u32 LE][crc32c of the length bytes: u32 LE][crc32c of the payload: u32 LE]
//! [payload: the entry, postcard-encoded]
//! ```
//!
//! The length has its own checksum so that a damaged length is told apart from a record cut
//! short by a crash: only a record whose (valid) length runs past the end of the file, or an
//! incomplete header, or zeros to the end of the file, count as a torn tail.

use crate::types::{Entry, LogIndex, Term};

/// Bytes in a record header.
pub const HEADER_BYTES: usize = 12;

/// Append the record for `entry` to `out`; returns the record's size in bytes, or `None` if
/// the entry is too large for a record (its payload over `u32::MAX` bytes).
pub fn encode(entry: &Entry, out: &mut Vec<u8>) -> Option<u64> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_BYTES]);
    let taken = std::mem::take(out);
    // Encoding into a Vec cannot fail for an Entry: a failure is a broken invariant.
    *out = postcard::to_extend(entry, taken).expect("an Entry always encodes");
    let Ok(length) = u32::try_from(out.len() - start - HEADER_BYTES) else {
        out.truncate(start);
        return None;
    };
    let length_bytes = length.to_le_bytes();
    let payload_crc = crc32c::crc32c(&out[start + HEADER_BYTES..]);
    out[start..start + 4].copy_from_slice(&length_bytes);
    out[start + 4..start + 8].copy_from_slice(&crc32c::crc32c(&length_bytes).to_le_bytes());
    out[start + 8..start + 12].copy_from_slice(&payload_crc.to_le_bytes());
    Some((out.len() - start) as u64)
}

/// What is at one position of a segment's bytes.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A sound record: the entry and the record's size in bytes.
    Record(Entry, u64),
    /// The bytes end inside a record, or only zeros remain: what a crash mid-write leaves.
    Incomplete(String),
    /// A record that fails its checks: corruption.
    Damaged(String),
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
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
    if crc32c::crc32c(&bytes[..4]) != u32_at(bytes, 4) {
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
    if crc32c::crc32c(payload) != u32_at(bytes, 8) {
        return Parsed::Damaged("record checksum mismatch".into());
    }
    match postcard::take_from_bytes::<Entry>(payload) {
        Ok((entry, [])) => Parsed::Record(entry, end),
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
}

/// How a scan of a segment's bytes ended.
#[derive(Debug, PartialEq)]
pub enum ScanEnd {
    /// Every byte belongs to a sound record.
    Clean,
    /// The bytes from `offset` on are a record cut short (a torn write).
    Torn {
        /// Where the incomplete record starts.
        offset: u64,
        /// What was found there.
        reason: String,
    },
}

/// Corruption found by a scan, at `offset`.
#[derive(Debug, PartialEq)]
pub struct Damage {
    /// Where the bad record starts.
    pub offset: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// Read every record of a segment whose first entry has index `first_index`; the indices must
/// follow one another.
pub fn scan(bytes: &[u8], first_index: LogIndex) -> Result<(Vec<Location>, ScanEnd), Damage> {
    let mut locations = Vec::new();
    let mut offset = 0u64;
    while offset < bytes.len() as u64 {
        match parse(&bytes[offset as usize..]) {
            Parsed::Record(entry, size) => {
                let expected = first_index + locations.len() as LogIndex;
                if entry.index != expected {
                    let reason = format!("entry has index {}, expected {expected}", entry.index);
                    return Err(Damage { offset, reason });
                }
                locations.push(Location {
                    term: entry.term,
                    offset,
                    size,
                });
                offset += size;
            }
            Parsed::Incomplete(reason) => return Ok((locations, ScanEnd::Torn { offset, reason })),
            Parsed::Damaged(reason) => return Err(Damage { offset, reason }),
        }
    }
    Ok((locations, ScanEnd::Clean))
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

    fn records(first: LogIndex, count: u64) -> Vec<u8> {
        let mut out = Vec::new();
        for index in first..first + count {
            encode(&entry(index), &mut out).unwrap();
        }
        out
    }

    #[test]
    fn encoded_records_parse_back() {
        let mut out = Vec::new();
        let size = encode(&entry(1), &mut out).unwrap();
        assert_eq!(size, out.len() as u64);
        assert_eq!(parse(&out), Parsed::Record(entry(1), size));
    }

    #[test]
    fn scan_reads_every_record() {
        let bytes = records(5, 3);
        let (locations, end) = scan(&bytes, 5).unwrap();
        assert_eq!(end, ScanEnd::Clean);
        assert_eq!(locations.len(), 3);
        assert_eq!(locations[1].offset, locations[0].size);
    }

    #[test]
    fn every_cut_is_a_torn_tail_after_the_last_whole_record() {
        let bytes = records(1, 2);
        let first_size = scan(&bytes, 1).unwrap().0[0].size;
        for cut in 1..bytes.len() {
            let (locations, end) = scan(&bytes[..cut], 1).unwrap();
            let whole = if cut as u64 >= first_size { 1 } else { 0 };
            assert_eq!(locations.len(), whole, "cut at {cut}");
            let expected_offset = if whole == 1 { first_size } else { 0 };
            if cut as u64 != first_size {
                assert!(
                    matches!(end, ScanEnd::Torn { offset, .. } if offset == expected_offset),
                    "cut at {cut}: {end:?}"
                );
            }
        }
    }

    #[test]
    fn zeros_after_the_records_are_a_torn_tail() {
        let mut bytes = records(1, 1);
        let size = bytes.len() as u64;
        bytes.extend([0; 40]);
        let (locations, end) = scan(&bytes, 1).unwrap();
        assert_eq!(locations.len(), 1);
        assert!(matches!(end, ScanEnd::Torn { offset, .. } if offset == size));
    }

    #[test]
    fn a_flipped_bit_anywhere_is_damage_or_a_short_tail_never_a_wrong_entry() {
        let bytes = records(1, 3);
        for position in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[position] ^= 0x10;
            match scan(&damaged, 1) {
                Err(_) => {}
                Ok((locations, ScanEnd::Torn { .. })) => {
                    panic!(
                        "bit flip at {position} read as a torn tail after {} records",
                        locations.len()
                    )
                }
                Ok((_, ScanEnd::Clean)) => panic!("bit flip at {position} went unnoticed"),
            }
        }
    }

    #[test]
    fn wrong_index_is_damage() {
        let bytes = records(1, 2);
        let damage = scan(&bytes, 7).unwrap_err();
        assert_eq!(damage.offset, 0);
        assert!(
            damage.reason.contains("index 1, expected 7"),
            "{}",
            damage.reason
        );
    }
}
