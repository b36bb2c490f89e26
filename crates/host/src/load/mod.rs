//! Finding plugin files and loading each one, checked, through `abi_stable`.
//!
//! Each file is loaded with `lib_header_from_path(..)?.init_root_module()`, never
//! with `RootModule::load_from_*`, which keeps one module per root-module type
//! for the whole process and so would hand back the first plugin for every file.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

mod registry;
mod trust;

pub use self::registry::{Refusal, Registry};
use crate::plugin::image::Image;
use crate::plugin::info::{PluginInfo, Reserved, check_manifest, check_reserved};
use crate::plugin::isolated::{Answer, Call, Runner};
use crate::plugin::{Backend, Plugin, in_process};

/// The plugin files in `dir`: `librevoker_*.so` on Linux (`.dylib` on macOS,
/// `revoker_*.dll` on Windows), sorted by name.
///
/// # Errors
///
/// If the directory cannot be read.
pub fn plugin_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let prefix = format!("{}revoker_", std::env::consts::DLL_PREFIX);
    let suffix = std::env::consts::DLL_SUFFIX;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.starts_with(&prefix) && name.ends_with(suffix) && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// How plugins are loaded.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The allowlist: pinned SHA-256 (lowercase hex) to provider. When it is not
    /// empty, a file whose hash it does not list is refused before it is loaded.
    pub pins: BTreeMap<String, String>,
    /// Which plugins run in a child process.
    pub isolation: Isolation,
    /// Names no plugin may take.
    pub reserved: Reserved,
}

/// Which plugins run in a child process, and how.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// Every plugin.
    pub all: bool,
    /// These providers' plugins.
    pub providers: HashSet<String>,
    /// The `revoker` binary that serves an isolated plugin
    /// (a program that calls [`crate::serve_plugin_runner_if_asked`] first
    /// thing). `None`: isolation is refused, never silently re-running the
    /// embedding program.
    pub runner: Option<PathBuf>,
    /// How long an isolated plugin has to answer a call.
    pub timeout: Duration,
}

impl Default for Isolation {
    fn default() -> Self {
        Self {
            all: false,
            providers: HashSet::new(),
            runner: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// Checks the plugin file at `path` (ownership, permissions, the allowlist),
/// loads it (in this process or a child) and checks its version, layout and
/// manifest.
///
/// # Errors
///
/// One line saying why the plugin is refused (the caller adds the path).
pub fn load_plugin(path: &Path, options: &LoadOptions) -> Result<Plugin, String> {
    // Pinned plugins load from the very bytes that were hashed.
    let seal = !options.pins.is_empty();
    let trusted = trust::open_trusted(path, seal)?;
    let pinned_for = match &trusted.sha256 {
        None => None,
        Some(sha256) => Some(options.pins.get(sha256).cloned().ok_or_else(|| {
            format!(
                "its SHA-256 {sha256} is not in the config's allowlist (once any plugin is \
                 pinned, only pinned plugins load; `revoker providers --hashes` shows the hashes)"
            )
        })?),
    };
    let isolation = &options.isolation;
    let (info, backend) = if isolation.all || !isolation.providers.is_empty() {
        let exe = isolation.runner.clone().ok_or(
            "it is to run isolated, but no plugin runner is set (HostBuilder::plugin_runner: \
             a program that calls revoker_host::serve_plugin_runner_if_asked first thing)",
        )?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut runner = Runner::new(exe, trusted.image, name, isolation.timeout);
        let info = match runner.call(&Call::Describe)? {
            Answer::Describe(info) => *info,
            Answer::LoadFailed(why) => return Err(why),
            _ => return Err("its process answered another call than the one asked".into()),
        };
        check_manifest(&info.manifest)?;
        if isolation.all
            || isolation
                .providers
                .contains(info.manifest.provider.as_str())
        {
            runner.set_name(&info.manifest.provider);
            (info, Backend::Isolated(runner))
        } else {
            drop(runner);
            let image = trust::open_trusted(path, seal)?;
            if image.sha256 != trusted.sha256 {
                return Err("it changed while it was being loaded".into());
            }
            load_in_process(image.image)?
        }
    } else {
        load_in_process(trusted.image)?
    };
    check_reserved(&info.manifest, &options.reserved)?;
    if let Some(pinned) = pinned_for
        && pinned != info.manifest.provider.as_str()
    {
        return Err(format!(
            "its SHA-256 is pinned for provider {pinned}, but it provides {}",
            info.manifest.provider
        ));
    }
    if !info.manifest.panic_unwind {
        tracing::warn!(
            plugin = %path.display(),
            "plugin {} was built with panic = \"abort\": a panic in it will abort revoker",
            info.manifest.provider
        );
    }
    Ok(Plugin::new(path.to_owned(), trusted.sha256, info, backend))
}

/// Loads `image` into this process.
fn load_in_process(image: Image) -> Result<(PluginInfo, Backend), String> {
    let loaded = in_process::load_module(&image.load_path());
    // A library, once opened, stays for the process (abi_stable never unloads
    // one, even one refused after opening), and so does its image: were its
    // descriptor closed, the next image could get the same number, hence the
    // same `/proc/self/fd/N` path, and `dlopen` would hand back this library.
    std::mem::forget(image);
    let (module, info) = loaded?;
    Ok((info, Backend::InProcess(module)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_files_are_named_librevoker_star() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "librevoker_a.so",
            "librevoker_b.so",
            "libother.so",
            "librevoker_c.txt",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        std::fs::create_dir(dir.path().join("librevoker_dir.so")).unwrap();
        let files = plugin_files(dir.path()).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["librevoker_a.so", "librevoker_b.so"]);
    }

    #[test]
    fn a_file_that_is_not_a_library_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("librevoker_fake.so");
        std::fs::write(&path, b"not an ELF file").unwrap();
        let err = load_plugin(&path, &LoadOptions::default()).unwrap_err();
        assert!(err.starts_with("cannot load the library"), "{err}");
    }
}
