//! The bytes of a plugin library, as the loader checked them, ready to load.

use std::fs::File;
#[cfg(not(target_os = "linux"))]
use std::path::Path;
use std::path::PathBuf;

/// The bytes to load.
#[derive(Debug)]
pub enum Image {
    /// A sealed in-memory copy (Linux): no one can change it, and a child
    /// process is handed its descriptor, never a path.
    Sealed(File),
    /// The checked file's own descriptor (Linux): for an unpinned plugin
    /// loaded into this process at once, or where no sealed copy could be
    /// made (a file size limit smaller than the plugin). The very file that
    /// was checked, which only its owner or root can change, never the path
    /// again.
    #[cfg(target_os = "linux")]
    Opened(File),
    /// The file itself (where sealed copies are not available).
    #[cfg(not(target_os = "linux"))]
    Path(PathBuf),
}

/// The argument an isolated plugin's process is given for a sealed image: the
/// number of the descriptor it inherits, after this prefix.
pub(crate) const FD_ARG_PREFIX: &str = "fd:";

impl Image {
    /// The path `dlopen` loads, in this process.
    pub fn load_path(&self) -> PathBuf {
        match self {
            Self::Sealed(file) => PathBuf::from(format!("/proc/self/fd/{}", fd_of(file))),
            #[cfg(target_os = "linux")]
            Self::Opened(file) => PathBuf::from(format!("/proc/self/fd/{}", fd_of(file))),
            #[cfg(not(target_os = "linux"))]
            Self::Path(path) => path.clone(),
        }
    }

    /// Another handle on the same bytes.
    ///
    /// # Errors
    ///
    /// If the descriptor cannot be duplicated.
    pub fn try_clone(&self) -> std::io::Result<Self> {
        match self {
            Self::Sealed(file) => file.try_clone().map(Self::Sealed),
            #[cfg(target_os = "linux")]
            Self::Opened(file) => file.try_clone().map(Self::Opened),
            #[cfg(not(target_os = "linux"))]
            Self::Path(path) => Ok(Self::Path(path.clone())),
        }
    }

    /// What a child process is given to load the same bytes: its argument, and
    /// the descriptor it must inherit (for a sealed image).
    pub(crate) fn child_arg(&self) -> (std::ffi::OsString, Option<i32>) {
        match self {
            Self::Sealed(file) => {
                let fd = fd_of(file);
                (format!("{FD_ARG_PREFIX}{fd}").into(), Some(fd))
            }
            #[cfg(target_os = "linux")]
            Self::Opened(file) => {
                let fd = fd_of(file);
                (format!("{FD_ARG_PREFIX}{fd}").into(), Some(fd))
            }
            #[cfg(not(target_os = "linux"))]
            Self::Path(path) => (path.as_os_str().to_owned(), None),
        }
    }

    /// The file at `path`, where no sealed copy can be made.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn unsealed(path: &Path) -> Self {
        Self::Path(path.to_owned())
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
