//! CrashFs keeps exactly what was synced, tears unsynced writes reproducibly, fails chosen
//! operations and flips stored bits.

use super::*;

fn path(text: &str) -> PathBuf {
    PathBuf::from(text)
}

/// A disk with a durable `/d` holding a durable, synced `/d/f` with `content`.
fn disk_with_file(seed: u64, content: &[u8]) -> (CrashFs, CrashFile) {
    let fs = CrashFs::new(seed);
    fs.create_dir_all(&path("/d")).unwrap();
    fs.sync_dir(&path("/")).unwrap();
    let mut file = fs.create(&path("/d/f")).unwrap();
    file.write_at(0, content).unwrap();
    file.sync().unwrap();
    fs.sync_dir(&path("/d")).unwrap();
    (fs, file)
}

#[test]
fn synced_content_survives_a_crash_and_unsynced_is_lost() {
    let (fs, mut file) = disk_with_file(1, b"durable");
    file.write_at(7, b" and lost").unwrap();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), b"durable and lost");
    fs.crash();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), b"durable");
}

#[test]
fn a_file_synced_but_not_its_directory_entry_is_lost() {
    let (fs, _) = disk_with_file(1, b"x");
    let mut file = fs.create(&path("/d/g")).unwrap();
    file.write_at(0, b"synced content").unwrap();
    file.sync().unwrap();
    fs.crash();
    assert_eq!(fs.list(&path("/d")).unwrap(), ["f"]);
    assert_eq!(
        fs.open(&path("/d/g")).err().map(|e| e.kind()),
        Some(io::ErrorKind::NotFound)
    );
}

#[test]
fn rename_and_remove_are_durable_only_after_sync_dir() {
    let (fs, _) = disk_with_file(1, b"old");
    let mut temp = fs.create(&path("/d/tmp")).unwrap();
    temp.write_at(0, b"new").unwrap();
    temp.sync().unwrap();
    fs.rename(&path("/d/tmp"), &path("/d/f")).unwrap();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), b"new");
    fs.crash();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), b"old");
    assert_eq!(fs.list(&path("/d")).unwrap(), ["f"]);

    let mut temp = fs.create(&path("/d/tmp")).unwrap();
    temp.write_at(0, b"new").unwrap();
    temp.sync().unwrap();
    fs.rename(&path("/d/tmp"), &path("/d/f")).unwrap();
    fs.sync_dir(&path("/d")).unwrap();
    fs.remove(&path("/d/f")).unwrap();
    fs.crash();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), b"new");
    fs.remove(&path("/d/f")).unwrap();
    fs.sync_dir(&path("/d")).unwrap();
    fs.crash();
    assert!(fs.list(&path("/d")).unwrap().is_empty());
}

#[test]
fn an_unsynced_directory_vanishes_with_its_files() {
    let fs = CrashFs::new(1);
    fs.create_dir_all(&path("/a/b")).unwrap();
    let mut file = fs.create(&path("/a/b/f")).unwrap();
    file.write_at(0, b"x").unwrap();
    file.sync().unwrap();
    fs.sync_dir(&path("/a/b")).unwrap();
    fs.crash();
    assert_eq!(
        fs.list(&path("/a")).err().map(|e| e.kind()),
        Some(io::ErrorKind::NotFound)
    );
    assert!(fs.files().is_empty());
}

#[test]
fn set_len_is_pending_until_sync() {
    let (fs, mut file) = disk_with_file(1, b"0123456789");
    file.set_len(4).unwrap();
    assert_eq!(fs.contents(&path("/d/f")).unwrap(), b"0123");
    assert_eq!(fs.durable_contents(&path("/d/f")).unwrap(), b"0123456789");
    fs.crash();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), b"0123456789");
}

#[test]
fn handles_from_before_a_crash_are_dead() {
    let (fs, mut file) = disk_with_file(1, b"x");
    fs.crash();
    let error = file.write_at(0, b"y").unwrap_err();
    assert!(error.to_string().contains("before a crash"), "{error}");
    let mut buf = [0; 1];
    assert!(file.read_at(0, &mut buf).is_err());
    let reopened = fs.open(&path("/d/f")).unwrap();
    reopened.read_at(0, &mut buf).unwrap();
    assert_eq!(&buf, b"x");
}

