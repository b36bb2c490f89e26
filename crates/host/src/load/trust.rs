//! Deciding whether a plugin file may be loaded, before any of its code runs
//! (loading a library runs its initialisers).
//!
//! A plugin file, and the directory it is in, must not be writable by group or
//! others and must belong to the current user or root, the way ssh treats its key
//! files. A pinned plugin's file is read once; its SHA-256 is of those bytes, and
//! on Linux those very bytes are what gets loaded, from a sealed in-memory file:
//! nothing can change the library between the check and the load.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use crate::model::sha256_hex;
use crate::plugin::image::Image;

/// The largest plugin file read.
const MAX_PLUGIN_BYTES: u64 = 256 * 1024 * 1024;

/// A plugin file that passed the checks, ready to load.
#[derive(Debug)]
pub struct TrustedFile {
    /// The SHA-256 of the bytes to load, lowercase hex, when they were read.
    pub sha256: Option<String>,
    /// What to load: a sealed copy of the bytes that were hashed, or the file.
    pub image: Image,
}

/// Checks `path` and its directory and prepares what to load. With
/// `seal_bytes` (a pinned plugin), the file is read and hashed, and what loads is
/// a sealed copy of the very bytes hashed; else the file itself, which the checks
/// have shown only its owner or root can change, hashed only when asked
/// ([`crate::files::sha256_of_file`]).
///
/// # Errors
///
/// Why the file may not be loaded, in one line, with what to do about it.
pub fn open_trusted(path: &Path, seal_bytes: bool) -> Result<TrustedFile, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open it: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read its metadata: {e}"))?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    check_owner_and_mode(&meta, "it", path)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir_meta = std::fs::metadata(dir).map_err(|e| format!("cannot read its directory: {e}"))?;
    check_owner_and_mode(&dir_meta, &format!("its directory {}", dir.display()), dir)?;
    if meta.len() > MAX_PLUGIN_BYTES {
        return Err(format!("it is larger than {MAX_PLUGIN_BYTES} bytes"));
    }
    if !seal_bytes {
        return Ok(TrustedFile {
            sha256: None,
            image: Image::Path(path.to_owned()),
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.by_ref()
        .take(MAX_PLUGIN_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it: {e}"))?;
    let image = seal(&bytes).unwrap_or_else(|| Image::Path(path.to_owned()));
    Ok(TrustedFile {
        sha256: Some(sha256_hex(&bytes)),
        image,
    })
}

#[cfg(unix)]
fn check_owner_and_mode(meta: &std::fs::Metadata, what: &str, path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt as _;
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{what} is writable by group or others (mode {mode:04o}): run `chmod go-w {}`",
            path.display()
        ));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let owner = meta.uid();
    if owner != me && owner != 0 {
        return Err(format!(
            "{what} is owned by uid {owner}, not by you (uid {me}) or root"
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_owner_and_mode(_: &std::fs::Metadata, _: &str, _: &Path) -> Result<(), String> {
    Ok(())
}

/// A sealed in-memory file holding `bytes` (Linux), or `None` where there is none.
#[cfg(target_os = "linux")]
fn seal(bytes: &[u8]) -> Option<Image> {
    use std::io::Write as _;
    use std::os::fd::FromRawFd as _;

    // SAFETY: the name is a valid C string; the flags are valid.
    let fd = unsafe {
        libc::memfd_create(
            c"revoker-plugin".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just created and is owned by nothing else.
    let mut file = unsafe { File::from_raw_fd(fd) };
    file.write_all(bytes).ok()?;
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: `fd` is a valid memfd created with MFD_ALLOW_SEALING.
    if unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } != 0 {
        return None;
    }
    Some(Image::Sealed(file))
}

#[cfg(not(target_os = "linux"))]
fn seal(_: &[u8]) -> Option<Image> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;
    use crate::files::sha256_of_file;

    fn private_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    #[test]
    fn a_private_file_is_hashed_and_sealed() {
        let dir = private_dir();
        let path = dir.path().join("librevoker_x.so");
        std::fs::write(&path, b"plugin bytes").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let trusted = open_trusted(&path, true).unwrap();
        let expected = sha256_hex(b"plugin bytes");
        assert_eq!(trusted.sha256.as_deref(), Some(expected.as_str()));
        assert_eq!(sha256_of_file(&path).unwrap(), expected);
        // The image holds the very bytes that were hashed, whatever the file does next.
        std::fs::write(&path, b"swapped").unwrap();
        let loaded = std::fs::read(trusted.image.load_path()).unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(loaded, b"plugin bytes");
        }
    }

    #[test]
    fn a_file_writable_by_others_is_refused() {
        let dir = private_dir();
        let path = dir.path().join("librevoker_x.so");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let err = open_trusted(&path, false).unwrap_err();
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
        let err = open_trusted(&path, false).unwrap_err();
        assert!(err.contains("its directory"), "{err}");
        assert!(err.contains("mode 0777"), "{err}");
    }
}
