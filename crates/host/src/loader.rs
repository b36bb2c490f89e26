//! Finding plugin files and loading each one, checked, through `abi_stable`.
//!
//! Each file is loaded with `lib_header_from_path(..)?.init_root_module()`, never
//! with `RootModule::load_from_*`, which keeps one module per root-module type
//! for the whole process and so would hand back the first plugin for every file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use revoker_plugin_api::abi_stable::library::{LibraryError, lib_header_from_path};
use revoker_plugin_api::{
    Manifest, PLUGIN_API_CRATE_VERSION, PLUGIN_API_VERSION, ProviderModuleRef,
};

use crate::plugin::Plugin;

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

/// Loads the plugin at `path` and checks its version, layout and manifest.
///
/// # Errors
///
/// One line saying why the plugin is refused (the caller adds the path).
pub fn load_plugin(path: &Path) -> Result<Plugin, String> {
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

    let module = header
        .init_root_module::<ProviderModuleRef>()
        .map_err(|e| match e {
            LibraryError::AbiInstability(details) => {
                tracing::debug!(plugin = %path.display(), "layout mismatch:\n{details}");
                format!(
                    "its plugin interface layout does not match this revoker's (plugin API \
                     version {PLUGIN_API_VERSION}, revoker-plugin-api {}): rebuild the plugin \
                     against that version (run with -vv for the details)",
                    PLUGIN_API_CRATE_VERSION
                )
            }
            other => one_line(&other),
        })?;

    let manifest = (module.manifest())()
        .into_result()
        .map_err(|e| format!("its manifest failed: {e}"))?;
    check_manifest(&manifest)?;
    if !manifest.panic_unwind {
        tracing::warn!(
            plugin = %path.display(),
            "plugin {} was built with panic = \"abort\": a panic in it will abort revoker",
            manifest.provider
        );
    }
    Ok(Plugin::new(path.to_owned(), module, manifest))
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
        let err = load_plugin(&path).unwrap_err();
        assert!(err.starts_with("cannot load the library"), "{err}");
    }
}
