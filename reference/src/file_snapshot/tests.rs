//! FileSnapshotStore: round trips, the contract's refusals, recovery, and garbage files.

use tempfile::TempDir;

use super::*;

fn open(dir: &TempDir) -> Result<FileSnapshotStore, SnapshotError> {
    FileSnapshotStore::open(dir.path())
}

/// Deterministic bytes for a snapshot through `index`.
fn data(index: LogIndex, length: usize) -> Vec<u8> {
    (0..length)
        .map(|i| (i as u64 * 31 + index * 7) as u8)
        .collect()
}

/// Write `bytes` as the snapshot through `index` (term 1), in chunks of 1000 bytes.
fn write(
    store: &mut impl SnapshotStore,
    index: LogIndex,
    bytes: &[u8],
) -> Result<SnapshotMeta, SnapshotError> {
    let mut writer = store.begin(index, 1)?;
    for chunk in bytes.chunks(1000) {
        writer.write(chunk)?;
    }
    assert_eq!(writer.written(), bytes.len() as u64);
    writer.finish()
}

fn read_all(store: &impl SnapshotStore, meta: &SnapshotMeta) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let chunk = store.read_chunk(meta, out.len() as u64, 777).unwrap();
        if chunk.is_empty() {
            return out;
        }
        out.extend(chunk);
    }
}

fn expect_corrupted(result: Result<FileSnapshotStore, SnapshotError>) -> (String, String) {
    match result {
        Err(SnapshotError::Corrupted { location, reason }) => (location, reason),
        Err(other) => panic!("expected Corrupted, got {other}"),
        Ok(store) => panic!("expected Corrupted, opened with {:?}", store.latest()),
    }
}

#[test]
fn a_finished_snapshot_is_latest_reads_back_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    assert_eq!(store.latest().unwrap(), None);
    let bytes = data(10, 5000);
    let meta = write(&mut store, 10, &bytes).unwrap();
    assert_eq!(meta.last_included_index, 10);
    assert_eq!(meta.size_bytes, 5000);
    assert_eq!(meta.checksum, crc32c::crc32c(&bytes));
    assert_eq!(store.latest().unwrap(), Some(meta));
    assert_eq!(read_all(&store, &meta), bytes);
    drop(store);
    let store = open(&dir).unwrap();
    assert_eq!(store.latest().unwrap(), Some(meta));
    assert_eq!(read_all(&store, &meta), bytes);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_empty_snapshot_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    let meta = write(&mut store, 3, &[]).unwrap();
    assert_eq!(read_all(&store, &meta), Vec::<u8>::new());
    assert_eq!(open(&dir).unwrap().latest().unwrap(), Some(meta));
}

#[test]
fn a_newer_snapshot_replaces_the_old_and_an_older_or_equal_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    write(&mut store, 10, &data(10, 100)).unwrap();
    let newer = write(&mut store, 20, &data(20, 300)).unwrap();
    for index in [5, 20] {
        assert!(
            matches!(store.begin(index, 1), Err(SnapshotError::Contract(_))),
            "begin({index})"
        );
    }
    assert_eq!(store.latest().unwrap(), Some(newer));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_writer_overtaken_by_a_newer_snapshot_is_refused_at_finish() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    let mut slow = store.begin(10, 1).unwrap();
    slow.write(b"slow").unwrap();
    let newer = write(&mut store, 12, b"fast").unwrap();
    assert!(matches!(slow.finish(), Err(SnapshotError::Contract(_))));
    assert_eq!(store.latest().unwrap(), Some(newer));
    // The refused writer's temporary file is gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn an_abandoned_writer_leaves_the_old_snapshot_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    let old = write(&mut store, 10, &data(10, 100)).unwrap();
    let mut writer = store.begin(11, 1).unwrap();
    writer.write(b"half").unwrap();
    drop(writer);
    assert_eq!(store.latest().unwrap(), Some(old));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn read_chunk_refuses_another_snapshot_and_an_offset_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    let old = write(&mut store, 10, &data(10, 100)).unwrap();
    assert_eq!(store.read_chunk(&old, 100, 10).unwrap(), Vec::<u8>::new());
    assert_eq!(store.read_chunk(&old, 95, 10).unwrap(), data(10, 100)[95..]);
    assert!(matches!(
        store.read_chunk(&old, 101, 10),
        Err(SnapshotError::Contract(_))
    ));
    let new = write(&mut store, 20, &data(20, 100)).unwrap();
    match store.read_chunk(&old, 0, 10) {
        Err(SnapshotError::Contract(message)) => assert!(message.contains("expected"), "{message}"),
        other => panic!("expected a contract error, got {other:?}"),
    }
    assert_eq!(store.read_chunk(&new, 0, 10).unwrap(), data(20, 100)[..10]);
}

