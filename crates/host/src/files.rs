//! Files the host writes (reports, journals, audit logs: readable by their
//! owner only) and reads whole (a plugin's bytes, to hash them).
//!
//! # Writing files safely
//!
//! Every file the host writes is opened through [`create`] or [`open_append`]:
//!
//! - The last component of the path is never followed if it is a symbolic
//!   link (`O_NOFOLLOW`): such a path is refused ([`Problem::Symlink`]).
//! - A new file is created with mode 0600.
//! - An existing file is checked on the opened handle (`fstat`), before a byte
//!   of it is changed: it must be a regular file ([`Problem::NotRegular`])
//!   owned by the effective user ([`Problem::OtherOwner`]), else it is refused
//!   and left as it was. If its group or others may access it, it is
//!   **tightened** to 0600 (`fchmod` on the handle) with a warning naming the
//!   old mode: the host is about to write what only its user may read into it.
//! - [`create`] truncates only after these checks.
//!
//! Before a run writes anything, [`check_path`] refuses a path that would be
//! refused at open, and [`distinct`] refuses two roles (input, journal, report,
//! audit log) naming one file, by device and inode ([`FileId`]).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::model::hex;

/// Why a file the host would write is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The path is a symbolic link, which is never followed.
    Symlink,
    /// It is not a regular file (a directory, a FIFO, a device, a socket).
    NotRegular {
        /// What it is.
        kind: &'static str,
    },
    /// It belongs to another user.
    OtherOwner {
        /// Its owner's uid.
        owner: u32,
        /// This process's effective uid.
        user: u32,
    },
}

/// A file the host would write is refused: it was left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct UnsafeFile {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: Problem,
}

impl UnsafeFile {
    fn describe(&self) -> String {
        let path = self.path.display();
        match self.problem {
            Problem::Symlink => format!(
                "{path} is a symbolic link, which revoker does not follow: name the file \
                 itself, or a file that does not exist yet"
            ),
            Problem::NotRegular { kind } => format!(
                "{path} is a {kind}, not a regular file: name a regular file, or one that \
                 does not exist yet"
            ),
            Problem::OtherOwner { owner, user } => format!(
                "{path} belongs to user {owner}, not to this user ({user}): name a file of \
                 your own, or one that does not exist yet"
            ),
        }
    }

    /// The [`UnsafeFile`] inside an error returned by [`create`] or
    /// [`open_append`], if that is why it failed.
    pub fn of(error: &io::Error) -> Option<&Self> {
        error.get_ref()?.downcast_ref()
    }
}

/// What an existing file is, as far as the checks go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Regular,
    Symlink,
    Other(&'static str),
}

/// What to do with an existing file before writing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Write it as it is.
    Fine,
    /// Make it 0600 first: its group or others have access (`mode`).
    Tighten { mode: u32 },
}

/// The checks on an existing file, on what `stat` says of it.
fn judge(kind: Kind, owner: u32, user: u32, mode: u32) -> Result<Verdict, Problem> {
    match kind {
        Kind::Symlink => return Err(Problem::Symlink),
        Kind::Other(kind) => return Err(Problem::NotRegular { kind }),
        Kind::Regular => {}
    }
    if owner != user {
        return Err(Problem::OtherOwner { owner, user });
    }
    // Group or other access, or set-id / sticky bits: none belong on a record.
    if mode & 0o7077 != 0 {
        return Ok(Verdict::Tighten {
            mode: mode & 0o7777,
        });
    }
    Ok(Verdict::Fine)
}

#[cfg(unix)]
fn kind_of(file_type: std::fs::FileType) -> Kind {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_file() {
        Kind::Regular
    } else if file_type.is_symlink() {
        Kind::Symlink
    } else if file_type.is_dir() {
        Kind::Other("directory")
    } else if file_type.is_fifo() {
        Kind::Other("FIFO")
    } else if file_type.is_socket() {
        Kind::Other("socket")
    } else if file_type.is_char_device() {
        Kind::Other("character device")
    } else if file_type.is_block_device() {
        Kind::Other("block device")
    } else {
        Kind::Other("special file")
    }
}

#[cfg(unix)]
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

