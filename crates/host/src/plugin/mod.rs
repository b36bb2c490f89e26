//! One loaded provider plugin, and the calls into it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use revoker_plugin_api::abi_stable::std_types::{RResult, RSlice, RStr, RVec};
use revoker_plugin_api::{
    Auth, HttpRequest, HttpResponse, Manifest, OperationDetails, OperationSpec, Outcome, Params,
    PluginError, PluginErrorKind, ProviderModuleRef, Resolution,
};

pub(crate) mod image;
pub(crate) mod in_process;
pub(crate) mod info;
pub mod isolated;
mod layout;

use self::info::PluginInfo;
use self::isolated::{Answer, Call, Runner};

/// Where a plugin's code runs.
pub(crate) enum Backend {
    /// Loaded into this process: fast; a crash in it is a crash of the host.
    InProcess(ProviderModuleRef),
    /// In a child process: a crash costs one call.
    Isolated(Runner),
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InProcess(_) => f.write_str("InProcess"),
            Self::Isolated(runner) => f.debug_tuple("Isolated").field(runner).finish(),
        }
    }
}

/// A provider plugin the host has loaded and checked.
pub struct Plugin {
    path: PathBuf,
    /// Of the bytes loaded: when pinned, at load; else when first asked.
    sha256: OnceLock<String>,
    /// The bytes loaded (on Linux a sealed copy, or the checked file's own
    /// handle), to hash when asked.
    image: image::Image,
    manifest: Manifest,
    api_version: String,
    secret_params: BTreeMap<String, Arc<[String]>>,
    auth: Auth,
    details: BTreeMap<String, OperationDetails>,
    backend: Backend,
    /// Set when an in-process plugin panicked or failed: it is not called again.
    disabled: OnceLock<String>,
}

