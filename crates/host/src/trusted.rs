//! Files the host reads and trusts (a plugin it runs, the config file that says
//! where credentials go): they, and every directory on the way to them, must be
//! changeable only by this user or root, as ssh's `StrictModes` treats a key.
//!
//! [`open_checked`] walks the path from the root one component at a time,
//! following each symbolic link by hand, so that the directories of the path as
//! given *and* of every link's target are checked: each must belong to this
//! user or root and must not be writable by group or others. A shared sticky
//! directory such as `/tmp` is refused too: its other users cannot rename what
//! is yours in it, but they can create the names you did not, and a path you
//! typed once may be theirs the next time. The file itself must be a regular
//! file with the same owner rule and not writable by group or others. It is
//! then opened without following a link and checked again on the open handle
//! (the same device and inode as the walk saw): what is read is what was
//! checked, and since no one else can write any directory on its way, no one
//! else can have swapped it.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::path::{Component, Path, PathBuf};

/// The most symbolic links followed on one path (as Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// Where on the path the fault is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Place {
    /// The file itself.
    File,
    /// The directory that holds the file.
    Directory(PathBuf),
    /// A directory further up the way to the file.
    Ancestor(PathBuf),
}

/// What is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Group or others may write it (`mode`: its permission bits).
    Writable {
        /// Its mode, permission bits only.
        mode: u32,
    },
    /// It belongs to another user than this one or root.
    Owner {
        /// Its owner's uid.
        owner: u32,
        /// This process's effective uid.
        me: u32,
    },
    /// The file is not a regular file.
    NotRegular,
    /// A directory on the way is not a directory.
    NotDirectory,
    /// More than [`MAX_LINKS`] symbolic links on the way.
    TooManyLinks,
    /// It changed between the walk and the open.
    Changed,
    /// It cannot be read.
    Unreadable {
        /// The kind of error.
        kind: std::io::ErrorKind,
        /// The system's message.
        why: String,
    },
}

/// A file the host will not trust, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct Untrusted {
    /// Where the fault is.
    pub place: Place,
    /// What it is.
    pub fault: Fault,
    /// The symbolic link through which the walk got there, if any.
    pub via_link: Option<PathBuf>,
    /// The file's path, as given.
    pub path: PathBuf,
}

impl Untrusted {
    fn describe(&self) -> String {
        let (subject, fix_path) = match &self.place {
            Place::File => ("it".to_owned(), self.path.clone()),
            Place::Directory(dir) => (format!("its directory {}", dir.display()), dir.clone()),
            Place::Ancestor(dir) => (
                format!("directory {} on the way to it", dir.display()),
                dir.clone(),
            ),
        };
        let mut text = match &self.fault {
            Fault::Writable { mode } if mode & 0o1002 == 0o1002 => format!(
                "{subject} is writable by others (mode {mode:04o}: shared, like /tmp): keep it \
                 in a directory that only you or root can write"
            ),
            Fault::Writable { mode } => format!(
                "{subject} is writable by group or others (mode {mode:04o}): run `chmod go-w {}`",
                fix_path.display()
            ),
            Fault::Owner { owner, me } => {
                format!("{subject} is owned by uid {owner}, not by you (uid {me}) or root")
            }
            Fault::NotRegular => format!("{subject} is not a regular file"),
            Fault::NotDirectory => format!("{subject} is not a directory"),
            Fault::TooManyLinks => {
                format!("more than {MAX_LINKS} symbolic links on the way to it")
            }
            Fault::Changed => "it changed while it was being checked".to_owned(),
            Fault::Unreadable { why, .. } => format!("cannot read {subject}: {why}"),
        };
        if let Some(link) = &self.via_link {
            text.push_str(&format!(
                " (reached through the symbolic link {})",
                link.display()
            ));
        }
        text
    }
}

