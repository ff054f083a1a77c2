//! [`Dir`]: a log's directory for a [`LogFactory`](crate::LogFactory)'s `Store`: a fresh
//! temporary one for each case ([`Dir::temporary`], removed when dropped), or the one the
//! process-crash suite names ([`Dir::at`], kept).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory holding a log's files.
#[derive(Debug)]
pub struct Dir {
    path: PathBuf,
    remove_on_drop: bool,
}

impl Dir {
    /// A fresh, empty directory under the system's temporary directory, removed (with
    /// everything in it) when the `Dir` is dropped.
    pub fn temporary() -> io::Result<Dir> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let number = NEXT.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("rafty-testing-{}-{number}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Dir {
            path,
            remove_on_drop: true,
        })
    }

    /// The directory at `path`, never removed by this `Dir`.
    pub fn at(path: &Path) -> Dir {
        Dir {
            path: path.to_path_buf(),
            remove_on_drop: false,
        }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        if self.remove_on_drop {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporary_dir_is_fresh_and_removed_on_drop_and_a_given_one_is_kept() {
        let first = Dir::temporary().unwrap();
        let second = Dir::temporary().unwrap();
        assert_ne!(first.path(), second.path());
        std::fs::write(first.path().join("file"), b"x").unwrap();
        let path = first.path().to_path_buf();
        let kept = Dir::at(&path);
        drop(kept);
        assert!(path.join("file").exists(), "Dir::at never removes");
        drop(first);
        assert!(!path.exists(), "a temporary Dir is removed on drop");
    }
}