#[cfg(unix)]
fn judge_metadata(metadata: &std::fs::Metadata) -> Result<Verdict, Problem> {
    use std::os::unix::fs::MetadataExt as _;
    judge(
        kind_of(metadata.file_type()),
        metadata.uid(),
        effective_uid(),
        metadata.mode(),
    )
}

/// Refuses `path` now if [`create`] or [`open_append`] would refuse it (a
/// symbolic link, not a regular file, another user's), without touching it:
/// for checking every file of a run before any is written. A missing file, or
/// one that cannot be examined, passes (opening it will tell).
///
/// # Errors
///
/// [`UnsafeFile`].
pub(crate) fn check_path(path: &Path) -> Result<(), UnsafeFile> {
    #[cfg(unix)]
    if let Ok(metadata) = std::fs::symlink_metadata(path)
        && let Err(problem) = judge_metadata(&metadata)
    {
        return Err(UnsafeFile {
            path: path.to_owned(),
            problem,
        });
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Opens `path` with `options` without following a symbolic link, then checks
/// (and tightens) what was opened; see the module's documentation.
fn open_safely(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        // O_NONBLOCK: opening a FIFO or a device must not wait (it is refused
        // below); it is cleared again once the file is known to be regular.
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        let refused = |problem| {
            io::Error::other(UnsafeFile {
                path: path.to_owned(),
                problem,
            })
        };
        let file = match options.open(path) {
            Ok(file) => file,
            Err(error) => {
                // ELOOP for a symbolic link, ENXIO for a FIFO nobody reads, …:
                // say what the path is when that is why.
                if error.kind() != io::ErrorKind::NotFound
                    && let Ok(metadata) = std::fs::symlink_metadata(path)
                    && let Err(problem) = judge_metadata(&metadata)
                {
                    return Err(refused(problem));
                }
                return Err(error);
            }
        };
        match judge_metadata(&file.metadata()?).map_err(refused)? {
            Verdict::Fine => {}
            Verdict::Tighten { mode } => {
                file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
                tracing::warn!(
                    "{} had mode {mode:04o}: made it 0600 (readable by its owner only)",
                    path.display()
                );
            }
        }
        clear_nonblocking(&file)?;
        Ok(file)
    }
    #[cfg(not(unix))]
    options.open(path)
}

#[cfg(unix)]
fn clear_nonblocking(file: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this `File` owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Creates `path` (mode 0600) or truncates it, never through a symbolic link:
/// an existing file is checked, and tightened to 0600 if its group or others
/// have access, before it is truncated (see the module's documentation).
///
/// # Errors
///
/// An [`io::Error`]; one holding an [`UnsafeFile`] ([`UnsafeFile::of`]) if the
/// file is refused, and then it was not changed.
pub(crate) fn create(path: &Path) -> io::Result<File> {
    let file = open_safely(
        path,
        OpenOptions::new().write(true).create(true).truncate(false),
    )?;
    file.set_len(0)?;
    Ok(file)
}

/// Opens `path` to read and append, creating it (mode 0600) if it is missing,
/// never through a symbolic link; an existing file is checked and tightened as
/// by [`create`].
///
/// # Errors
///
/// As [`create`].
pub(crate) fn open_append(path: &Path) -> io::Result<File> {
    open_safely(
        path,
        OpenOptions::new().read(true).append(true).create(true),
    )
}

/// Opens `path` to read, never through a symbolic link.
///
/// # Errors
///
/// If it cannot be opened (a symbolic link among the reasons).
pub(crate) fn open_to_read(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

/// A new, empty file (mode 0600) in `path`'s directory, created exclusively
/// (it never was a file, nor a symbolic link), under a fresh name beginning
/// with `.` and `path`'s file name (tempfile's `O_EXCL`, mode 0600): to write a replacement for `path` and
/// rename it over it atomically.
///
/// # Errors
///
/// If it cannot be created.
pub(crate) fn create_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut prefix = OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".");
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".rebuilding")
        .tempfile_in(dir)
}

/// Which file a path names, to tell whether two paths name the same one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FileId(Id);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Id {
    /// An existing file: its device and inode.
    Inode { dev: u64, ino: u64 },
    /// A file not created yet: its directory's device and inode, and its name.
    Missing { dev: u64, ino: u64, name: OsString },
    /// A path that cannot be examined: the path, made absolute.
    Path(PathBuf),
}

