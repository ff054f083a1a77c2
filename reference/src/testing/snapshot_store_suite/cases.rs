//! The cases of the snapshot-store suite; each starts on fresh durable state.

use std::fmt::Debug;

use super::SnapshotStoreFactory;
use crate::snapshot::{SnapshotError, SnapshotMeta, SnapshotStore};
use crate::types::{LogIndex, Term};

/// A factory no case runs with: it only lets [`super::case_names`] name the cases.
pub struct Unused;

impl SnapshotStoreFactory for Unused {
    type Store = crate::file_snapshot::FileSnapshotStore;
    type Disk = ();
    fn create(&mut self) -> Result<(), SnapshotError> {
        Ok(())
    }
    fn open(&mut self, _: &()) -> Result<Self::Store, SnapshotError> {
        Err(SnapshotError::Contract("never opened".into()))
    }
}

/// Deterministic bytes of a snapshot through `index`, `length` long.
pub fn snapshot_bytes(index: LogIndex, length: usize) -> Vec<u8> {
    (0..length as u64)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 7).wrapping_add(index * 13) as u8)
        .collect()
}

fn call<T>(what: &str, result: Result<T, SnapshotError>) -> Result<T, String> {
    result.map_err(|error| format!("{what} failed: {error}"))
}

fn expect_eq<T: PartialEq + Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

fn expect_contract_error<T: Debug>(
    what: &str,
    result: Result<T, SnapshotError>,
) -> Result<(), String> {
    match result {
        Err(SnapshotError::Contract(_)) => Ok(()),
        other => Err(format!("{what}: expected a contract error, got {other:?}")),
    }
}

fn fresh<F: SnapshotStoreFactory>(factory: &mut F) -> Result<(F::Disk, F::Store), String> {
    let disk = call("create", factory.create())?;
    let store = call("open (fresh)", factory.open(&disk))?;
    Ok((disk, store))
}

fn reopen<F: SnapshotStoreFactory>(
    factory: &mut F,
    disk: &F::Disk,
    store: F::Store,
) -> Result<F::Store, String> {
    drop(store);
    call("reopen", factory.open(disk))
}

/// Write `bytes` as the snapshot through `index` (term `term`) in chunks of `chunk` bytes,
/// checking `written()` as it goes; returns what `finish` returned.
pub fn write_snapshot(
    store: &mut impl SnapshotStore,
    index: LogIndex,
    term: Term,
    bytes: &[u8],
    chunk: usize,
) -> Result<SnapshotMeta, SnapshotError> {
    let mut writer = store.begin(index, term)?;
    for (number, part) in bytes.chunks(chunk).enumerate() {
        writer.write(part)?;
        let written = (number * chunk + part.len()) as u64;
        if writer.written() != written {
            return Err(SnapshotError::Contract(format!(
                "written() says {} after {written} bytes",
                writer.written()
            )));
        }
    }
    writer.finish()
}

/// The whole current snapshot `meta` describes, read in chunks of `chunk` bytes.
pub fn read_snapshot(
    store: &impl SnapshotStore,
    meta: &SnapshotMeta,
    chunk: usize,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while (out.len() as u64) < meta.size_bytes {
        let offset = out.len() as u64;
        let part = call(
            &format!("read_chunk(offset {offset}, {chunk} bytes)"),
            store.read_chunk(meta, offset, chunk),
        )?;
        let wanted = (meta.size_bytes - offset).min(chunk as u64);
        expect_eq(
            &format!("bytes read at offset {offset}"),
            part.len() as u64,
            wanted,
        )?;
        out.extend(part);
    }
    let end = call(
        "read_chunk at the end",
        store.read_chunk(meta, meta.size_bytes, chunk),
    )?;
    expect_eq("bytes read at the end", end.len(), 0)?;
    Ok(out)
}

/// `Err` unless the store's latest snapshot is `meta` and holds exactly `bytes`.
fn expect_snapshot(
    store: &impl SnapshotStore,
    meta: &SnapshotMeta,
    bytes: &[u8],
) -> Result<(), String> {
    expect_eq("latest", call("latest", store.latest())?, Some(*meta))?;
    let read = read_snapshot(store, meta, 4096)?;
    if read != bytes {
        let first = read.iter().zip(bytes).position(|(a, b)| a != b);
        return Err(format!(
            "the snapshot reads back {} bytes, {} were written; first difference at {first:?}",
            read.len(),
            bytes.len()
        ));
    }
    Ok(())
}

