//! The commit `revoker --version` names: `REVOKER_BUILD_COMMIT` if set (a
//! packager building from a tarball knows it), else what git says of the
//! source tree, else `unknown` (a tarball without `.git`, or no git).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=REVOKER_BUILD_COMMIT");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
    let commit = std::env::var("REVOKER_BUILD_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().to_owned())
        .or_else(|| {
            // Only a checkout of this source: a tarball unpacked inside some
            // other repository (a home directory kept in git) has its files
            // untracked there, and that repository's commit is not this one.
            git(&dir, &["ls-files", "--error-unmatch", "--", "Cargo.toml"])?;
            git(&dir, &["rev-parse", "--short=12", "HEAD"])
        })
        .unwrap_or_else(|| "unknown".to_owned());
    // Built again when HEAD moves: HEAD itself, and the branch it names.
    for file in ["HEAD", "packed-refs"] {
        rerun_if_git_file_changed(&dir, file);
    }
    if let Some(branch) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
        rerun_if_git_file_changed(&dir, &branch);
    }
    println!("cargo:rustc-env=REVOKER_BUILD_COMMIT={commit}");
}

/// `git ARGS` in `dir`, its first line if it succeeded.
fn git(dir: &str, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8(output.stdout).ok()?;
    let line = text.lines().next()?.trim().to_owned();
    (!line.is_empty()).then_some(line)
}

fn rerun_if_git_file_changed(dir: &str, file: &str) {
    if let Some(path) = git(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-path", file],
    ) && Path::new(&path).exists()
    {
        println!("cargo:rerun-if-changed={path}");
    }
}
