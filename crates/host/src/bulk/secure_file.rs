//! Files that may hold what a run did (reports, journals): created readable by
//! their owner only.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

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