/// Why a call into a plugin gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginCallError {
    /// The request is invalid: the user's fault, nothing was sent.
    Invalid(PluginError),
    /// The plugin failed (it panicked or crashed, or it was disabled after an
    /// earlier failure): not the user's fault; the message names the plugin.
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
    pub(crate) fn new(
        path: PathBuf,
        sha256: Option<String>,
        image: image::Image,
        info: PluginInfo,
        backend: Backend,
    ) -> Self {
        Self {
            path,
            sha256: sha256.map(OnceLock::from).unwrap_or_default(),
            image,
            manifest: info.manifest,
            api_version: info.api_version,
            auth: info.auth,
            details: info.details,
            secret_params: info
                .secret_params
                .into_iter()
                .map(|(operation, names)| (operation, names.into()))
                .collect(),
            backend,
            disabled: OnceLock::new(),
        }
    }

    /// The `revoker-plugin-api` version the plugin was built against.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// How its provider's requests are authenticated.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The parameters of `operation` whose values are secrets.
    pub fn secret_params(&self, operation: &str) -> Option<&Arc<[String]>> {
        self.secret_params.get(operation)
    }

    /// What `operation` sends and how its lines travel, if the plugin says
    /// (plugin API 1.3).
    pub fn details(&self, operation: &str) -> Option<&OperationDetails> {
        self.details.get(operation)
    }

    /// Up to how many lines of `operation` travel in one request (1 unless the
    /// plugin batches it).
    pub fn batch_size(&self, operation: &str) -> usize {
        self.details(operation)
            .filter(|d| d.is_batched())
            .map_or(1, |d| d.batch as usize)
    }

    /// Whether a success answer to `operation` means only "accepted".
    pub fn is_asynchronous(&self, operation: &str) -> bool {
        self.details(operation).is_some_and(|d| d.asynchronous)
    }

    /// The file the plugin was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The plugin's SHA-256, lowercase hex, of the bytes loaded: for a pinned
    /// plugin computed at load, of its sealed copy; else when first asked
    /// (hashing every plugin at every start would cost more than the rest of
    /// the start), of its sealed copy or, loaded from the checked file itself,
    /// of that file (which only its owner or root can change).
    pub fn sha256(&self) -> &str {
        self.sha256.get_or_init(|| {
            crate::files::sha256_of_file(&self.image.load_path())
                .unwrap_or_else(|e| format!("(cannot read {}: {e})", self.path.display()))
        })
    }

    /// Whether the plugin runs in a child process.
    pub fn is_isolated(&self) -> bool {
        matches!(self.backend, Backend::Isolated(_))
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
    /// if the plugin failed or was disabled before.
    pub fn plan(&self, operation: &str, params: &Params) -> Result<HttpRequest, PluginCallError> {
        match &self.backend {
            Backend::InProcess(module) => {
                self.call(|| (module.plan())(RStr::from(operation), params))
            }
            Backend::Isolated(runner) => {
                let call = Call::Plan {
                    operation: operation.to_owned(),
                    params: params.clone(),
                };
                match self.call_isolated(runner, &call)? {
                    Answer::Plan(result) => self.isolated_result(result),
                    _ => Err(self.unexpected_answer()),
                }
            }
        }
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
        match &self.backend {
            Backend::InProcess(module) => {
                self.call(|| (module.interpret())(RStr::from(operation), params, response))
            }
            Backend::Isolated(runner) => {
                let call = Call::Interpret {
                    operation: operation.to_owned(),
                    params: params.clone(),
                    response: response.clone(),
                };
                match self.call_isolated(runner, &call)? {
                    Answer::Interpret(result) => self.isolated_result(result),
                    _ => Err(self.unexpected_answer()),
                }
            }
        }
    }

    /// Calls the plugin's `plan_batch`, for the lines `items` of a batched
    /// operation.
    ///
    /// # Errors
    ///
    /// As [`Plugin::plan`].
    pub fn plan_batch(
        &self,
        operation: &str,
        items: &[Params],
    ) -> Result<HttpRequest, PluginCallError> {
        match &self.backend {
            Backend::InProcess(module) => self.call(|| match module.plan_batch() {
                Some(f) => f(RStr::from(operation), RSlice::from(items)),
                None => RResult::RErr(PluginError::internal("it exports no plan_batch")),
            }),
            Backend::Isolated(runner) => {
                let call = Call::PlanBatch {
                    operation: operation.to_owned(),
                    items: items.to_vec(),
                };
                match self.call_isolated(runner, &call)? {
                    Answer::PlanBatch(result) => self.isolated_result(result),
                    _ => Err(self.unexpected_answer()),
                }
            }
        }
    }

    /// Calls the plugin's `interpret_batch`: one outcome for every line of the
    /// batch, or one per line.
    ///
    /// # Errors
    ///
    /// [`PluginCallError::Failed`] if the plugin failed, was disabled before,
    /// or gave neither one outcome nor one per line.
    pub fn interpret_batch(
        &self,
        operation: &str,
        items: &[Params],
        response: &HttpResponse,
    ) -> Result<Vec<Outcome>, PluginCallError> {
        let outcomes = match &self.backend {
            Backend::InProcess(module) => self
                .call(|| match module.interpret_batch() {
                    Some(f) => f(RStr::from(operation), RSlice::from(items), response),
                    None => RResult::RErr(PluginError::internal("it exports no interpret_batch")),
                })
                .map(RVec::into_vec)?,
            Backend::Isolated(runner) => {
                let call = Call::InterpretBatch {
                    operation: operation.to_owned(),
                    items: items.to_vec(),
                    response: response.clone(),
                };
                match self.call_isolated(runner, &call)? {
                    Answer::InterpretBatch(result) => self.isolated_result(result)?,
                    _ => return Err(self.unexpected_answer()),
                }
            }
        };
        if outcomes.len() == 1 || outcomes.len() == items.len() {
            Ok(outcomes)
        } else {
            Err(PluginCallError::Failed(format!(
                "plugin {} gave {} outcomes for a batch of {} lines (one, or one a line)",
                self.provider(),
                outcomes.len(),
                items.len()
            )))
        }
    }

    /// Calls the plugin's `resolve`: what it makes of a secret a scanner found
    /// (`None` if it is not its provider's, or the plugin resolves nothing).
    ///
    /// # Errors
    ///
    /// [`PluginCallError::Failed`] if the plugin failed or was disabled before.
    pub fn resolve(
        &self,
        secret: &str,
        hint: &str,
        context: &Params,
    ) -> Result<Option<Resolution>, PluginCallError> {
        // A failure's own words may hold the secret (a panic's message
        // quoting it): they are never shown, logged or kept.
        const FAILED: &str = "its resolve failed (what it said is withheld: it may hold the \
                              secret it was given)";
        match &self.backend {
            Backend::InProcess(module) => match module.resolve() {
                None => Ok(None),
                Some(f) => {
                    if let Some(reason) = self.disabled_reason() {
                        return Err(PluginCallError::Failed(reason.to_owned()));
                    }
                    match f(RStr::from(secret), RStr::from(hint), context).into_result() {
                        Ok(resolution) => Ok(resolution.into()),
                        Err(_) => Err(self.disable(FAILED.to_owned())),
                    }
                }
            },
            Backend::Isolated(runner) => {
                let call = Call::Resolve {
                    secret: secret.to_owned(),
                    hint: hint.to_owned(),
                    context: context.clone(),
                };
                match self.call_isolated(runner, &call)? {
                    Answer::Resolve(Ok(resolution)) => Ok(resolution),
                    Answer::Resolve(Err(_)) => Err(PluginCallError::Failed(format!(
                        "plugin {} (isolated): {FAILED}",
                        self.provider()
                    ))),
                    _ => Err(self.unexpected_answer()),
                }
            }
        }
    }

    /// An isolated call: a crashed child fails this call only.
    fn call_isolated(&self, runner: &Runner, call: &Call) -> Result<Answer, PluginCallError> {
        if let Some(reason) = self.disabled_reason() {
            return Err(PluginCallError::Failed(reason.to_owned()));
        }
        match runner.call(call) {
            Ok(Answer::LoadFailed(why)) => {
                Err(self.disable(format!("cannot load it: {}", why.error)))
            }
            Ok(answer) => Ok(answer),
            Err(why) => Err(PluginCallError::Failed(why.to_string())),
        }
    }

    /// An isolated plugin's answer: a failure (a panic, say) costs that call
    /// only, since each call stands alone in the child.
    fn isolated_result<T>(&self, result: Result<T, PluginError>) -> Result<T, PluginCallError> {
        result.map_err(|error| match error.kind {
            PluginErrorKind::InvalidParam => PluginCallError::Invalid(error),
            _ => PluginCallError::Failed(format!(
                "plugin {} (isolated) failed: {error}",
                self.provider()
            )),
        })
    }

    fn unexpected_answer(&self) -> PluginCallError {
        self.disable("its process answered another call than the one asked".into())
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
            .field("sha256", &self.sha256.get())
            .field("isolated", &self.is_isolated())
            .field("disabled", &self.disabled.get())
            .finish_non_exhaustive()
    }
}