/// A new store has no snapshot, and a read of one is refused.
pub fn a_new_store_is_empty<F: SnapshotStoreFactory>(factory: &mut F) -> Result<(), String> {
    let (disk, store) = fresh(factory)?;
    expect_eq("latest", call("latest", store.latest())?, None)?;
    let made_up = SnapshotMeta {
        last_included_index: 1,
        last_included_term: 1,
        size_bytes: 0,
        checksum: 0,
    };
    expect_contract_error(
        "read_chunk of no snapshot",
        store.read_chunk(&made_up, 0, 10),
    )?;
    let store = reopen(factory, &disk, store)?;
    expect_eq("latest after reopen", call("latest", store.latest())?, None)
}

/// `finish` returns the snapshot's metadata (index, term, size, CRC32C of the bytes), and it
/// is the latest at once.
pub fn latest_after_finish<F: SnapshotStoreFactory>(factory: &mut F) -> Result<(), String> {
    let (_disk, mut store) = fresh(factory)?;
    let bytes = snapshot_bytes(10, 10_000);
    let meta = call(
        "write the snapshot through 10",
        write_snapshot(&mut store, 10, 3, &bytes, 1000),
    )?;
    let want = SnapshotMeta {
        last_included_index: 10,
        last_included_term: 3,
        size_bytes: bytes.len() as u64,
        checksum: crc32c::crc32c(&bytes),
    };
    expect_eq("the metadata finish returned", meta, want)?;
    expect_eq("latest", call("latest", store.latest())?, Some(want))
}

/// A snapshot reads back byte for byte in chunks of any size, the last one short; an empty
/// snapshot reads back empty.
pub fn read_chunk_round_trip<F: SnapshotStoreFactory>(factory: &mut F) -> Result<(), String> {
    let (_disk, mut store) = fresh(factory)?;
    let bytes = snapshot_bytes(5, 70_001);
    let meta = call("write", write_snapshot(&mut store, 5, 1, &bytes, 4099))?;
    for chunk in [1 << 20, 65_536, 4096, 1000, 7] {
        let read = read_snapshot(&store, &meta, chunk)?;
        expect_eq(&format!("read in chunks of {chunk}"), read == bytes, true)?;
    }
    let middle = call("read_chunk(12345, 10)", store.read_chunk(&meta, 12_345, 10))?;
    expect_eq(
        "read_chunk(12345, 10)",
        middle,
        bytes[12_345..12_355].to_vec(),
    )?;
    let empty = call(
        "write an empty snapshot",
        write_snapshot(&mut store, 6, 1, &[], 1),
    )?;
    expect_eq("size of an empty snapshot", empty.size_bytes, 0)?;
    expect_snapshot(&store, &empty, &[])
}

/// §7: a snapshot never moves the state backwards: one through an index at or below the
/// current one is refused with a contract error (at `begin` or at `finish`), and the current
/// one stays.
pub fn older_or_equal_snapshot_is_refused<F: SnapshotStoreFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let (disk, mut store) = fresh(factory)?;
    let bytes = snapshot_bytes(10, 500);
    let current = call(
        "write through 10",
        write_snapshot(&mut store, 10, 2, &bytes, 100),
    )?;
    for (index, term) in [(10, 2), (10, 3), (9, 2), (1, 1)] {
        let what = format!("a snapshot through {index} (term {term}) after one through 10");
        expect_contract_error(
            &what,
            write_snapshot(&mut store, index, term, &snapshot_bytes(index, 50), 100),
        )?;
        expect_snapshot(&store, &current, &bytes)
            .map_err(|error| format!("after {what}: {error}"))?;
    }
    let store = reopen(factory, &disk, store)?;
    expect_snapshot(&store, &current, &bytes).map_err(|error| format!("after reopen: {error}"))
}

/// A newer snapshot replaces the current one; opening (and reading) the old one is refused.
pub fn newer_snapshot_replaces_the_old<F: SnapshotStoreFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let (disk, mut store) = fresh(factory)?;
    let old = call(
        "write through 10",
        write_snapshot(&mut store, 10, 2, &snapshot_bytes(10, 800), 100),
    )?;
    let bytes = snapshot_bytes(20, 1200);
    let new = call(
        "write through 20",
        write_snapshot(&mut store, 20, 2, &bytes, 100),
    )?;
    expect_snapshot(&store, &new, &bytes)?;
    expect_contract_error(
        "open of the replaced snapshot",
        store.open(&old).map(|chunks| chunks.meta()),
    )?;
    expect_contract_error(
        "read_chunk expecting the replaced snapshot",
        store.read_chunk(&old, 0, 100),
    )?;
    let store = reopen(factory, &disk, store)?;
    expect_snapshot(&store, &new, &bytes).map_err(|error| format!("after reopen: {error}"))
}

