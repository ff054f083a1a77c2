//! The configuration a snapshot carries (dissertation §5.4: a snapshot's metadata holds the
//! latest configuration as of its last included index), written in front of the state
//! machine's bytes:
//!
//! ```text
//! ["RFCF"][version: u32 LE = 1][length: u32 LE][the Membership, postcard: length bytes]
//! [the state machine's snapshot bytes]
//! ```
//!
//! Being inside the snapshot's bytes, it is covered by the snapshot's checksum, kept by any
//! [`SnapshotStore`](crate::SnapshotStore) unchanged and sent by InstallSnapshot with the rest.
//! A snapshot written before this envelope existed starts with the state machine's bytes: it is
//! read as carrying no configuration, and handed whole to the state machine.

use std::io::{self, Read, Write};

use crate::membership::Membership;

const MAGIC: &[u8; 4] = b"RFCF";
const VERSION: u32 = 1;
/// The largest encoded configuration accepted (a bound on what a damaged length may ask).
const MAX_MEMBERSHIP_BYTES: u32 = 1 << 20;

/// Write the envelope carrying `membership` to `out`.
pub(super) fn write(membership: &Membership, out: &mut dyn Write) -> io::Result<()> {
    let encoded = postcard::to_stdvec(membership).expect("a Membership always encodes");
    let length = u32::try_from(encoded.len()).expect("a configuration is far below 4 GiB");
    out.write_all(MAGIC)?;
    out.write_all(&VERSION.to_le_bytes())?;
    out.write_all(&length.to_le_bytes())?;
    out.write_all(&encoded)
}

/// Read the envelope from `data`: the configuration it carries (`None` for a snapshot
/// without one) and a reader of the state machine's bytes that follow.
pub(super) fn read<'a>(
    data: &'a mut dyn Read,
) -> io::Result<(Option<Membership>, Box<dyn Read + 'a>)> {
    let mut magic = Vec::with_capacity(4);
    (&mut *data).take(4).read_to_end(&mut magic)?;
    if magic != MAGIC {
        return Ok((None, Box::new(io::Cursor::new(magic).chain(data))));
    }
    let version = read_u32(data)?;
    if version != VERSION {
        return Err(invalid(format!(
            "snapshot configuration envelope version {version}; this rafty reads {VERSION}"
        )));
    }
    let length = read_u32(data)?;
    if length > MAX_MEMBERSHIP_BYTES {
        return Err(invalid(format!(
            "snapshot configuration of {length} bytes (at most {MAX_MEMBERSHIP_BYTES})"
        )));
    }
    let mut encoded = vec![0; length as usize];
    data.read_exact(&mut encoded)?;
    let membership: Membership = postcard::from_bytes(&encoded)
        .map_err(|error| invalid(format!("undecodable snapshot configuration: {error}")))?;
    membership
        .validate()
        .map_err(|error| invalid(format!("snapshot configuration: {error}")))?;
    Ok((Some(membership), Box::new(data)))
}

fn read_u32(data: &mut dyn Read) -> io::Result<u32> {
    let mut bytes = [0; 4];
    data.read_exact(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_leaves_the_state_machine_bytes() {
        let membership = Membership::new([1, 2, 3]).with_learners([4]);
        let mut bytes = Vec::new();
        write(&membership, &mut bytes).unwrap();
        bytes.extend_from_slice(b"state");
        let mut input = bytes.as_slice();
        let (read_back, mut rest) = read(&mut input).unwrap();
        let mut state = Vec::new();
        rest.read_to_end(&mut state).unwrap();
        assert_eq!((read_back, state), (Some(membership), b"state".to_vec()));
    }

    /// Snapshots written before configurations were carried stay readable: all their bytes go
    /// to the state machine, even a snapshot shorter than the magic.
    #[test]
    fn a_snapshot_without_envelope_is_handed_over_whole() {
        for old in [&b"legacy state bytes"[..], b"ab", b""] {
            let mut input = old;
            let (membership, mut rest) = read(&mut input).unwrap();
            let mut state = Vec::new();
            rest.read_to_end(&mut state).unwrap();
            assert_eq!((membership, state.as_slice()), (None, old));
        }
    }

    #[test]
    fn a_damaged_envelope_is_an_error_naming_what_is_wrong() {
        let mut bytes = b"RFCF".to_vec();
        bytes.extend_from_slice(&9u32.to_le_bytes());
        let error = read(&mut bytes.as_slice()).err().expect("refused");
        assert!(error.to_string().contains("version 9"), "{error}");
    }
}
