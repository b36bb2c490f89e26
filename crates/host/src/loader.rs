//! Finding plugin files and loading each one, checked, through `abi_stable`.
//!
//! Each file is loaded with `lib_header_from_path(..)?.init_root_module()`, never
//! with `RootModule::load_from_*`, which keeps one module per root-module type
//! for the whole process and so would hand back the first plugin for every file.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use revoker_plugin_api::abi_stable::library::{LibraryError, lib_header_from_path};
use revoker_plugin_api::module::earlier;
use revoker_plugin_api::{
    Manifest, PLUGIN_API_CRATE_VERSION, PLUGIN_API_VERSION, ProviderModuleRef,
};

use crate::isolate::{Answer, Call, Runner};
use crate::plugin::{Backend, Plugin};
use crate::trust::{self, Image};

/// Names a provider may not take, because they are the CLI's own commands.
pub const RESERVED_NAMES: &[&str] = &[
    "providers",
    "describe",
    "bulk",
    "help",
    "completions",
    "audit",
    "version",
];

/// Parameter names a plugin may not use, because they are the CLI's own flags.
pub const RESERVED_PARAMS: &[&str] = &[
    "help",
    "dry-run",
    "max-attempts",
    "output",
    "config",
    "plugin-dir",
    "verbose",
    "quiet",
];

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
}

/// Which plugins run in a child process, and how.
#[derive(Debug, Clone)]
pub struct Isolation {
    /// Every plugin.
    pub all: bool,
    /// These providers' plugins.
    pub providers: HashSet<String>,
    /// The `revoker` binary that serves an isolated plugin
    /// (`revoker __plugin-runner FILE`); by default this process's own.
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
        let exe = match &isolation.runner {
            Some(exe) => exe.clone(),
            None => {
                std::env::current_exe().map_err(|e| format!("cannot find revoker itself: {e}"))?
            }
        };
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

/// What the host learns of a plugin when it loads it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PluginInfo {
    /// Its manifest.
    pub manifest: Manifest,
    /// The `revoker-plugin-api` version it was built against, e.g. `1.0.0`.
    pub api_version: String,
    /// Per operation, the parameters whose values are secrets.
    pub secret_params: BTreeMap<String, Vec<String>>,
}

/// Loads `image` into this process.
fn load_in_process(image: Image) -> Result<(PluginInfo, Backend), String> {
    let loaded = load_module(&image.load_path());
    // A library, once opened, stays for the process (abi_stable never unloads
    // one, even one refused after opening), and so does its image: were its
    // descriptor closed, the next image could get the same number, hence the
    // same `/proc/self/fd/N` path, and `dlopen` would hand back this library.
    std::mem::forget(image);
    let (module, info) = loaded?;
    Ok((info, Backend::InProcess(module)))
}

/// Loads the library at `path` and checks its plugin API version, its layout and
/// its manifest; returns its root module and what it says of itself.
///
/// # Errors
///
/// One line saying why the library is refused.
pub fn load_module(path: &Path) -> Result<(ProviderModuleRef, PluginInfo), String> {
    let header = lib_header_from_path(path).map_err(|e| match e {
        LibraryError::OpenError { .. } => format!("cannot load the library: {}", one_line(&e)),
        LibraryError::GetSymbolError { .. } => {
            "not a revoker plugin (it exports no abi_stable root module)".to_owned()
        }
        other => one_line(&other),
    })?;

    let built_with = header.version_strings();
    let built_major = built_with
        .version
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok());
    if built_major != Some(PLUGIN_API_VERSION) {
        return Err(format!(
            "built for plugin API version {} (revoker-plugin-api {}), but this revoker \
             speaks version {PLUGIN_API_VERSION} (revoker-plugin-api {}): rebuild the plugin \
             against revoker-plugin-api {PLUGIN_API_VERSION}.x",
            built_major.map_or_else(|| "?".to_owned(), |v| v.to_string()),
            built_with.version,
            PLUGIN_API_CRATE_VERSION,
        ));
    }

    let layout_mismatch = |details: &dyn std::fmt::Display| {
        tracing::debug!(plugin = %path.display(), "layout mismatch:\n{details}");
        format!(
            "its plugin interface layout does not match this revoker's (plugin API \
             version {PLUGIN_API_VERSION}, revoker-plugin-api {}): rebuild the plugin \
             against that version (run with -vv for the details)",
            PLUGIN_API_CRATE_VERSION
        )
    };
    let module = match header.init_root_module::<ProviderModuleRef>() {
        Ok(module) => module,
        // Built against an earlier 1.x, with fewer functions: check it against
        // the layout it was built with.
        Err(LibraryError::AbiInstability(details)) => {
            header
                .ensure_layout::<earlier::v1_0::ProviderModuleRef>()
                .map_err(|_| layout_mismatch(&details))?;
            // SAFETY: the module has 1.0's layout, which is the current one up to
            // its last prefix field; the accessors of the fields added since read
            // the module's own field count and return `None` for this one.
            unsafe { header.init_root_module_with_unchecked_layout::<ProviderModuleRef>() }
                .map_err(|e| one_line(&e))?
        }
        Err(other) => return Err(one_line(&other)),
    };

    let manifest = (module.manifest())()
        .into_result()
        .map_err(|e| format!("its manifest failed: {e}"))?;
    check_manifest(&manifest)?;
    let mut secret_params = BTreeMap::new();
    // Added in plugin API 1.1: a plugin built against 1.0 has no secret params.
    if let Some(declared) = module.secret_params() {
        for operation in manifest.operations.iter() {
            let names = declared(operation.name.as_rstr())
                .into_result()
                .map_err(|e| format!("its secret_params failed: {e}"))?;
            if !names.is_empty() {
                let names = names.into_iter().map(String::from).collect();
                secret_params.insert(operation.name.to_string(), names);
            }
        }
    }
    let info = PluginInfo {
        manifest,
        api_version: built_with.version.to_string(),
        secret_params,
    };
    Ok((module, info))
}