#[test]
fn leftover_temporary_files_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let meta = write(&mut open(&dir).unwrap(), 10, &data(10, 100)).unwrap();
    std::fs::write(dir.path().join("snapshot.7.tmp"), b"a crash left this").unwrap();
    std::fs::write(dir.path().join("unrelated"), b"not ours").unwrap();
    let store = open(&dir).unwrap();
    assert_eq!(store.latest().unwrap(), Some(meta));
    assert!(!dir.path().join("snapshot.7.tmp").exists());
    assert!(dir.path().join("unrelated").exists());
}

#[test]
fn every_flipped_byte_of_the_snapshot_file_is_refused_on_open() {
    let dir = tempfile::tempdir().unwrap();
    write(&mut open(&dir).unwrap(), 10, &data(10, 64)).unwrap();
    let path = dir.path().join(FILE_NAME);
    let good = std::fs::read(&path).unwrap();
    for position in 0..good.len() {
        let mut bad = good.clone();
        bad[position] ^= 0x20;
        std::fs::write(&path, &bad).unwrap();
        let (location, _) = expect_corrupted(open(&dir));
        assert!(
            location.starts_with(&path.display().to_string()),
            "{location}"
        );
    }
}

#[test]
fn a_torn_or_extended_snapshot_file_is_refused_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    write(&mut open(&dir).unwrap(), 10, &data(10, 64)).unwrap();
    let path = dir.path().join(FILE_NAME);
    let good = std::fs::read(&path).unwrap();
    for cut in [0, 1, 39, 40, 41, good.len() - 1] {
        std::fs::write(&path, &good[..cut]).unwrap();
        let (location, reason) = expect_corrupted(open(&dir));
        assert!(
            location.starts_with(&path.display().to_string()),
            "{location}"
        );
        assert!(reason.contains("the file ends"), "cut at {cut}: {reason}");
    }
    let mut longer = good.clone();
    longer.push(0);
    std::fs::write(&path, &longer).unwrap();
    let (location, reason) = expect_corrupted(open(&dir));
    assert_eq!(
        location,
        format!("{} at offset {}", path.display(), good.len())
    );
    assert!(reason.contains("bytes after"), "{reason}");
}

#[test]
fn garbage_in_place_of_the_snapshot_is_refused_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    open(&dir).unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut garbage: Vec<Vec<u8>> = vec![vec![], b"hello".to_vec(), vec![0; 4096]];
    garbage.push((0..100_000u32).map(|i| (i * 7919 % 251) as u8).collect());
    // A sound header announcing far more data than there is.
    let huge = SnapshotMeta {
        last_included_index: 1,
        last_included_term: 1,
        size_bytes: u64::MAX,
        checksum: 0,
    };
    garbage.push(format::encode(&huge).to_vec());
    for bytes in garbage {
        std::fs::write(&path, &bytes).unwrap();
        let (location, _) = expect_corrupted(open(&dir));
        assert!(
            location.starts_with(&path.display().to_string()),
            "{location}"
        );
    }
}