impl FileId {
    /// The file `file` is.
    ///
    /// # Errors
    ///
    /// If `fstat` fails.
    pub(crate) fn of_file(file: &File) -> io::Result<Self> {
        file.metadata().map(|metadata| Self::of_metadata(&metadata))
    }

    /// The file this process's standard input is, if it can be told.
    pub(crate) fn of_stdin() -> Option<Self> {
        #[cfg(unix)]
        {
            use std::os::fd::AsFd as _;
            let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
            Self::of_file(&File::from(fd)).ok()
        }
        #[cfg(not(unix))]
        None
    }

    /// The file `path` names, following symbolic links (a link to the input
    /// is the input); for a file that does not exist yet, its directory and
    /// name.
    pub(crate) fn of_path(path: &Path) -> Self {
        if let Ok(metadata) = std::fs::metadata(path) {
            return Self::of_metadata(&metadata);
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        #[cfg(unix)]
        if let (Some(name), Ok(metadata)) = (path.file_name(), std::fs::metadata(dir)) {
            use std::os::unix::fs::MetadataExt as _;
            return Self(Id::Missing {
                dev: metadata.dev(),
                ino: metadata.ino(),
                name: name.to_owned(),
            });
        }
        Self(Id::Path(
            std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
        ))
    }

    fn of_metadata(metadata: &std::fs::Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            Self(Id::Inode {
                dev: metadata.dev(),
                ino: metadata.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            Self(Id::Path(PathBuf::new()))
        }
    }
}

/// One file of a run, for [`distinct`].
#[derive(Debug, Clone)]
pub(crate) struct RunFile {
    /// What it is for: `input`, `journal`, `report`, `audit log`.
    pub(crate) role: &'static str,
    /// As it was named.
    pub(crate) path: PathBuf,
    /// Which file it is.
    pub(crate) id: FileId,
}

/// Two files of a run are one file: nothing was written or sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the {first_role} {} and the {second_role} {} are the same file: give each its own file \
     (nothing was written or sent)",
    first.display(), second.display()
)]
pub struct SameFile {
    /// What the first one named is for.
    pub first_role: &'static str,
    /// As it was named.
    pub first: PathBuf,
    /// What the one that is the same file is for.
    pub second_role: &'static str,
    /// As it was named.
    pub second: PathBuf,
}