/// A writer dropped before `finish` (abandoned), or lost in a crash (leaked: its drop never
/// runs), changes nothing: the old snapshot is the latest, before and after a reopen, and a
/// new snapshot can be written.
pub fn crash_before_finish_keeps_the_old_snapshot<F: SnapshotStoreFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let (disk, mut store) = fresh(factory)?;
    let bytes = snapshot_bytes(10, 3000);
    let old = call(
        "write through 10",
        write_snapshot(&mut store, 10, 2, &bytes, 1000),
    )?;
    let mut writer = call("begin through 15", store.begin(15, 2))?;
    call("write", writer.write(&snapshot_bytes(15, 2000)))?;
    drop(writer);
    expect_snapshot(&store, &old, &bytes).map_err(|error| format!("after abandoning: {error}"))?;
    let mut writer = call("begin through 16", store.begin(16, 2))?;
    call("write", writer.write(&snapshot_bytes(16, 2000)))?;
    // A crash: the writer never finishes and never even runs its drop.
    std::mem::forget(writer);
    drop(store);
    let mut store = call("reopen", factory.open(&disk))?;
    expect_snapshot(&store, &old, &bytes)
        .map_err(|error| format!("after a restart mid-write: {error}"))?;
    let next = snapshot_bytes(17, 100);
    let meta = call(
        "write through 17",
        write_snapshot(&mut store, 17, 3, &next, 10),
    )?;
    expect_snapshot(&store, &meta, &next)
}

/// Finished snapshots survive reopens, large ones (several MiB, written in uneven chunks)
/// included.
pub fn reopen_keeps_the_snapshot<F: SnapshotStoreFactory>(factory: &mut F) -> Result<(), String> {
    let (disk, mut store) = fresh(factory)?;
    let bytes = snapshot_bytes(100, 3 << 20);
    let meta = call(
        "write 3 MiB through 100",
        write_snapshot(&mut store, 100, 7, &bytes, 65_537),
    )?;
    let store = reopen(factory, &disk, store)?;
    expect_snapshot(&store, &meta, &bytes).map_err(|error| format!("after reopen: {error}"))?;
    let store = reopen(factory, &disk, store)?;
    expect_snapshot(&store, &meta, &bytes)
        .map_err(|error| format!("after a second reopen: {error}"))
}

/// The store's contract for a leader's InstallSnapshot transfer (§7): a snapshot opened
/// before a newer one replaced it reads on to its end, byte for byte, through its handle
/// (two newer snapshots finish while it is open); the newer one is the latest and reads back
/// meanwhile; once the handle is dropped, a reopen finds the newest one only.
pub fn an_opened_snapshot_survives_a_replacement<F: SnapshotStoreFactory>(
    factory: &mut F,
) -> Result<(), String> {
    let (disk, mut store) = fresh(factory)?;
    let old_bytes = snapshot_bytes(10, 3000);
    let old = call(
        "write through 10",
        write_snapshot(&mut store, 10, 2, &old_bytes, 1000),
    )?;
    let mut chunks = call("open through 10", store.open(&old))?;
    expect_eq("meta of the opened snapshot", chunks.meta(), old)?;
    let mut read = call("read_chunk(0, 1000)", chunks.read_chunk(0, 1000))?;
    let mut newest = old;
    let mut newest_bytes = old_bytes.clone();
    for index in [20, 30] {
        newest_bytes = snapshot_bytes(index, 1500);
        let what = format!("write through {index} while 10 is open");
        newest = call(
            &what,
            write_snapshot(&mut store, index, 2, &newest_bytes, 500),
        )?;
        expect_snapshot(&store, &newest, &newest_bytes)
            .map_err(|error| format!("after {what}: {error}"))?;
    }
    while (read.len() as u64) < old.size_bytes {
        let what = format!(
            "read_chunk({}, 700) of the replaced snapshot through 10",
            read.len()
        );
        let chunk = call(&what, chunks.read_chunk(read.len() as u64, 700))?;
        if chunk.is_empty() {
            return Err(format!("{what}: no bytes before the end"));
        }
        read.extend(chunk);
    }
    expect_eq(
        "the replaced snapshot's bytes, read through its handle",
        read == old_bytes,
        true,
    )?;
    expect_eq(
        "read_chunk at the end of the replaced snapshot",
        call(
            "read_chunk at the end",
            chunks.read_chunk(old.size_bytes, 10),
        )?,
        Vec::new(),
    )?;
    drop(chunks);
    expect_contract_error(
        "open of the replaced snapshot",
        store.open(&old).map(|chunks| chunks.meta()),
    )?;
    let store = reopen(factory, &disk, store)?;
    expect_snapshot(&store, &newest, &newest_bytes)
        .map_err(|error| format!("after reopen: {error}"))
}