#[test]
fn open_creates_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b");
    let mut store = FileSnapshotStore::open(&nested).unwrap();
    write(&mut store, 1, b"x").unwrap();
    assert_eq!(store.dir(), nested);
    assert!(
        FileSnapshotStore::open(&nested)
            .unwrap()
            .latest()
            .unwrap()
            .is_some()
    );
}

#[test]
fn damage_after_open_is_refused_when_a_sequential_read_reaches_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    let bytes = data(10, 3000);
    let meta = write(&mut store, 10, &bytes).unwrap();
    assert_eq!(read_all(&store, &meta), bytes);
    // Bit rot under the open store: the same file, one byte changed.
    let path = dir.path().join(FILE_NAME);
    let mut on_disk = std::fs::read(&path).unwrap();
    on_disk[format::HEADER_BYTES + 1234] ^= 1;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, &on_disk))
        .unwrap();
    let mut offset = 0;
    let mut chunks = store.open(&meta).unwrap();
    let error = loop {
        match chunks.read_chunk(offset, 1000) {
            Ok(chunk) if chunk.is_empty() => panic!("the damaged snapshot read back whole"),
            Ok(chunk) => offset += chunk.len() as u64,
            Err(error) => break error,
        }
    };
    assert_eq!(offset, 2000, "refused at the chunk that reaches the end");
    match error {
        SnapshotError::Corrupted { location, reason } => {
            assert!(
                location.starts_with(&path.display().to_string()),
                "{location}"
            );
            assert!(reason.contains("changed on disk"), "{reason}");
        }
        other => panic!("expected Corrupted, got {other}"),
    }
}

/// A leader's transfer reads the snapshot it opened to the end after a newer one replaced it
/// (Raft §7): the replaced file is renamed aside while the handle lives and removed with it.
#[test]
fn an_opened_snapshot_reads_on_after_a_replacement_and_goes_with_its_handle() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    let old = write(&mut store, 10, &data(10, 3000)).unwrap();
    let mut chunks = store.open(&old).unwrap();
    let mut read = chunks.read_chunk(0, 1000).unwrap();
    let new = write(&mut store, 20, &data(20, 500)).unwrap();
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "the replaced snapshot is kept aside"
    );
    assert_eq!(read_all(&store, &new), data(20, 500));
    while read.len() < 3000 {
        read.extend(chunks.read_chunk(read.len() as u64, 700).unwrap());
    }
    assert_eq!(read, data(10, 3000));
    drop(chunks);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        [FILE_NAME],
        "the replaced snapshot goes with its last handle"
    );
    // Without a handle open, a replacement renames over the old file at once.
    write(&mut store, 30, &data(30, 10)).unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// A crash between renaming the current snapshot aside and renaming the new one in leaves
/// no `snapshot`: open renames the newest one aside back (it was current), and removes the
/// older ones left aside and the unfinished new one.
#[test]
fn open_restores_a_snapshot_a_crash_left_aside() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    let old = write(&mut store, 10, &data(10, 100)).unwrap();
    drop(store);
    let path = dir.path().join(FILE_NAME);
    std::fs::copy(&path, dir.path().join("snapshot.3.old")).unwrap();
    std::fs::rename(&path, dir.path().join("snapshot.7.old")).unwrap();
    std::fs::write(dir.path().join("snapshot.8.tmp"), b"half").unwrap();
    let store = open(&dir).unwrap();
    assert_eq!(store.latest().unwrap(), Some(old));
    assert_eq!(read_all(&store, &old), data(10, 100));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, [FILE_NAME]);
}

/// With `snapshot` in place, files left aside by a crash are replaced snapshots: removed.
#[test]
fn open_removes_snapshots_left_aside_beside_the_current_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir).unwrap();
    write(&mut store, 10, &data(10, 100)).unwrap();
    let new = write(&mut store, 20, &data(20, 100)).unwrap();
    drop(store);
    std::fs::write(dir.path().join("snapshot.0.old"), b"an old one").unwrap();
    let store = open(&dir).unwrap();
    assert_eq!(store.latest().unwrap(), Some(new));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
