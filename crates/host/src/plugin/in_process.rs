//! The in-process backend: a plugin library loaded into this process through
//! `abi_stable`, its version and layout checked.
//!
//! Each file is loaded with `lib_header_from_path(..)?.init_root_module()`, never
//! with `RootModule::load_from_*`, which keeps one module per root-module type
//! for the whole process and so would hand back the first plugin for every file.

use std::collections::BTreeMap;
use std::path::Path;

use revoker_plugin_api::abi_stable::library::{LibraryError, lib_header_from_path};
use revoker_plugin_api::module::earlier;
use revoker_plugin_api::{PLUGIN_API_CRATE_VERSION, PLUGIN_API_VERSION, ProviderModuleRef};

use super::info::{PluginInfo, check_manifest};

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
