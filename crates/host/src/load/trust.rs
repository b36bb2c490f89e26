//! Deciding whether a plugin file may be loaded, before any of its code runs
//! (loading a library runs its initialisers), and making the copy that loads.
//!
//! The file, and every directory on the way to it (through symbolic links
//! too), must be changeable only by the current user or root
//! ([`crate::trusted`]). What loads is then the very handle that was checked,
//! never the path again. Where the bytes must stay as checked for longer than
//! this process's load, the file is copied, from that handle, into a sealed
//! in-memory file (Linux): for a pinned plugin (the pin's SHA-256 is of that
//! copy, so what loads is what was hashed) and for an isolated one (its
//! process starts later, and loads the copy). An unpinned plugin loaded into
//! this process is loaded at once from the checked handle: a file only its
//! owner or root can change, which no copy would protect from them either
//! (they could as well change the program); copying every plugin at every
//! start cost more than the rest of `revoker providers`.

use std::path::Path;

use super::LoadError;
use crate::plugin::image::Image;

/// The largest plugin file read.
const MAX_PLUGIN_BYTES: u64 = 256 * 1024 * 1024;

/// A plugin file that passed the checks, ready to load.
#[derive(Debug)]
pub struct TrustedFile {
    /// The SHA-256 of the bytes to load, lowercase hex, when asked for.
    pub sha256: Option<String>,
    /// What to load: a sealed copy of the bytes checked (Linux), or the file.
    pub image: Image,
}

/// Checks `path` and the directories on its way, and makes the image to load:
/// with `hash` (plugins are pinned) a sealed copy, hashed; with `copy` (the
/// plugin may load in another process, later) a sealed copy where one can be
/// made; else the checked file's own handle.
///
/// # Errors
///
/// Why the file may not be loaded, with what to do about it.
pub fn open_trusted(path: &Path, hash: bool, copy: bool) -> Result<TrustedFile, LoadError> {
    let file = crate::trusted::open_checked(path)?;
    let len = file.metadata().map_err(LoadError::Copy)?.len();
    if len > MAX_PLUGIN_BYTES {
        return Err(LoadError::TooLarge {
            max: MAX_PLUGIN_BYTES,
        });
    }
    // A pinned plugin's hash must be of the bytes loaded: only a sealed copy.
    let image = if hash || copy {
        seal(file, path, hash)?
    } else {
        checked(file, path)
    };
    let sha256 = if hash {
        Some(crate::files::sha256_of_file(&image.load_path()).map_err(LoadError::Copy)?)
    } else {
        None
    };
    Ok(TrustedFile { sha256, image })
}

/// A sealed in-memory copy of `file`'s bytes (Linux). Where none can be made
/// (a file size limit, `ulimit -f`, applies to it too), the checked `file`
/// itself, unless `required`.
#[cfg(target_os = "linux")]
fn seal(file: std::fs::File, path: &Path, required: bool) -> Result<Image, LoadError> {
    use std::io::Seek as _;
    match sealed_copy(&file) {
        Ok(image) => Ok(image),
        Err(e) if required => Err(e),
        Err(e) => {
            tracing::warn!(
                plugin = %path.display(),
                "{e}: loading it from the file that was checked instead (only you or root can \
                 change it)"
            );
            let mut file = file;
            file.rewind().map_err(LoadError::Copy)?;
            Ok(Image::Opened(file))
        }
    }
}