/// Opens `path` for reading once it, and every directory on the way to it (the
/// targets of symbolic links included), passed the checks of this module.
///
/// # Errors
///
/// The first fault found, naming where it is.
#[cfg(unix)]
pub(crate) fn open_checked(path: &Path) -> Result<File, Untrusted> {
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};

    let fail = |place: Place, fault: Fault, via_link: &Option<PathBuf>| Untrusted {
        place,
        fault,
        via_link: via_link.clone(),
        path: path.to_owned(),
    };
    let unreadable = |place: Place, e: std::io::Error, via_link: &Option<PathBuf>| {
        fail(
            place,
            Fault::Unreadable {
                kind: e.kind(),
                why: e.to_string(),
            },
            via_link,
        )
    };
    let absolute = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()
            .map_err(|e| unreadable(Place::File, e, &None))?
            .join(path)
    };
    let mut pending: VecDeque<OsString> = VecDeque::new();
    push_front(&mut pending, &absolute);
    let mut resolved = PathBuf::from("/");
    let mut via_link = None;
    let mut links = 0;
    let root = std::fs::metadata(&resolved)
        .map_err(|e| unreadable(Place::Ancestor(resolved.clone()), e, &via_link))?;
    check(&root, true)
        .map_err(|fault| fail(Place::Ancestor(resolved.clone()), fault, &via_link))?;
    let mut last_meta = None;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            // `resolved` holds no link, so its parent is its lexical parent.
            resolved.pop();
            continue;
        }
        let next = resolved.join(&part);
        let is_last = pending.is_empty();
        let place = if is_last {
            Place::File
        } else if pending.len() == 1 {
            Place::Directory(next.clone())
        } else {
            Place::Ancestor(next.clone())
        };
        let meta = std::fs::symlink_metadata(&next)
            .map_err(|e| unreadable(place.clone(), e, &via_link))?;
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err(fail(Place::File, Fault::TooManyLinks, &via_link));
            }
            let target =
                std::fs::read_link(&next).map_err(|e| unreadable(place.clone(), e, &via_link))?;
            if target.is_absolute() {
                resolved = PathBuf::from("/");
            }
            push_front(&mut pending, &target);
            via_link = Some(next);
            continue;
        }
        check(&meta, !is_last).map_err(|fault| fail(place, fault, &via_link))?;
        resolved = next;
        last_meta = Some(meta);
    }
    let Some(seen) = last_meta.filter(|meta| meta.is_file()) else {
        return Err(fail(Place::File, Fault::NotRegular, &via_link));
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&resolved)
        .map_err(|e| unreadable(Place::File, e, &via_link))?;
    let opened = file
        .metadata()
        .map_err(|e| unreadable(Place::File, e, &via_link))?;
    if (opened.dev(), opened.ino()) != (seen.dev(), seen.ino()) {
        return Err(fail(Place::File, Fault::Changed, &via_link));
    }
    check(&opened, false).map_err(|fault| fail(Place::File, fault, &via_link))?;
    Ok(file)
}

/// Where the checks do not exist: the file, opened.
#[cfg(not(unix))]
pub(crate) fn open_checked(path: &Path) -> Result<File, Untrusted> {
    File::open(path).map_err(|e| Untrusted {
        place: Place::File,
        fault: Fault::Unreadable {
            kind: e.kind(),
            why: e.to_string(),
        },
        via_link: None,
        path: path.to_owned(),
    })
}

/// Puts `path`'s components (names and `..`) at the front of `pending`, in
/// order.
fn push_front(pending: &mut VecDeque<OsString>, path: &Path) {
    for component in path.components().rev() {
        match component {
            Component::Normal(name) => pending.push_front(name.to_owned()),
            Component::ParentDir => pending.push_front("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
}

/// The owner and mode rule, and the file type (`directory`: one is wanted).
#[cfg(unix)]
fn check(meta: &std::fs::Metadata, directory: bool) -> Result<(), Fault> {
    use std::os::unix::fs::MetadataExt as _;
    if directory && !meta.is_dir() {
        return Err(Fault::NotDirectory);
    }
    if !directory && !meta.is_file() {
        return Err(Fault::NotRegular);
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let owner = meta.uid();
    if owner != me && owner != 0 {
        return Err(Fault::Owner { owner, me });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Fault::Writable { mode });
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    /// A private directory under the target directory (never under /tmp, which
    /// is shared and so refused).
    fn private_dir() -> tempfile::TempDir {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/unit-tmp");
        std::fs::create_dir_all(&base).unwrap();
        let base = base.canonicalize().unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700)).unwrap();
        tempfile::tempdir_in(base).unwrap()
    }

    fn mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_private_file_opens() {
        let dir = private_dir();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        mode(&path, 0o644);
        assert!(open_checked(&path).is_ok());
    }

    #[test]
    fn a_writable_grandparent_is_refused() {
        let dir = private_dir();
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let path = sub.join("f");
        std::fs::write(&path, b"x").unwrap();
        mode(&path, 0o644);
        mode(&dir.path().join("a"), 0o777);
        let err = open_checked(&path).unwrap_err();
        assert_eq!(err.place, Place::Ancestor(dir.path().join("a")));
        assert_eq!(err.fault, Fault::Writable { mode: 0o777 });
        assert!(err.to_string().contains("on the way to it"), "{err}");
    }

    #[test]
    fn a_shared_sticky_directory_is_refused() {
        let dir = private_dir();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        mode(&shared, 0o1777);
        let path = shared.join("f");
        std::fs::write(&path, b"x").unwrap();
        mode(&path, 0o644);
        let err = open_checked(&path).unwrap_err().to_string();
        assert!(err.contains("like /tmp"), "{err}");
    }

    #[test]
    fn a_link_into_a_writable_directory_is_refused_and_a_private_one_followed() {
        let dir = private_dir();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        let target = open.join("f");
        std::fs::write(&target, b"x").unwrap();
        mode(&target, 0o644);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("open/f", &link).unwrap();
        let winding = dir.path().join("winding");
        std::os::unix::fs::symlink("open/../open/f", &winding).unwrap();
        assert!(open_checked(&link).is_ok());
        assert!(open_checked(&winding).is_ok());
        mode(&open, 0o777);
        let err = open_checked(&link).unwrap_err();
        assert_eq!(err.place, Place::Directory(open.clone()));
        assert_eq!(err.via_link.as_deref(), Some(link.as_path()));
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn a_link_loop_and_a_directory_are_refused() {
        let dir = private_dir();
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("a", &a).unwrap();
        assert_eq!(open_checked(&a).unwrap_err().fault, Fault::TooManyLinks);
        assert_eq!(
            open_checked(dir.path()).unwrap_err().fault,
            Fault::NotRegular
        );
    }
}
