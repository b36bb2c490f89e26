//! The bytes of a plugin library, as the loader checked them, ready to load.

use std::fs::File;
use std::path::PathBuf;

/// The bytes to load.
#[derive(Debug)]
pub enum Image {
    /// A sealed in-memory copy (Linux): its fd stays open for as long as the
    /// process, so that a child process can load the same bytes.
    Sealed(File),
    /// The file itself (where sealed copies are not available).
    Path(PathBuf),
}

impl Image {
    /// The path `dlopen` loads, in this process.
    pub fn load_path(&self) -> PathBuf {
        match self {
            Self::Sealed(file) => PathBuf::from(format!("/proc/self/fd/{}", fd_of(file))),
            Self::Path(path) => path.clone(),
        }
    }

    /// The path a child of this process loads the same bytes from.
    pub fn child_path(&self) -> PathBuf {
        match self {
            Self::Sealed(file) => {
                PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), fd_of(file)))
            }
            Self::Path(path) => path.clone(),
        }
    }
}

#[cfg(unix)]
fn fd_of(file: &File) -> i32 {
    use std::os::fd::AsRawFd as _;
    file.as_raw_fd()
}

#[cfg(not(unix))]
fn fd_of(_: &File) -> i32 {
    unreachable!("sealed images exist on Linux only")
}
