//! The InstallSnapshot cases of the peer suite (§7, Figure 13): a chunk reaches the handler
//! whole, every field and every byte; its answer comes back whole; a chunk the handler refuses
//! is an error, never a hang. (The deadline and large-chunk checks sit in the general cases.)

use super::cases::{TIMEOUT, answer, bounded, expect_eq, setup};
use super::reference::{REFUSED_SNAPSHOT_TERM, snapshot_answer};
use super::{CLIENT_ID, PeerHarness};
use crate::message::InstallSnapshot;
use crate::peer::PeerError;

/// A chunk of `data` at `offset` of a snapshot up to index 1234 (term 6), whose checksum is the
/// CRC32C of `data`, so a `done` chunk at offset 0 is a whole snapshot the server installs.
pub(super) fn snapshot_chunk(offset: u64, data: Vec<u8>, done: bool) -> InstallSnapshot {
    InstallSnapshot {
        term: 7,
        leader_id: CLIENT_ID,
        last_included_index: 1234,
        last_included_term: 6,
        size_bytes: offset + data.len() as u64,
        checksum: crc32c::crc32c(&data),
        offset,
        data,
        done,
    }
}

/// `len` bytes that differ from one offset to the next, so a byte lost, moved or changed shows.
fn patterned(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64 * 131 + u64::from(seed)) as u8 ^ (i >> 8) as u8)
        .collect()
}

/// Chunks of every shape reach the handler exactly as sent (every field, multi-KB data byte
/// for byte), and each answer comes back exactly as the handler gave it.
pub async fn install_snapshot_round_trips(harness: &mut impl PeerHarness) -> Result<(), String> {
    let (server, peer) = setup(harness).await?;
    let first = snapshot_chunk(0, patterned(3 << 10, 1), false);
    let middle = InstallSnapshot {
        offset: 3 << 10,
        ..snapshot_chunk(0, patterned(48 << 10, 2), false)
    };
    let whole = snapshot_chunk(0, patterned(20 << 10, 3), true);
    let empty_last = snapshot_chunk(51 << 10, vec![], true);
    let widest = InstallSnapshot {
        term: u64::MAX,
        leader_id: u64::MAX,
        last_included_index: u64::MAX,
        last_included_term: u64::MAX,
        size_bytes: u64::MAX,
        checksum: u32::MAX,
        offset: u64::MAX - 5,
        data: vec![0xFF, 0, 0xFF, 0, 0xFF],
        done: false,
    };
    let sent = [first, middle, whole, empty_last, widest];
    for (n, request) in sent.iter().enumerate() {
        let what = format!("install_snapshot chunk {n}");
        let got = answer(&what, peer.install_snapshot(request.clone(), TIMEOUT)).await?;
        expect_eq(&format!("{what} answer"), got, snapshot_answer(request))?;
    }
    let seen = server.snapshots_seen();
    if seen.len() != sent.len() {
        return Err(format!(
            "the handler received {} InstallSnapshot chunks, {} were sent",
            seen.len(),
            sent.len()
        ));
    }
    for (n, (got, want)) in seen.iter().zip(&sent).enumerate() {
        if got != want {
            return Err(format!(
                "InstallSnapshot chunk {n} arrived altered: sent offset {} with {} bytes \
                 (done {}), received offset {} with {} bytes (done {}){}",
                want.offset,
                want.data.len(),
                want.done,
                got.offset,
                got.data.len(),
                got.done,
                if got.data == want.data {
                    ", same data, another field differs"
                } else {
                    ""
                }
            ));
        }
    }
    Ok(())
}

/// A chunk the handler refuses comes back as [`PeerError::Rejected`] (it reached the
/// handler: indefinite), by its deadline; the next chunk is answered.
pub async fn a_refused_install_snapshot_is_an_error(
    harness: &mut impl PeerHarness,
) -> Result<(), String> {
    let (server, peer) = setup(harness).await?;
    let refused = InstallSnapshot {
        term: REFUSED_SNAPSHOT_TERM,
        ..snapshot_chunk(0, vec![1, 2, 3], true)
    };
    let result = bounded(
        "a refused install_snapshot",
        TIMEOUT,
        peer.install_snapshot(refused.clone(), TIMEOUT),
    )
    .await?;
    match result {
        Err(PeerError::Rejected { .. }) => {}
        other => {
            return Err(format!(
                "a refused install_snapshot: expected Rejected, got {other:?}"
            ));
        }
    }
    if !server.snapshots_seen().contains(&refused) {
        return Err("the refused chunk never reached the handler".into());
    }
    let next = snapshot_chunk(0, vec![4, 5, 6], true);
    let got = answer(
        "install_snapshot after a refusal",
        peer.install_snapshot(next.clone(), TIMEOUT),
    )
    .await?;
    expect_eq("its answer", got, snapshot_answer(&next))
}
