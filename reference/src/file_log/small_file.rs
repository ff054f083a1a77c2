//! A small fixed-size file replaced whole, durably and atomically (temp file, fsync, rename,
//! fsync of the directory), and read back through its decoder: the hard state and the
//! compaction base are both kept this way.

use std::path::Path;

use super::fs::{FileSystem, FsFile};
use crate::log::LogError;

/// Read `dir/name` and decode it; `missing` if the file does not exist. Undecodable bytes are
/// [`LogError::Corrupted`] naming the file; any other read failure is an I/O error naming it.
pub fn load<F: FileSystem, T>(
    fs: &F,
    dir: &Path,
    name: &str,
    missing: T,
    decode: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<T, LogError> {
    let path = dir.join(name);
    match fs.read(&path) {
        Ok(bytes) => decode(&bytes).map_err(|reason| LogError::Corrupted {
            location: path.display().to_string(),
            reason,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(missing),
        Err(error) => Err(LogError::Io(std::io::Error::new(
            error.kind(),
            format!("read {}: {error}", path.display()),
        ))),
    }
}

/// Replace `dir/name` with `bytes` through `dir/temp_name`, durably and atomically.
pub fn save<F: FileSystem>(
    fs: &F,
    dir: &Path,
    (name, temp_name): (&str, &str),
    bytes: &[u8],
) -> std::io::Result<()> {
    let temp = dir.join(temp_name);
    let mut file = fs.create(&temp)?;
    file.write_at(0, bytes)?;
    file.sync()?;
    drop(file);
    fs.rename(&temp, &dir.join(name))?;
    fs.sync_dir(dir)
}
