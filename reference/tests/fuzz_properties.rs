//! The fuzz targets' properties (`rafty::testing::fuzz`), run for a few hundred cases in every
//! `cargo test`: FileLog recovery from damaged files, and the TCP frame decoder on arbitrary
//! bytes. `cargo +nightly fuzz run <target>` in `fuzz/` runs the same properties for longer.

use proptest::prelude::*;
use rafty::tcp::RaftRequest;
use rafty::tcp::frame::{Envelope, encode_frame};
use rafty::testing::fuzz::{Recovery, file_log_recovery, tcp_frame_decoding};
use rafty::{AppendEntries, Entry, InstallSnapshot, Payload};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any damage script over a log of any length: refused, or a prefix that takes writes.
    #[test]
    fn file_log_recovers_or_refuses_damaged_files(
        count in any::<u8>(),
        script in proptest::collection::vec(any::<u8>(), 0..48),
    ) {
        let mut data = vec![count];
        data.extend(script);
        let _ = file_log_recovery(&data);
    }

    /// Arbitrary bytes, including huge length prefixes.
    #[test]
    fn frame_decoder_survives_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        tcp_frame_decoding(&data);
    }

    /// Valid frames with some bytes changed or cut: closer to what a fuzzer reaches.
    #[test]
    fn frame_decoder_survives_damaged_valid_frames(
        id in any::<u64>(),
        payload in proptest::collection::vec(any::<u8>(), 0..64),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let request = RaftRequest::AppendEntries(AppendEntries {
            term: 3,
            leader_id: 1,
            prev_log_index: 2,
            prev_log_term: 2,
            entries: vec![Entry { term: 3, index: 3, payload: Payload::Command(payload) }],
            leader_commit: 2,
        });
        let mut frame = encode_frame(&Envelope { id, body: request }, 1 << 20).unwrap();
        for (at, value) in flips {
            let at = at % frame.len();
            frame[at] ^= value;
        }
        frame.truncate(cut % (frame.len() + 1));
        tcp_frame_decoding(&frame);
    }

    /// Valid InstallSnapshot frames (protocol version 2) with some bytes changed or cut: the
    /// data length among them, so a chunk claiming more bytes than its frame holds.
    #[test]
    fn frame_decoder_survives_damaged_install_snapshot_frames(
        id in any::<u64>(),
        fields in any::<(u64, u64, u64, u32, bool)>(),
        data in proptest::collection::vec(any::<u8>(), 0..256),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let (term, last_included_index, offset, checksum, done) = fields;
        let request = RaftRequest::InstallSnapshot(InstallSnapshot {
            term,
            leader_id: 1,
            last_included_index,
            last_included_term: term,
            size_bytes: offset.saturating_add(data.len() as u64),
            checksum,
            offset,
            data,
            done,
        });
        let mut frame = encode_frame(&Envelope { id, body: request }, 1 << 20).unwrap();
        tcp_frame_decoding(&frame);
        for (at, value) in flips {
            let at = at % frame.len();
            frame[at] ^= value;
        }
        frame.truncate(cut % (frame.len() + 1));
        tcp_frame_decoding(&frame);
    }
}

/// A few fixed inputs that once mattered: empty input, a log written whole, the last segment
/// removed, a header cut short.
#[test]
fn fixed_inputs() {
    for data in [
        &[][..],
        &[12],
        &[12, 3, 0, 0, 0],
        &[20, 1, 3, 40, 0],
        &[7, 2, 0, 255, 255],
    ] {
        file_log_recovery(data);
    }
    for data in [
        &[][..],
        &[0, 0, 0, 0],
        &[255, 255, 255, 255, 1],
        &[0, 0, 0, 1, 9],
        // An InstallSnapshot envelope whose data claims 2^32 - 1 bytes in a 14-byte frame.
        &[
            0, 0, 0, 14, 0, 3, 1, 1, 1, 1, 1, 1, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F,
        ],
    ] {
        tcp_frame_decoding(data);
    }
}

/// The damage scripts reach every outcome: refusal, a whole log, and a torn tail cut back to
/// a shorter prefix; so the property is not passing vacuously.
#[test]
fn damage_reaches_refusal_whole_and_shortened_logs() {
    let (mut refused, mut whole, mut shortened) = (0, 0, 0);
    for seed in 0..400u64 {
        let length = 1 + 4 * (seed % 3) as u8;
        let data: Vec<u8> = (0..length)
            .map(|i| (seed.wrapping_mul(2654435761) >> (i % 7 * 8)) as u8 ^ i)
            .collect();
        match file_log_recovery(&data) {
            Recovery::Refused(_) => refused += 1,
            Recovery::Recovered { kept, written } if kept == written => whole += 1,
            Recovery::Recovered { .. } => shortened += 1,
        }
    }
    assert!(
        refused > 10 && whole > 10 && shortened > 10,
        "{refused} refused, {whole} whole, {shortened} shortened"
    );
}
