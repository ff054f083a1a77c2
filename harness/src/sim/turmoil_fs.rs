//! rafty's [`FileSystem`] on turmoil's simulated filesystem (the `unstable-fs` shim), so that a
//! node in the simulation keeps a real [`rafty::FileLog`] on its host's disk.
//!
//! Turmoil gives every host its own disk. Writes and directory changes stay pending until
//! `sync_data` (file) or `sync_dir` (directory); [`turmoil::Sim::crash`] drops what is
//! pending (a power loss: optionally torn at [`turmoil::FsConfig::block_size`] blocks) and
//! [`turmoil::Sim::bounce`] restarts the host's software, which reopens its log and recovers.
//! A kill without power loss is `bounce` alone: the disk keeps pending writes, as an OS page
//! cache would.
//!
//! Every call must run inside the simulation, on the host whose disk it uses (turmoil finds
//! the disk from the current host); outside, turmoil panics.

use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use rafty::file_log::fs::{FileSystem, FsFile};
use turmoil::fs::shim::std::fs as sim;

/// The current turmoil host's disk.
#[derive(Clone, Copy, Debug, Default)]
pub struct TurmoilFs;

/// An open file on a turmoil host's disk.
#[derive(Debug)]
pub struct TurmoilFile(sim::File);

impl FileSystem for TurmoilFs {
    type File = TurmoilFile;

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        sim::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in sim::read_dir(dir)? {
            let entry = entry?;
            if !entry.file_type()?.is_file() {
                continue;
            }
            match entry.file_name().into_string() {
                Ok(name) => names.push(name),
                Err(name) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("file name {name:?} in {} is not UTF-8", dir.display()),
                    ));
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        sim::read(path)
    }

    fn open(&self, path: &Path) -> io::Result<TurmoilFile> {
        let file = sim::OpenOptions::new().read(true).write(true).open(path)?;
        Ok(TurmoilFile(file))
    }

    fn create(&self, path: &Path) -> io::Result<TurmoilFile> {
        let file = sim::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(TurmoilFile(file))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        sim::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        sim::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        sim::sync_dir(dir)
    }
}

impl FsFile for TurmoilFile {
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        FileExt::read_exact_at(&self.0, buf, offset)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        FileExt::write_all_at(&self.0, data, offset)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use rafty::{Entry, FileLog, FileLogOptions, HardState, Log, Payload};

    use super::*;

    /// `TurmoilFs` whose syncs do nothing: a log on it acknowledges writes that are not durable.
    #[derive(Clone, Copy)]
    struct NoSync;

    struct NoSyncFile(TurmoilFile);

    impl FileSystem for NoSync {
        type File = NoSyncFile;
        fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
            TurmoilFs.create_dir_all(dir)
        }
        fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
            TurmoilFs.list(dir)
        }
        fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
            TurmoilFs.read(path)
        }
        fn open(&self, path: &Path) -> io::Result<NoSyncFile> {
            TurmoilFs.open(path).map(NoSyncFile)
        }
        fn create(&self, path: &Path) -> io::Result<NoSyncFile> {
            TurmoilFs.create(path).map(NoSyncFile)
        }
        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            TurmoilFs.rename(from, to)
        }
        fn remove(&self, path: &Path) -> io::Result<()> {
            TurmoilFs.remove(path)
        }
        fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
            Ok(())
        }
    }

    impl FsFile for NoSyncFile {
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            self.0.read_at(offset, buf)
        }
        fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
            self.0.write_at(offset, data)
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            self.0.set_len(len)
        }
        fn sync(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn entries(first: u64, count: u64) -> Vec<Entry> {
        (first..first + count)
            .map(|index| Entry {
                term: 2,
                index,
                payload: Payload::Command(vec![index as u8; 700]),
            })
            .collect()
    }

    const VOTE: HardState = HardState {
        current_term: 2,
        voted_for: Some(1),
    };

    /// What one boot of the host found on its disk: the entries and hard state of the synced
    /// log, and how many entries the log without fsync still had.
    #[derive(Clone, Debug, PartialEq)]
    struct Boot {
        synced: Vec<Entry>,
        hard_state: HardState,
        unsynced_last_index: u64,
    }

    /// A host that opens both logs, reports what it found, and on its first boot appends six
    /// entries (two batches) to each and saves a hard state (every write returned `Ok`); then
    /// the host is restarted, after a power loss or not. Returns what each boot found.
    fn boot_twice(power_loss: bool) -> Vec<Boot> {
        let mut builder = turmoil::Builder::new();
        builder.fs().block_size(512); // torn writes at 512-byte blocks on crash
        let mut sim = builder.build();
        let boots: Arc<Mutex<Vec<Boot>>> = Arc::default();
        let acknowledged = Arc::new(Mutex::new(false));
        let (report, done) = (boots.clone(), acknowledged.clone());
        sim.host("node", move || {
            let (report, done) = (report.clone(), done.clone());
            async move {
                let options = FileLogOptions {
                    segment_size_bytes: 2048,
                };
                let mut synced =
                    FileLog::open_with(TurmoilFs, Path::new("/data/log"), options.clone())?;
                let mut unsynced =
                    FileLog::open_with(NoSync, Path::new("/data/unsynced"), options)?;
                let first_boot = synced.last_index() == 0;
                report.lock().unwrap().push(Boot {
                    synced: synced.entries(1, synced.last_index() + 1)?,
                    hard_state: synced.hard_state(),
                    unsynced_last_index: unsynced.last_index(),
                });
                if first_boot {
                    for log in [&mut synced as &mut dyn Log, &mut unsynced] {
                        log.append(&entries(1, 3))?;
                        log.append(&entries(4, 3))?;
                        log.save_hard_state(VOTE)?;
                    }
                    *done.lock().unwrap() = true;
                }
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        });
        let step_until = |sim: &mut turmoil::Sim<'_>, what: &str, ready: &dyn Fn() -> bool| {
            for _ in 0..100 {
                if ready() {
                    return;
                }
                sim.step().expect("the simulation runs");
            }
            panic!("{what} did not happen within 100 steps");
        };
        step_until(&mut sim, "the first writes", &|| {
            *acknowledged.lock().unwrap()
        });
        if power_loss {
            sim.crash("node");
        }
        sim.bounce("node");
        step_until(&mut sim, "the reboot", &|| boots.lock().unwrap().len() == 2);
        let boots = boots.lock().unwrap().clone();
        assert_eq!(boots[0].synced, vec![]);
        boots
    }

    #[test]
    fn synced_writes_survive_power_loss_and_unsynced_ones_do_not() {
        let boots = boot_twice(true);
        assert_eq!(
            boots[1],
            Boot {
                synced: entries(1, 6),
                hard_state: VOTE,
                unsynced_last_index: 0,
            },
            "after power loss"
        );
    }

    #[test]
    fn a_restart_without_power_loss_keeps_unsynced_writes() {
        let boots = boot_twice(false);
        assert_eq!(boots[1].synced, entries(1, 6));
        assert_eq!(
            boots[1].unsynced_last_index, 6,
            "the page cache survives a kill"
        );
    }
}
