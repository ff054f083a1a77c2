//! [`FileCursor`]: a `std::fs::File`-like handle on a [`FileSystem`](super::FileSystem) file,
//! so a log written with `Read`, `Write` and `Seek` moves onto rafty's `FileSystem` (and so
//! under the power-loss suites) by changing the type of its file handles, not its code.

use std::io::{self, Read, Seek, SeekFrom, Write};

use super::FsFile;

/// A file of a [`FileSystem`](super::FileSystem) with a position, read and written as a
/// `std::fs::File` is: [`Read`], [`Write`] (each write goes to the file at once, no buffer),
/// [`Seek`], and `sync_data`, `sync_all`, `set_len`, `len` by the same names.
///
/// ```
/// use std::io::{Read, Seek, SeekFrom, Write};
/// use std::path::Path;
/// use rafty::file_log::fs::{FileCursor, FileSystem};
/// use rafty::testing::CrashFs;
///
/// let fs = CrashFs::new(1);
/// let mut file = FileCursor::new(fs.create(Path::new("/log")).unwrap());
/// file.write_all(b"hello").unwrap();
/// file.sync_data().unwrap();
/// file.seek(SeekFrom::Start(1)).unwrap();
/// let mut text = String::new();
/// file.read_to_string(&mut text).unwrap();
/// assert_eq!(text, "ello");
/// assert_eq!(file.len().unwrap(), 5);
/// ```
#[derive(Debug)]
pub struct FileCursor<F> {
    file: F,
    position: u64,
}

impl<F: FsFile> FileCursor<F> {
    /// `file`, positioned at its start.
    pub fn new(file: F) -> Self {
        FileCursor { file, position: 0 }
    }

    /// The file's length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> io::Result<u64> {
        self.file.len()
    }

    /// Cut (or extend with zeros) the file to `len` bytes; the position does not move.
    pub fn set_len(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    /// Make the file's content durable (`fdatasync`).
    pub fn sync_data(&mut self) -> io::Result<()> {
        self.file.sync()
    }

    /// The same as [`FileCursor::sync_data`]: the file's size is part of what it syncs.
    pub fn sync_all(&mut self) -> io::Result<()> {
        self.file.sync()
    }

    /// The file underneath.
    pub fn into_inner(self) -> F {
        self.file
    }
}

impl<F: FsFile> Read for FileCursor<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let len = self.file.len()?;
        let available = len.saturating_sub(self.position);
        let count = available.min(buf.len() as u64) as usize;
        if count == 0 {
            return Ok(0);
        }
        self.file.read_at(self.position, &mut buf[..count])?;
        self.position += count as u64;
        Ok(count)
    }
}

impl<F: FsFile> Write for FileCursor<F> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write_at(self.position, buf)?;
        self.position += buf.len() as u64;
        Ok(buf.len())
    }

    /// Nothing to do: every write reached the file already (durability is `sync_data`'s).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<F: FsFile> Seek for FileCursor<F> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let (base, delta) = match to {
            SeekFrom::Start(offset) => {
                self.position = offset;
                return Ok(offset);
            }
            SeekFrom::End(delta) => (self.file.len()?, delta),
            SeekFrom::Current(delta) => (self.position, delta),
        };
        let position = base.checked_add_signed(delta).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("seek to {base} {delta:+} is before the start of the file or past u64"),
            )
        })?;
        self.position = position;
        Ok(position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_log::fs::FileSystem;
    use crate::testing::CrashFs;
    use std::path::Path;

    #[test]
    fn a_write_without_sync_data_is_lost_at_a_crash_and_a_synced_one_kept() {
        let fs = CrashFs::new(7);
        let mut file = FileCursor::new(fs.create(Path::new("/f")).unwrap());
        fs.sync_dir(Path::new("/")).unwrap();
        file.write_all(b"kept").unwrap();
        file.sync_data().unwrap();
        file.write_all(b"lost").unwrap();
        fs.crash();
        assert_eq!(fs.contents(Path::new("/f")).unwrap(), b"kept");
    }

    #[test]
    fn seek_from_the_end_and_before_the_start() {
        let fs = CrashFs::new(7);
        let mut file = FileCursor::new(fs.create(Path::new("/f")).unwrap());
        file.write_all(b"0123456789").unwrap();
        assert_eq!(file.seek(SeekFrom::End(-3)).unwrap(), 7);
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, b"789");
        let error = file.seek(SeekFrom::Current(-11)).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{error}");
    }
}
