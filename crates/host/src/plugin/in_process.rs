//! The in-process backend: a plugin library loaded into this process through
//! `abi_stable`, its version and layout checked.
//!
//! Each file is loaded with `lib_header_from_path(..)?.init_root_module()`, never
//! with `RootModule::load_from_*`, which keeps one module per root-module type
//! for the whole process and so would hand back the first plugin for every file.

use std::collections::BTreeMap;
use std::path::Path;

use revoker_plugin_api::abi_stable::StableAbi;
use revoker_plugin_api::abi_stable::library::{LibraryError, lib_header_from_path};
use revoker_plugin_api::abi_stable::sabi_types::VersionStrings;
use revoker_plugin_api::abi_stable::type_layout::TypeLayout;
use revoker_plugin_api::module::earlier;
use revoker_plugin_api::{
    Manifest, PLUGIN_API_CRATE_VERSION, PLUGIN_API_VERSION, ProviderModuleRef,
};

use super::info::{
    ManifestError, PluginInfo, auth_of_manifest, check_auth, check_details, check_features,
    check_manifest,
};
use super::layout::first_difference;

/// Why a library is not a plugin this host can load. It crosses the pipe from
/// an isolated plugin's process, hence serializable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ModuleError {
    /// The system's loader refused it (not a library, a missing symbol, …).
    #[error("cannot load the library: {0}")]
    NotALibrary(String),
    /// A library, but no revoker plugin.
    #[error("not a revoker plugin (it exports no abi_stable root module)")]
    NotAPlugin,
    /// Built against another major version of the plugin API.
    #[error(
        "built for plugin API version {built_major} (revoker-plugin-api {built_version}), but \
         this revoker speaks version {ours} (revoker-plugin-api {ours_crate}): rebuild the \
         plugin against revoker-plugin-api {ours}.x",
        ours = PLUGIN_API_VERSION,
        ours_crate = PLUGIN_API_CRATE_VERSION,
    )]
    IncompatibleVersion {
        /// The major version it was built for, or `?`.
        built_major: String,
        /// The `revoker-plugin-api` version it was built against.
        built_version: String,
    },
    /// Its interface's layout is not this host's.
    #[error(
        "its plugin interface layout does not match this revoker's (plugin API version \
         {ours}, revoker-plugin-api {ours_crate}){}; rebuild the plugin against that version \
         (run with -vv for the full comparison)",
        first_difference.as_ref().map_or(String::new(), |d| format!("; first difference: {d}")),
        ours = PLUGIN_API_VERSION,
        ours_crate = PLUGIN_API_CRATE_VERSION,
    )]
    IncompatibleLayout {
        /// The first type and field that differ, e.g. ``type Outcome, field
        /// `kind`: expected OutcomeKind with 11 variants, found 12``.
        first_difference: Option<String>,
    },
    /// Another failure of the plugin interface (one line).
    #[error("{0}")]
    Interface(String),
    /// Its `manifest` function returned an error.
    #[error("its manifest failed: {0}")]
    ManifestFailed(String),
    /// Its manifest cannot be served.
    #[error(transparent)]
    BadManifest(#[from] ManifestError),
    /// Its `secret_params` function returned an error.
    #[error("its secret_params failed: {0}")]
    SecretParamsFailed(String),
    /// Its `auth` or `requires` function returned an error.
    #[error("its {function} failed: {why}")]
    Failed {
        /// The function.
        function: String,
        /// The error it returned.
        why: String,
    },
}

/// Why a library is refused, and the provider its manifest names if it was
/// read that far: someone calling that provider is told why it is not there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ModuleRefusal {
    /// Why.
    pub(crate) error: ModuleError,
    /// The provider it said it was, if it said.
    pub(crate) provider: Option<String>,
}

impl From<ModuleError> for ModuleRefusal {
    fn from(error: ModuleError) -> Self {
        Self {
            error,
            provider: None,
        }
    }
}

/// Loads the library at `path` and checks its plugin API version, its layout and
/// its manifest; returns its root module and what it says of itself.
///
/// # Errors
///
/// Why the library is refused.
pub(crate) fn load_module(path: &Path) -> Result<(ProviderModuleRef, PluginInfo), ModuleRefusal> {
    let (module, api_version) = open_module(path)?;
    let manifest = (module.manifest())()
        .into_result()
        .map_err(|e| ModuleError::ManifestFailed(e.to_string()))?;
    let provider = manifest.provider.to_string();
    match describe_module(module, manifest, api_version) {
        Ok(info) => Ok((module, info)),
        Err(error) => Err(ModuleRefusal {
            error,
            provider: Some(provider),
        }),
    }
}

