//! The one [`LogFactory`] of each log: what the suites, the process-crash children and the
//! chaos cluster all open logs with.

use std::path::Path;

use rafty::file_log::fs::FileSystem;
use rafty::testing::log_suite::LogFactory;
use rafty::{Log, LogError};

use crate::Dir;
use crate::fjall_log::{self, FjallOptions, FjallStore};
use crate::kv_log::KvLog;
use crate::redb_log::{self, RedbOptions, RedbStore};

/// redb logs in temporary directories; on rafty's `FileSystem` too, so every suite applies.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedbFactory(pub RedbOptions);

impl LogFactory for RedbFactory {
    type Log = KvLog<RedbStore>;
    type Store = Dir;

    fn create(&mut self) -> Result<Dir, LogError> {
        Ok(Dir::temporary()?)
    }

    fn open(&mut self, dir: &Dir) -> Result<Self::Log, LogError> {
        redb_log::open(dir.path(), self.0)
    }

    fn open_on_file_system<FS: FileSystem + Clone + Sync>(
        &mut self,
        fs: FS,
        dir: &Path,
    ) -> Option<Result<Box<dyn Log>, LogError>> {
        let opened = redb_log::open_on(fs, dir, self.0);
        Some(opened.map(|log| Box::new(log) as Box<dyn Log>))
    }

    fn store_in_directory(&mut self, dir: &Path) -> Option<Result<Dir, LogError>> {
        Some(Ok(Dir::at(dir)))
    }
}

/// fjall logs in temporary directories (fjall does its own file I/O: no `FileSystem`).
#[derive(Clone, Copy, Debug, Default)]
pub struct FjallFactory(pub FjallOptions);

impl LogFactory for FjallFactory {
    type Log = KvLog<FjallStore>;
    type Store = Dir;

    fn create(&mut self) -> Result<Dir, LogError> {
        Ok(Dir::temporary()?)
    }

    fn open(&mut self, dir: &Dir) -> Result<Self::Log, LogError> {
        fjall_log::open(dir.path(), self.0)
    }

    fn store_in_directory(&mut self, dir: &Path) -> Option<Result<Dir, LogError>> {
        Some(Ok(Dir::at(dir)))
    }
}