#[cfg(target_os = "linux")]
fn sealed_copy(file: &std::fs::File) -> Result<Image, LoadError> {
    use std::fs::File;
    use std::io::Read as _;
    use std::os::fd::{AsRawFd as _, FromRawFd as _};

    // SAFETY: the name is a valid C string; the flags are valid.
    let fd = unsafe {
        libc::memfd_create(
            c"revoker-plugin".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return Err(LoadError::Copy(std::io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let mut copy = unsafe { File::from_raw_fd(fd) };
    // Never on a standard descriptor (were one closed): a child's stdio is set
    // up on those numbers before it is handed this one.
    if fd <= libc::STDERR_FILENO {
        // SAFETY: F_DUPFD_CLOEXEC on a valid descriptor.
        let high = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 10) };
        if high < 0 {
            return Err(LoadError::Copy(std::io::Error::last_os_error()));
        }
        // SAFETY: `high` was just created and is owned by nothing else.
        copy = unsafe { File::from_raw_fd(high) };
    }
    let copied =
        std::io::copy(&mut file.take(MAX_PLUGIN_BYTES + 1), &mut copy).map_err(LoadError::Copy)?;
    if copied > MAX_PLUGIN_BYTES {
        return Err(LoadError::TooLarge {
            max: MAX_PLUGIN_BYTES,
        });
    }
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: a valid memfd created with MFD_ALLOW_SEALING.
    if unsafe { libc::fcntl(copy.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(LoadError::Copy(std::io::Error::last_os_error()));
    }
    Ok(Image::Sealed(copy))
}

/// The checked file's own handle (Linux).
#[cfg(target_os = "linux")]
fn checked(file: std::fs::File, _: &Path) -> Image {
    Image::Opened(file)
}

/// Where descriptors cannot be loaded from: the checked file, by its path.
#[cfg(not(target_os = "linux"))]
fn checked(_: std::fs::File, path: &Path) -> Image {
    Image::unsealed(path)
}

/// Where there are no sealed files: the checked file itself, by its path.
#[cfg(not(target_os = "linux"))]
fn seal(_: std::fs::File, path: &Path, _: bool) -> Result<Image, LoadError> {
    Ok(Image::unsealed(path))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::model::sha256_hex;

    /// A private directory under the target directory (never under /tmp, which
    /// is shared and so refused).
    fn private_dir() -> tempfile::TempDir {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/unit-tmp");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700)).unwrap();
        tempfile::tempdir_in(base).unwrap()
    }

    #[test]
    fn a_private_file_is_hashed_and_sealed() {
        let dir = private_dir();
        let path = dir.path().join("librevoker_x.so");
        std::fs::write(&path, b"plugin bytes").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let trusted = open_trusted(&path, true, false).unwrap();
        let expected = sha256_hex(b"plugin bytes");
        assert_eq!(trusted.sha256.as_deref(), Some(expected.as_str()));
        // The image holds the very bytes that were hashed, whatever the file does next.
        std::fs::write(&path, b"swapped").unwrap();
        let loaded = std::fs::read(trusted.image.load_path()).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(loaded, b"plugin bytes");
        }
        // Unpinned, to load in another process: a copy too.
        let trusted = open_trusted(&path, false, true).unwrap();
        assert_eq!(trusted.sha256, None);
        std::fs::write(&path, b"swapped again").unwrap();
        if cfg!(target_os = "linux") {
            assert!(matches!(trusted.image, Image::Sealed(_)));
            assert_eq!(
                std::fs::read(trusted.image.load_path()).unwrap(),
                b"swapped"
            );
        }
        // Unpinned, to load in this process at once: the checked handle
        // itself, which still reads the file checked once its path is gone.
        let trusted = open_trusted(&path, false, false).unwrap();
        assert_eq!(trusted.sha256, None);
        std::fs::remove_file(&path).unwrap();
        if cfg!(target_os = "linux") {
            assert!(matches!(trusted.image, Image::Opened(_)));
            assert_eq!(
                std::fs::read(trusted.image.load_path()).unwrap(),
                b"swapped again"
            );
        }
    }

    #[test]
    fn a_file_writable_by_others_is_refused() {
        let dir = private_dir();
        let path = dir.path().join("librevoker_x.so");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = open_trusted(&path, false, false).unwrap_err().to_string();
        assert!(
            err.contains("it is writable by group or others (mode 0666)"),
            "{err}"
        );
        assert!(err.contains("chmod go-w"), "{err}");
    }

    #[test]
    fn a_directory_writable_by_others_is_refused() {
        let dir = private_dir();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let path = dir.path().join("librevoker_x.so");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = open_trusted(&path, false, false).unwrap_err().to_string();
        assert!(err.contains("its directory"), "{err}");
        assert!(err.contains("mode 0777"), "{err}");
    }
}