/// What `/d/f` holds after appending three unsynced writes and crashing with torn writes.
fn torn_outcome(seed: u64) -> Vec<u8> {
    let (fs, mut file) = disk_with_file(seed, b"base:");
    fs.set_torn_writes(true);
    file.write_at(5, b"aaaa").unwrap();
    file.write_at(9, b"bbbb").unwrap();
    file.write_at(13, b"cccc").unwrap();
    fs.crash();
    fs.read(&path("/d/f")).unwrap()
}

#[test]
fn torn_writes_keep_a_prefix_of_the_pending_writes_reproducibly() {
    let full = b"base:aaaabbbbcccc";
    let mut lengths = std::collections::BTreeSet::new();
    for seed in 0..64 {
        let outcome = torn_outcome(seed);
        assert_eq!(
            outcome,
            torn_outcome(seed),
            "seed {seed} is not reproducible"
        );
        assert!(full.starts_with(&outcome), "seed {seed}: {outcome:?}");
        assert!(outcome.len() >= 5, "seed {seed} lost synced bytes");
        lengths.insert(outcome.len());
    }
    assert!(lengths.len() > 5, "too few distinct tears: {lengths:?}");
}

#[test]
fn an_injected_error_fails_exactly_that_operation_and_changes_nothing() {
    let (fs, mut file) = disk_with_file(1, b"x");
    let next = fs.operation_count();
    fs.fail_operation(next + 1);
    file.write_at(1, b"y").unwrap();
    let error = file.sync().unwrap_err();
    assert!(
        error
            .to_string()
            .contains(&format!("operation {}", next + 1)),
        "{error}"
    );
    fs.crash();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), b"x");
    let mut file = fs.open(&path("/d/f")).unwrap();
    file.write_at(1, b"y").unwrap();
    file.sync().unwrap();
    fs.crash();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), b"xy");
}

#[test]
fn fail_from_fails_everything_until_cleared() {
    let (fs, mut file) = disk_with_file(1, b"x");
    fs.fail_from(fs.operation_count());
    assert!(file.write_at(1, b"y").is_err());
    assert!(fs.list(&path("/d")).is_err());
    assert!(fs.read(&path("/d/f")).is_err());
    fs.clear_faults();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), b"x");
}

#[test]
fn flipped_bits_are_stored_and_survive_a_crash() {
    let (fs, _) = disk_with_file(1, &[0u8; 8]);
    fs.flip_bit(&path("/d/f"), 3, 2).unwrap();
    fs.crash();
    assert_eq!(fs.read(&path("/d/f")).unwrap(), [0, 0, 0, 4, 0, 0, 0, 0]);
    assert!(fs.flip_bit(&path("/d/f"), 8, 0).is_err());
    assert!(fs.flip_bit(&path("/d/f"), 0, 8).is_err());
    let (offset, bit) = fs.corrupt_random_bit(&path("/d/f")).unwrap().unwrap();
    let bytes = fs.read(&path("/d/f")).unwrap();
    let mut expected = [0, 0, 0, 4, 0, 0, 0, 0];
    expected[offset as usize] ^= 1 << bit;
    assert_eq!(bytes, expected);
}

#[test]
fn put_durable_plants_a_file_that_survives_a_crash() {
    let fs = CrashFs::new(1);
    fs.put_durable(&path("/x/y/z"), b"planted").unwrap();
    fs.crash();
    assert_eq!(fs.read(&path("/x/y/z")).unwrap(), b"planted");
    assert_eq!(fs.files(), [path("/x/y/z")]);
}

#[test]
fn huge_offsets_are_errors_not_allocations() {
    let (_fs, mut file) = disk_with_file(1, b"x");
    assert!(file.write_at(u64::MAX - 1, b"yy").is_err());
    assert!(file.write_at(MAX_FILE_BYTES, b"y").is_err());
    assert!(file.set_len(u64::MAX).is_err());
    let mut buf = [0; 4];
    assert!(file.read_at(u64::MAX, &mut buf).is_err());
}

#[test]
fn missing_parents_and_directories_are_not_found() {
    let fs = CrashFs::new(1);
    for result in [
        fs.create(&path("/nope/f")).map(|_| ()),
        fs.open(&path("/f")).map(|_| ()),
        fs.remove(&path("/f")),
        fs.sync_dir(&path("/nope")),
        fs.list(&path("/nope")).map(|_| ()),
    ] {
        assert_eq!(
            result.err().map(|e| e.kind()),
            Some(io::ErrorKind::NotFound)
        );
    }
}