/// Opens the library at `path` and checks its plugin API version and its
/// layout; returns its root module and the `revoker-plugin-api` version it
/// was built against.
fn open_module(path: &Path) -> Result<(ProviderModuleRef, String), ModuleError> {
    let header = lib_header_from_path(path).map_err(|e| match e {
        LibraryError::OpenError { .. } => ModuleError::NotALibrary(one_line(&e)),
        LibraryError::GetSymbolError { .. } => ModuleError::NotAPlugin,
        other => ModuleError::Interface(one_line(&other)),
    })?;

    let built_with = header.version_strings();
    let built_major = built_with
        .version
        .split('.')
        .next()
        .and_then(|major| major.parse::<u32>().ok());
    if built_major != Some(PLUGIN_API_VERSION) {
        return Err(ModuleError::IncompatibleVersion {
            built_major: built_major.map_or_else(|| "?".to_owned(), |v| v.to_string()),
            built_version: built_with.version.to_string(),
        });
    }

    let layout_mismatch = |details: &dyn std::fmt::Display| {
        tracing::debug!(plugin = %path.display(), "layout mismatch:\n{details}");
        ModuleError::IncompatibleLayout {
            first_difference: header
                .layout()
                .and_then(|found| first_difference(expected_layout(&built_with), found)),
        }
    };
    let module = match header.init_root_module::<ProviderModuleRef>() {
        Ok(module) => module,
        // Built against an earlier 1.x, with fewer functions: check it against
        // the layout it was built with.
        Err(LibraryError::AbiInstability(details)) => {
            header
                .ensure_layout::<earlier::v1_2::ProviderModuleRef>()
                .or_else(|_| header.ensure_layout::<earlier::v1_1::ProviderModuleRef>())
                .or_else(|_| header.ensure_layout::<earlier::v1_0::ProviderModuleRef>())
                .map_err(|_| layout_mismatch(&details))?;
            // SAFETY: the module has 1.2's, 1.1's or 1.0's layout, which is the current
            // one up to its last prefix field; the accessors of the fields added
            // since read the module's own field count and return `None` for them.
            unsafe { header.init_root_module_with_unchecked_layout::<ProviderModuleRef>() }
                .map_err(|e| ModuleError::Interface(one_line(&e)))?
        }
        Err(other) => return Err(ModuleError::Interface(one_line(&other))),
    };
    Ok((module, built_with.version.to_string()))
}

/// Checks what the module says of itself, from its `manifest`.
fn describe_module(
    module: ProviderModuleRef,
    manifest: Manifest,
    api_version: String,
) -> Result<PluginInfo, ModuleError> {
    // Added in plugin API 1.2: what it needs of the host first (an older
    // plugin needs nothing), then how its requests are authenticated (an older
    // plugin's manifest says it).
    if let Some(requires) = module.requires() {
        let required = requires().into_result().map_err(|e| ModuleError::Failed {
            function: "requires".to_owned(),
            why: e.to_string(),
        })?;
        check_features(&required)?;
    }
    let declared = match module.auth() {
        Some(auth) => auth()
            .into_result()
            .map_err(|e| ModuleError::Failed {
                function: "auth".to_owned(),
                why: e.to_string(),
            })?
            .into_option(),
        None => None,
    };
    let auth = declared.unwrap_or_else(|| auth_of_manifest(&manifest));
    check_manifest(&manifest)?;
    check_auth(&auth)?;
    let mut secret_params = BTreeMap::new();
    // Added in plugin API 1.1: a plugin built against 1.0 has no secret params.
    if let Some(declared) = module.secret_params() {
        for operation in manifest.operations.iter() {
            let names = declared(operation.name.as_rstr())
                .into_result()
                .map_err(|e| ModuleError::SecretParamsFailed(e.to_string()))?;
            if !names.is_empty() {
                let names = names.into_iter().map(String::from).collect();
                secret_params.insert(operation.name.to_string(), names);
            }
        }
    }
    // Added in plugin API 1.3: an earlier plugin's operations say nothing of
    // their request and travel one line a request.
    let mut details = BTreeMap::new();
    if let Some(declared) = module.details() {
        let declared = declared().into_result().map_err(|e| ModuleError::Failed {
            function: "details".to_owned(),
            why: e.to_string(),
        })?;
        for entry in declared {
            details.insert(entry.operation.to_string(), entry);
        }
    }
    check_details(&manifest, &details)?;
    Ok(PluginInfo {
        manifest,
        api_version,
        secret_params,
        auth,
        details,
    })
}

/// The root module's layout as of the minor version a plugin was built for:
/// the one it is checked against.
fn expected_layout(built_with: &VersionStrings) -> &'static TypeLayout {
    match built_with.version.split('.').nth(1).map(str::parse::<u32>) {
        Some(Ok(0)) => <earlier::v1_0::ProviderModuleRef as StableAbi>::LAYOUT,
        Some(Ok(1)) => <earlier::v1_1::ProviderModuleRef as StableAbi>::LAYOUT,
        Some(Ok(2)) => <earlier::v1_2::ProviderModuleRef as StableAbi>::LAYOUT,
        _ => <ProviderModuleRef as StableAbi>::LAYOUT,
    }
}

fn one_line(error: &dyn std::fmt::Display) -> String {
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