/// Refuses a run whose files are not all distinct files.
///
/// # Errors
///
/// [`SameFile`], naming the first two that are the same.
pub(crate) fn distinct(files: &[RunFile]) -> Result<(), SameFile> {
    for (index, second) in files.iter().enumerate() {
        if let Some(first) = files[..index].iter().find(|first| first.id == second.id) {
            return Err(SameFile {
                first_role: first.role,
                first: first.path.clone(),
                second_role: second.role,
                second: second.path.clone(),
            });
        }
    }
    Ok(())
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

#[cfg(all(test, unix))]
mod tests {
    use std::io::Write as _;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
    }

    fn refusal(error: &io::Error) -> Problem {
        UnsafeFile::of(error)
            .unwrap_or_else(|| panic!("not a refusal: {error}"))
            .problem
    }

    #[test]
    fn judge_refuses_links_special_files_and_other_users_files() {
        assert_eq!(
            judge(Kind::Symlink, 1000, 1000, 0o600),
            Err(Problem::Symlink)
        );
        assert_eq!(
            judge(Kind::Other("FIFO"), 1000, 1000, 0o600),
            Err(Problem::NotRegular { kind: "FIFO" })
        );
        assert_eq!(
            judge(Kind::Regular, 0, 1000, 0o600),
            Err(Problem::OtherOwner {
                owner: 0,
                user: 1000
            })
        );
    }

    #[test]
    fn judge_tightens_group_other_and_special_bits_only() {
        assert_eq!(judge(Kind::Regular, 7, 7, 0o600), Ok(Verdict::Fine));
        assert_eq!(judge(Kind::Regular, 7, 7, 0o100_400), Ok(Verdict::Fine));
        for mode in [0o644, 0o640, 0o604, 0o610, 0o4600, 0o1600] {
            assert_eq!(
                judge(Kind::Regular, 7, 7, 0o100_000 | mode),
                Ok(Verdict::Tighten { mode }),
                "{mode:o}"
            );
        }
    }

    #[test]
    fn create_tightens_an_open_file_then_truncates_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.jsonl");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut file = create(&path).unwrap();
        file.write_all(b"new\n").unwrap();
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
    }

    #[test]
    fn a_new_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        open_append(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_symbolic_link_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep me\n").unwrap();
        let link = dir.path().join("report.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(refusal(&create(&link).unwrap_err()), Problem::Symlink);
        assert_eq!(refusal(&open_append(&link).unwrap_err()), Problem::Symlink);
        assert_eq!(check_path(&link).unwrap_err().problem, Problem::Symlink);
        assert!(open_to_read(&link).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
        // A dangling one too: nothing is created where it points.
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert_eq!(refusal(&create(&dangling).unwrap_err()), Problem::Symlink);
        assert!(!dir.path().join("nowhere").exists());
    }

    #[test]
    fn a_fifo_or_directory_is_refused_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        // No reader: a blocking open would wait forever.
        assert_eq!(
            refusal(&create(&fifo).unwrap_err()),
            Problem::NotRegular { kind: "FIFO" }
        );
        assert_eq!(
            refusal(&open_append(dir.path()).unwrap_err()),
            Problem::NotRegular { kind: "directory" }
        );
        assert_eq!(
            check_path(dir.path()).unwrap_err().problem,
            Problem::NotRegular { kind: "directory" }
        );
    }

    #[test]
    fn an_opened_file_blocks_as_usual() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let file = open_append(&path).unwrap();
        use std::os::fd::AsRawFd as _;
        // SAFETY: fcntl on a descriptor `file` owns.
        let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0);
    }

    #[test]
    fn a_missing_file_passes_the_check() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_path(&dir.path().join("new")).is_ok());
    }

    #[test]
    fn file_ids_tell_one_file_by_any_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, "x").unwrap();
        let hard = dir.path().join("hard");
        std::fs::hard_link(&a, &hard).unwrap();
        let soft = dir.path().join("soft");
        std::os::unix::fs::symlink(&a, &soft).unwrap();
        let id = FileId::of_path(&a);
        assert_eq!(FileId::of_path(&hard), id);
        assert_eq!(FileId::of_path(&soft), id);
        assert_eq!(FileId::of_file(&File::open(&a).unwrap()).unwrap(), id);
        assert_ne!(FileId::of_path(&dir.path().join("b")), id);

        // Not created yet: the same directory and name, however written.
        let new = FileId::of_path(&dir.path().join("new"));
        assert_eq!(FileId::of_path(&dir.path().join(".").join("new")), new);
        assert_ne!(FileId::of_path(&dir.path().join("other")), new);
    }

    #[test]
    fn distinct_names_the_first_two_that_are_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = |role, name: &str| RunFile {
            role,
            path: dir.path().join(name),
            id: FileId::of_path(&dir.path().join(name)),
        };
        assert!(
            distinct(&[
                file("input", "a"),
                file("journal", "b"),
                file("report", "c")
            ])
            .is_ok()
        );
        let same = distinct(&[
            file("input", "a"),
            file("journal", "b"),
            file("report", "b"),
        ])
        .unwrap_err();
        assert_eq!((same.first_role, same.second_role), ("journal", "report"));
        let message = same.to_string();
        assert!(message.contains("the journal"), "{message}");
        assert!(message.contains("nothing was written or sent"), "{message}");
    }

    #[test]
    fn a_replacement_is_created_beside_exclusively_and_privately() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.jsonl");
        std::fs::write(&report, "old\n").unwrap();
        let mut tmp = create_beside(&report).unwrap();
        assert_eq!(tmp.path().parent(), Some(dir.path()));
        assert_ne!(tmp.path(), report);
        assert_eq!(mode(tmp.path()), 0o600);
        tmp.write_all(b"new\n").unwrap();
        tmp.persist(&report).unwrap();
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "new\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
