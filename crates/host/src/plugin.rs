//! One loaded provider plugin, and the calls into it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use revoker_plugin_api::abi_stable::std_types::{RResult, RStr};
use revoker_plugin_api::{
    HttpRequest, HttpResponse, Manifest, OperationSpec, Outcome, Params, PluginError,
    PluginErrorKind, ProviderModuleRef,
};

/// A provider plugin the host has loaded and checked.
pub struct Plugin {
    path: PathBuf,
    module: ProviderModuleRef,
    manifest: Manifest,
    /// Set when the plugin panicked or failed: it is not called again.
    disabled: OnceLock<String>,
}

/// Why a call into a plugin gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginCallError {
    /// The request is invalid: the user's fault, nothing was sent.
    Invalid(PluginError),
    /// The plugin failed (it panicked, or it was disabled after an earlier
    /// failure): not the user's fault; the message names the plugin.
    Failed(String),
}

impl fmt::Display for PluginCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(error) => error.fmt(f),
            Self::Failed(message) => f.write_str(message),
        }
    }
}

impl Plugin {
    pub(crate) fn new(path: PathBuf, module: ProviderModuleRef, manifest: Manifest) -> Self {
        Self {
            path,
            module,
            manifest,
            disabled: OnceLock::new(),
        }
    }

    /// The file the plugin was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The provider's name.
    pub fn provider(&self) -> &str {
        &self.manifest.provider
    }

    /// The operation called `name`.
    pub fn operation(&self, name: &str) -> Option<&OperationSpec> {
        self.manifest.find_operation(name)
    }

    /// Why the plugin is no longer called, if it failed earlier.
    pub fn disabled_reason(&self) -> Option<&str> {
        self.disabled.get().map(String::as_str)
    }

    /// Calls the plugin's `plan`.
    ///
    /// # Errors
    ///
    /// [`PluginCallError::Invalid`] for a bad request, [`PluginCallError::Failed`]
    /// if the plugin failed (and is now disabled) or was disabled before.
    pub fn plan(&self, operation: &str, params: &Params) -> Result<HttpRequest, PluginCallError> {
        self.call(|| (self.module.plan())(RStr::from(operation), params))
    }

    /// Calls the plugin's `interpret`.
    ///
    /// # Errors
    ///
    /// [`PluginCallError::Failed`] if the plugin failed or was disabled before.
    pub fn interpret(
        &self,
        operation: &str,
        params: &Params,
        response: &HttpResponse,
    ) -> Result<Outcome, PluginCallError> {
        self.call(|| (self.module.interpret())(RStr::from(operation), params, response))
    }

    fn call<T>(&self, f: impl FnOnce() -> RResult<T, PluginError>) -> Result<T, PluginCallError> {
        if let Some(reason) = self.disabled_reason() {
            return Err(PluginCallError::Failed(reason.to_owned()));
        }
        match f().into_result() {
            Ok(value) => Ok(value),
            Err(error) if error.kind == PluginErrorKind::InvalidParam => {
                Err(PluginCallError::Invalid(error))
            }
            Err(error) if error.kind == PluginErrorKind::UnknownOperation => {
                // The host only calls operations the manifest lists.
                Err(self.disable(format!(
                    "does not know an operation its manifest lists: {error}"
                )))
            }
            Err(error) => Err(self.disable(error.to_string())),
        }
    }

    fn disable(&self, why: String) -> PluginCallError {
        let reason = self.disabled.get_or_init(|| {
            let reason = format!(
                "plugin {} ({}) failed and is disabled for this run: {why}",
                self.provider(),
                self.path.display()
            );
            tracing::error!("{reason}");
            reason
        });
        PluginCallError::Failed(reason.clone())
    }
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("provider", &self.manifest.provider)
            .field("version", &self.manifest.version)
            .field("path", &self.path)
            .field("disabled", &self.disabled.get())
            .finish_non_exhaustive()
    }
}