fn one_line(error: &dyn std::fmt::Display) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks that a manifest can be served: names the CLI can use, a base URL that
/// parses, a credential header that is a valid header.
///
/// # Errors
///
/// What is wrong with it, in one line.
pub fn check_manifest(manifest: &Manifest) -> Result<(), String> {
    let provider = manifest.provider.as_str();
    if !is_cli_name(provider) {
        return Err(format!(
            "provider name {provider:?} must be lowercase letters, digits and '-'"
        ));
    }
    if RESERVED_NAMES.contains(&provider) {
        return Err(format!(
            "provider name {provider:?} is one of revoker's own commands"
        ));
    }
    let base = reqwest::Url::parse(&manifest.default_base_url)
        .map_err(|e| format!("default base URL {:?}: {e}", manifest.default_base_url))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(format!(
            "default base URL {:?} must be http or https",
            manifest.default_base_url
        ));
    }
    if reqwest::header::HeaderName::from_bytes(manifest.auth.header.as_bytes()).is_err() {
        return Err(format!(
            "credential header {:?} is not a valid header name",
            manifest.auth.header
        ));
    }
    if manifest.credential_env.is_empty() {
        return Err("no credential environment variable".into());
    }
    if manifest.operations.is_empty() {
        return Err("no operations".into());
    }
    let mut operations = HashSet::new();
    for op in manifest.operations.iter() {
        if !is_cli_name(&op.name) || !operations.insert(op.name.as_str()) {
            return Err(format!(
                "operation name {:?} is invalid or repeated",
                op.name
            ));
        }
        let mut params = HashSet::new();
        for param in op.params.iter() {
            if !is_cli_name(&param.name) || !params.insert(param.name.as_str()) {
                return Err(format!(
                    "parameter {:?} of {} is invalid or repeated",
                    param.name, op.name
                ));
            }
            if RESERVED_PARAMS.contains(&param.name.as_str()) {
                return Err(format!(
                    "parameter {:?} of {} is one of revoker's own flags",
                    param.name, op.name
                ));
            }
        }
    }
    if let Some(rate) = manifest.default_rate.as_ref().into_option()
        && (rate.requests == 0 || rate.per_seconds == 0)
    {
        return Err("default rate must allow at least 1 request per second or more".into());
    }
    Ok(())
}

/// Lowercase ASCII letters, digits and inner `-`, starting with a letter.
fn is_cli_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{OperationKind, OperationSpec, ParamKind, ParamSpec, RateLimit};

    use super::*;

    fn manifest() -> Manifest {
        Manifest::new("acme", "1.0.0", "https://api.acme.example").operation(
            OperationSpec::new("revoke-key", OperationKind::Revoke).param(ParamSpec::required(
                "id",
                ParamKind::String,
                "",
            )),
        )
    }

    #[test]
    fn a_good_manifest_passes() {
        assert_eq!(check_manifest(&manifest()), Ok(()));
    }

    #[test]
    fn bad_manifests_are_refused_with_a_reason() {
        let cases: Vec<(Manifest, &str)> =
            vec![
                (
                    Manifest {
                        provider: "Acme".into(),
                        ..manifest()
                    },
                    "provider name \"Acme\"",
                ),
                (
                    Manifest {
                        provider: "bulk".into(),
                        ..manifest()
                    },
                    "one of revoker's own commands",
                ),
                (
                    Manifest {
                        default_base_url: "not a url".into(),
                        ..manifest()
                    },
                    "default base URL",
                ),
                (
                    Manifest {
                        default_base_url: "ftp://x".into(),
                        ..manifest()
                    },
                    "must be http or https",
                ),
                (
                    manifest().auth(revoker_plugin_api::AuthScheme::new("Bad Header", "")),
                    "not a valid header name",
                ),
                (
                    Manifest {
                        operations: Default::default(),
                        ..manifest()
                    },
                    "no operations",
                ),
                (
                    manifest().operation(OperationSpec::new("revoke-key", OperationKind::Revoke)),
                    "invalid or repeated",
                ),
                (
                    manifest().operation(
                        OperationSpec::new("other", OperationKind::Revoke)
                            .param(ParamSpec::required("dry-run", ParamKind::String, "")),
                    ),
                    "one of revoker's own flags",
                ),
                (
                    manifest().default_rate(RateLimit {
                        requests: 0,
                        per_seconds: 1,
                    }),
                    "default rate",
                ),
            ];
        for (manifest, expected) in cases {
            let err = check_manifest(&manifest).unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
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
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("librevoker_fake.so");
        std::fs::write(&path, b"not an ELF file").unwrap();
        let err = load_plugin(&path, &LoadOptions::default()).unwrap_err();
        assert!(err.starts_with("cannot load the library"), "{err}");
    }
}
