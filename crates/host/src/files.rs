//! Files the host writes (reports, journals, audit logs: readable by their
//! owner only) and reads whole (a plugin's bytes, to hash them).

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _};
use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::model::hex;

fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Creates (or truncates) `path`, mode 0600 if new.
pub fn create(path: &Path) -> io::Result<File> {
    private(OpenOptions::new().write(true).create(true).truncate(true)).open(path)
}

/// Opens `path` to append, creating it with mode 0600 if it is missing.
pub fn open_append(path: &Path) -> io::Result<File> {
    private(OpenOptions::new().read(true).append(true).create(true)).open(path)
}

/// The SHA-256 of the file at `path`, lowercase hex.
///
/// # Errors
///
/// If it cannot be read.
pub(crate) fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    loop {
        match file.read(&mut buffer)? {
            0 => return Ok(hex(&hasher.finalize())),
            n => hasher.update(&buffer[..n]),
        }
    }
}

/// Why a file could not be locked: another process holds it.
#[derive(Debug)]
pub struct Locked {
    /// The process holding the lock, when the system tells.
    pub pid: Option<u32>,
    /// The error, when it was not simply held.
    pub error: Option<io::Error>,
}

impl std::fmt::Display for Locked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.error, self.pid) {
            (Some(error), _) => write!(f, "cannot lock it: {error}"),
            (None, Some(pid)) => write!(f, "held by process {pid}"),
            (None, None) => f.write_str("held by another process"),
        }
    }
}

/// Takes an exclusive lock on `file` for as long as it is open, without
/// waiting: one writer per journal or audit log.
///
/// # Errors
///
/// [`Locked`], naming the process that holds it where `/proc/locks` tells.
pub(crate) fn lock_exclusive(file: &File) -> Result<(), Locked> {
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd as _;
        // SAFETY: flock on a descriptor this `File` owns.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::WouldBlock {
                return Err(Locked {
                    pid: None,
                    error: Some(error),
                });
            }
            return Err(Locked {
                pid: lock_holder(file),
                error: None,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// The process holding a `flock` on `file`, from `/proc/locks` (Linux).
#[cfg(unix)]
fn lock_holder(file: &File) -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    let inode = file.metadata().ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    // `1: FLOCK  ADVISORY  WRITE 12345 fd:01:1234567 0 EOF`
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (kind, pid, id) = (fields.get(1)?, fields.get(4)?, fields.get(5)?);
        let ino: u64 = id.rsplit(':').next()?.parse().ok()?;
        (*kind == "FLOCK" && ino == inode)
            .then(|| pid.parse().ok())
            .flatten()
    })
}
