//! Finding plugin files and loading each one, checked, through `abi_stable`.
//!
//! Each file is loaded with `lib_header_from_path(..)?.init_root_module()`, never
//! with `RootModule::load_from_*`, which keeps one module per root-module type
//! for the whole process and so would hand back the first plugin for every file.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod registry;
mod trust;

pub use self::registry::{Refusal, Registry};
use crate::plugin::image::Image;
use crate::plugin::in_process::{ModuleError, ModuleRefusal};
use crate::plugin::info::{ManifestError, PluginInfo, Reserved, ReservedName};
use crate::plugin::info::{check_auth, check_details, check_manifest, check_reserved};
use crate::plugin::isolated::{Answer, Call, Runner, RunnerError};
use crate::plugin::{Backend, Plugin, in_process};
use crate::trusted::Untrusted;

/// Why a plugin file was not loaded. Each says what to do about it, in one
/// line; the [`Refusal`] that carries it names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The plugin directory could not be read.
    #[error("cannot read plugin directory: {0}")]
    Directory(std::io::Error),
    /// The file, or a directory on the way to it, could be changed by someone
    /// else than this user or root.
    #[error(transparent)]
    Untrusted(#[from] Untrusted),
    /// The file is too large to be a plugin.
    #[error("it is larger than {max} bytes")]
    TooLarge {
        /// The most bytes read.
        max: u64,
    },
    /// The sealed copy to load could not be made.
    #[error("cannot make the sealed copy of it to load: {0}")]
    Copy(std::io::Error),
    /// Plugins are pinned, and not this one.
    #[error(
        "its SHA-256 {sha256} is not in the config's allowlist (once any plugin is pinned, \
         only pinned plugins load; `revoker providers --hashes` shows the hashes)"
    )]
    NotPinned {
        /// Its SHA-256.
        sha256: String,
    },
    /// Its hash is pinned for another provider.
    #[error("its SHA-256 is pinned for provider {pinned}, but it provides {provides}")]
    PinnedForAnother {
        /// The provider it is pinned for.
        pinned: String,
        /// The provider it says it is.
        provides: String,
    },
    /// Not a plugin of this host: not a library, another API version or
    /// layout, or a manifest that cannot be served.
    #[error(transparent)]
    Module(#[from] ModuleError),
    /// It takes a name the program keeps for itself.
    #[error(transparent)]
    Reserved(#[from] ReservedName),
    /// Its credential source is another loaded provider's too.
    #[error(
        "its credential, {claimed}, is claimed by {} too: one credential serves one provider, \
         so none of them is loaded; give each its own with `credential_env` under \
         [providers.NAME] in the config file, or remove the plugin you do not trust",
        others.join(", ")
    )]
    CredentialClaimed {
        /// The contested source.
        claimed: CredentialSource,
        /// The other claimants: `provider (file)`.
        others: Vec<String>,
    },
    /// An earlier plugin provides the same provider.
    #[error("provider {provider:?} is already provided by {}", first.display())]
    DuplicateProvider {
        /// The provider.
        provider: String,
        /// The plugin file that provides it.
        first: PathBuf,
    },
    /// It is to run isolated, and no runner program is set.
    #[error(
        "it is to run isolated, but no plugin runner is set (HostBuilder::plugin_runner: a \
         program that calls revoker_host::serve_plugin_runner_if_asked first thing)"
    )]
    NoRunner,
    /// Its isolated process failed.
    #[error(transparent)]
    Isolation(#[from] RunnerError),
    /// Its isolated process answered another call.
    #[error("its process answered another call than the one asked")]
    UnexpectedAnswer,
}

impl From<ManifestError> for LoadError {
    fn from(error: ManifestError) -> Self {
        Self::Module(ModuleError::BadManifest(error))
    }
}

/// Why a plugin file is refused, and the provider it said it was, if it was
/// read that far.
#[derive(Debug)]
pub(crate) struct Refused {
    pub(crate) error: Box<LoadError>,
    pub(crate) provider: Option<String>,
}

impl<E: Into<LoadError>> From<E> for Refused {
    fn from(error: E) -> Self {
        Self {
            error: Box::new(error.into()),
            provider: None,
        }
    }
}

impl From<ModuleRefusal> for Refused {
    fn from(refusal: ModuleRefusal) -> Self {
        Self {
            error: Box::new(LoadError::Module(refusal.error)),
            provider: refusal.provider,
        }
    }
}

/// Where a provider's credential is read from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum CredentialSource {
    /// An environment variable.
    Env(String),
    /// A credential file.
    File(PathBuf),
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(name) => write!(f, "environment variable {name}"),
            Self::File(path) => write!(f, "credential file {}", path.display()),
        }
    }
}

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
    /// Where a provider's credential comes from when not from its manifest's
    /// variable (the config file's `credential_env` or `credential_file`). No
    /// two loaded providers may share a source.
    pub credential_sources: BTreeMap<String, CredentialSource>,
    /// Where a part other than the first of a provider's credential comes
    /// from when not from its plugin's variable (the config file's
    /// `credential_parts`), by provider and part.
    pub part_sources: BTreeMap<(String, String), CredentialSource>,
}

impl LoadOptions {
    /// Whether each plugin is hashed as it is loaded: once any is pinned, its
    /// hash decides whether it loads, and must be of the very bytes loaded.
    pub(crate) fn hashes_at_load(&self) -> bool {
        !self.pins.is_empty()
    }

    /// Whether each plugin is loaded from a sealed copy: when pinned (what
    /// loads must be what was hashed), and when plugins may run isolated (a
    /// plugin's process starts later, any time in a run, and must load the
    /// bytes checked now).
    pub(crate) fn copies_at_load(&self) -> bool {
        self.hashes_at_load() || self.isolation.all || !self.isolation.providers.is_empty()
    }
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

/// Loads the plugin file at `path` from `trusted`, what
/// [`trust::open_trusted`] made of it (its owner and mode and those of every
/// directory on its way checked; a sealed copy made when
/// [`LoadOptions::copies_at_load`], hashed when [`LoadOptions::hashes_at_load`]): checks the hash against the allowlist,
/// loads the image (in this process or a child) and checks its version,
/// layout and manifest.
///
/// # Errors
///
/// Why the plugin is refused (the caller adds the path), and its provider if
/// it said which.
pub(crate) fn load_plugin(
    path: &Path,
    trusted: Result<trust::TrustedFile, LoadError>,
    options: &LoadOptions,
) -> Result<Plugin, Refused> {
    let trusted = trusted?;
    let pinned_for = match &trusted.sha256 {
        None => None,
        Some(sha256) => {
            Some(
                options
                    .pins
                    .get(sha256)
                    .cloned()
                    .ok_or_else(|| LoadError::NotPinned {
                        sha256: sha256.clone(),
                    })?,
            )
        }
    };
    // Kept by the plugin, to hash the very bytes loaded when asked.
    let hashed = trusted.image.try_clone().map_err(LoadError::Copy)?;
    let isolation = &options.isolation;
    let (info, backend) = if isolation.all || !isolation.providers.is_empty() {
        let exe = isolation.runner.clone().ok_or(LoadError::NoRunner)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let child_image = trusted.image.try_clone().map_err(LoadError::Copy)?;
        let mut runner = Runner::new(exe, child_image, name, isolation.timeout);
        let info = match runner.call(&Call::Describe)? {
            Answer::Describe(info) => *info,
            Answer::LoadFailed(why) => return Err(why.into()),
            _ => return Err(LoadError::UnexpectedAnswer.into()),
        };
        // The child's word is checked here again: a forged answer must not
        // get past what the host serves (a batched create, an auth kind it
        // lacks).
        check_manifest(&info.manifest).map_err(|e| refused(e, &info))?;
        check_details(&info.manifest, &info.details).map_err(|e| refused(e, &info))?;
        check_auth(&info.auth).map_err(|e| refused(e, &info))?;
        if isolation.all
            || isolation
                .providers
                .contains(info.manifest.provider.as_str())
        {
            runner.set_name(&info.manifest.provider);
            (info, Backend::Isolated(runner))
        } else {
            // The same sealed bytes, in this process.
            drop(runner);
            load_in_process(trusted.image)?
        }
    } else {
        load_in_process(trusted.image)?
    };
    check_reserved(&info.manifest, &options.reserved).map_err(|e| refused(e, &info))?;
    if let Some(pinned) = pinned_for
        && pinned != info.manifest.provider.as_str()
    {
        let provides = info.manifest.provider.to_string();
        return Err(Refused {
            error: Box::new(LoadError::PinnedForAnother {
                pinned,
                provides: provides.clone(),
            }),
            provider: Some(provides),
        });
    }
    if !info.manifest.panic_unwind {
        tracing::warn!(
            plugin = %path.display(),
            "plugin {} was built with panic = \"abort\": a panic in it will abort revoker",
            info.manifest.provider
        );
    }
    Ok(Plugin::new(
        path.to_owned(),
        trusted.sha256,
        hashed,
        info,
        backend,
    ))
}

/// `error`, of the plugin that `info` describes.
fn refused(error: impl Into<LoadError>, info: &PluginInfo) -> Refused {
    Refused {
        error: Box::new(error.into()),
        provider: Some(info.manifest.provider.to_string()),
    }
}

/// Loads `image` into this process.
fn load_in_process(image: Image) -> Result<(PluginInfo, Backend), Refused> {
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
    fn only_pinned_or_isolated_plugins_are_copied_and_only_pinned_ones_hashed() {
        let plain = LoadOptions::default();
        assert!(!plain.hashes_at_load() && !plain.copies_at_load());
        let pinned = LoadOptions {
            pins: BTreeMap::from([("ab".repeat(32), "dolfin".to_owned())]),
            ..LoadOptions::default()
        };
        assert!(pinned.hashes_at_load() && pinned.copies_at_load());
        let isolated = |all: bool, providers: &[&str]| LoadOptions {
            isolation: Isolation {
                all,
                providers: providers.iter().map(|p| (*p).to_owned()).collect(),
                ..Isolation::default()
            },
            ..LoadOptions::default()
        };
        for options in [isolated(true, &[]), isolated(false, &["dolfin"])] {
            assert!(!options.hashes_at_load() && options.copies_at_load());
        }
    }

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
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/unit-tmp");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::set_permissions(&base, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let dir = tempfile::tempdir_in(base).unwrap();
        let path = dir.path().join("librevoker_fake.so");
        std::fs::write(&path, b"not an ELF file").unwrap();
        let options = LoadOptions::default();
        let trusted =
            trust::open_trusted(&path, options.hashes_at_load(), options.copies_at_load());
        let err = load_plugin(&path, trusted, &options).unwrap_err().error;
        let err = *err;
        assert!(
            matches!(err, LoadError::Module(ModuleError::NotALibrary(_))),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("cannot load the library"),
            "{err}"
        );
    }
}
