//! The façade: [`Host`] and its builder. Loading, settings, planning, sending
//! and interpreting each live in their own module; this one puts them together.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::audit::AuditLog;
use crate::config::{Config, Rate};
use crate::error::{Error, Result};
use crate::load::{CredentialSource, Isolation, LoadOptions, Registry};
use crate::model::{Outcome, Request, RequestResult};
use crate::plan::{self, PlannedRequest};
use crate::plugin::info::Reserved;
use crate::provider::{FlowStatus, ProviderRuntime};
use crate::send::retry::RetryPolicy;
use crate::send::{Executor, HttpOptions, SendGate};
use crate::settings::{self, Overrides};

/// Builds a [`Host`]: where plugins are, which settings apply, where credentials
/// come from.
///
/// Settings are taken, most important first, from the builder's own calls, the
/// environment (with [`HostBuilder::with_env`]), the configuration file, and the
/// plugin's manifest.
#[derive(Default)]
pub struct HostBuilder {
    plugin_dirs: Vec<PathBuf>,
    fallback_plugin_dirs: Vec<PathBuf>,
    registry: Option<Registry>,
    config: Config,
    overrides: Overrides,
    max_attempts: Option<u32>,
    give_up_after: Option<Duration>,
    http: HttpOptions,
    retry: RetryPolicy,
    isolate_all: bool,
    plugin_runner: Option<PathBuf>,
    reserved: Reserved,
    audit: Option<Arc<AuditLog>>,
    /// Not [`HostBuilder::strict`]: the default is strict.
    lenient: bool,
    /// Not [`HostBuilder::require_plugins`]: the default requires them.
    allow_no_plugins: bool,
}

impl fmt::Debug for HostBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostBuilder")
            .field("plugin_dirs", &self.plugin_dirs)
            .field("fallback_plugin_dirs", &self.fallback_plugin_dirs)
            .field("env", &self.overrides.env)
            .field(
                "credentials_for",
                &self.overrides.credentials.keys().collect::<Vec<_>>(),
            )
            .field("base_urls", &self.overrides.base_urls)
            .finish_non_exhaustive()
    }
}

impl HostBuilder {
    /// Searches `dir` for plugins, before any directory from the environment or the
    /// configuration file.
    #[must_use]
    pub fn plugin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.plugin_dirs.push(dir.into());
        self
    }

    /// Searches `dir` for plugins after every other directory (the CLI passes the
    /// directory of the `revoker` binary).
    #[must_use]
    pub fn fallback_plugin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.fallback_plugin_dirs.push(dir.into());
        self
    }

    /// Uses plugins already loaded (from [`HostBuilder::plugin_search_path`])
    /// instead of loading them in [`HostBuilder::build`].
    #[must_use]
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The directories searched for plugins, in order: those given with
    /// [`HostBuilder::plugin_dir`], `REVOKER_PLUGIN_PATH` (with
    /// [`HostBuilder::with_env`]), the configuration file's `plugin_dirs`, and
    /// the fallback directories.
    pub fn plugin_search_path(&self) -> Vec<PathBuf> {
        let mut dirs = self.plugin_dirs.clone();
        if let Some(path) = std::env::var_os("REVOKER_PLUGIN_PATH").filter(|_| self.overrides.env) {
            dirs.extend(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()));
        }
        dirs.extend(self.config.plugin_dirs.iter().cloned());
        dirs.extend(self.fallback_plugin_dirs.iter().cloned());
        dirs
    }

    /// How plugins are loaded: the config's allowlist and which plugins run
    /// isolated.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            pins: self.config.plugin_pins(),
            isolation: Isolation {
                all: self.isolate_all,
                providers: self
                    .config
                    .providers
                    .iter()
                    .filter(|(_, provider)| provider.isolate)
                    .map(|(name, _)| name.clone())
                    .collect(),
                runner: self.plugin_runner.clone(),
                timeout: self
                    .config
                    .plugin_timeout_secs
                    .map_or(Isolation::default().timeout, Duration::from_secs),
            },
            reserved: self.reserved.clone(),
            credential_sources: self
                .config
                .providers
                .iter()
                .filter_map(|(name, provider)| {
                    let source = configured_source(
                        provider.credential_file.as_deref(),
                        provider.credential_env.as_deref(),
                    )?;
                    Some((name.clone(), source))
                })
                .collect(),
            part_sources: self
                .config
                .providers
                .iter()
                .flat_map(|(name, provider)| {
                    provider
                        .credential_parts
                        .iter()
                        .filter_map(|(part, config)| {
                            let source =
                                configured_source(config.file.as_deref(), config.env.as_deref())?;
                            Some(((name.clone(), part.clone()), source))
                        })
                })
                .collect(),
        }
    }

    /// Runs every plugin in a child process (see [`crate::isolate`]).
    #[must_use]
    pub fn isolate_all(mut self, isolate: bool) -> Self {
        self.isolate_all = isolate;
        self
    }

    /// The program that runs isolated plugins: one whose `main` calls
    /// [`crate::serve_plugin_runner_if_asked`] first thing (the `revoker`
    /// binary does). Without one, isolation is refused: a host never re-runs
    /// the program that embeds it unless told to. For a program that hands
    /// off to itself:
    ///
    /// ```no_run
    /// // First thing in `main`:
    /// if let Some(code) = revoker_host::serve_plugin_runner_if_asked() {
    ///     std::process::exit(code);
    /// }
    /// let host = revoker_host::Host::builder()
    ///     .isolate_all(true)
    ///     .plugin_runner(std::env::current_exe().unwrap())
    ///     .build();
    /// ```
    #[must_use]
    pub fn plugin_runner(mut self, exe: impl Into<PathBuf>) -> Self {
        self.plugin_runner = Some(exe.into());
        self
    }

    /// Refuses plugins that take one of these names (a CLI's own commands and
    /// flags).
    #[must_use]
    pub fn reserved(mut self, reserved: Reserved) -> Self {
        self.reserved = reserved;
        self
    }

    /// Whether [`HostBuilder::build`] refuses what is most likely a mistake: a
    /// plugin directory (given here, in `REVOKER_PLUGIN_PATH` or in the config
    /// file) that does not exist, and settings (a credential, a base URL, a
    /// rate, a config file section) for a provider no loaded plugin provides.
    ///
    /// On by default: a misspelt provider name or a missing plugin would
    /// otherwise apply nothing, silently, and a responder would learn it only
    /// when the keys were not revoked. Directories added with
    /// [`HostBuilder::fallback_plugin_dir`] may be missing either way.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.lenient = !strict;
        self
    }

    /// Whether [`HostBuilder::build`] fails when no plugin at all is loaded
    /// ([`Error::NoPlugins`], naming the directories searched).
    ///
    /// On by default: a host without plugins can revoke nothing, and every
    /// request would fail as an unknown provider (a binary copied without its
    /// plugin files, say). Turn it off to build a host that only lists or
    /// reports.
    #[must_use]
    pub fn require_plugins(mut self, require: bool) -> Self {
        self.allow_no_plugins = !require;
        self
    }

    /// Allows `http://` base URLs that are not on loopback.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.overrides.allow_insecure_http = allow;
        self
    }

    /// Records every request sent in `audit`.
    #[must_use]
    pub fn audit(mut self, audit: AuditLog) -> Self {
        self.audit = Some(Arc::new(audit));
        self
    }

    /// Uses the settings of a configuration file.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Reads the environment too: plugin directories from `REVOKER_PLUGIN_PATH`,
    /// base URLs from `REVOKER_<PROVIDER>_BASE_URL`, and each credential from its
    /// variable (`PINATA_JWT`, … or the config file's `credential_env`).
    #[must_use]
    pub fn with_env(mut self) -> Self {
        self.overrides.env = true;
        self
    }

    /// Uses `credential` for `provider`, whatever the environment says: its
    /// first part, for a credential in several parts.
    #[must_use]
    pub fn credential(mut self, provider: &str, credential: SecretString) -> Self {
        self.overrides
            .credentials
            .insert(provider.to_owned(), credential);
        self
    }

    /// Uses `value` for the part `part` of `provider`'s credential (e.g.
    /// `secret-access-key`), whatever the environment says.
    #[must_use]
    pub fn credential_part(mut self, provider: &str, part: &str, value: SecretString) -> Self {
        self.overrides
            .credential_parts
            .insert((provider.to_owned(), part.to_owned()), value);
        self
    }

    /// Sends `provider`'s requests to `base_url`.
    #[must_use]
    pub fn base_url(mut self, provider: &str, base_url: &str) -> Self {
        self.overrides
            .base_urls
            .insert(provider.to_owned(), base_url.to_owned());
        self
    }

    /// Keeps `provider` to `rate`.
    #[must_use]
    pub fn rate(mut self, provider: &str, rate: Rate) -> Self {
        self.overrides.rates.insert(provider.to_owned(), rate);
        self
    }

    /// Tries an idempotent request at most `attempts` times (from 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts.max(1));
        self
    }

    /// Gives up on a request only once its provider has been throttling with
    /// no progress for `patience` (default 5 minutes): until then a throttled
    /// request waits for its provider and goes again, using up no attempt.
    #[must_use]
    pub fn give_up_after(mut self, patience: Duration) -> Self {
        self.give_up_after = Some(patience);
        self
    }

    /// Sets the HTTP timeouts and body limit.
    #[must_use]
    pub fn http_options(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Sets the retry policy's delays (`max_attempts` is kept from
    /// [`HostBuilder::max_attempts`] or the config file when set there).
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Loads the plugins and resolves every provider's settings.
    ///
    /// Plugins that cannot be loaded do not fail the build: they are listed in
    /// [`Registry::refusals`].
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a setting that is invalid (a base URL, a credential
    /// that cannot be sent, an audit log that cannot be opened) or, when
    /// [`strict`](HostBuilder::strict), a missing plugin directory or a setting
    /// for a provider that is not loaded; [`Error::UnsafeFile`] for an audit log
    /// that is not safe to write; [`Error::NoPlugins`] when no plugin is loaded
    /// (unless allowed with [`HostBuilder::require_plugins`]);
    /// [`Error::HttpClient`] if the client cannot be built.
    pub fn build(mut self) -> Result<Host> {
        if !self.lenient {
            self.check_plugin_dirs()?;
        }
        let registry = match self.registry.take() {
            Some(registry) => registry,
            None => Registry::load(&self.plugin_search_path(), &self.load_options()),
        };
        if registry.plugins().is_empty() && !self.allow_no_plugins {
            return Err(Error::NoPlugins {
                searched: self.plugin_search_path(),
                refused: registry.refusals().len(),
            });
        }
        if !self.lenient {
            self.check_settings_name_loaded_providers(&registry)?;
        }

        let http = HttpOptions {
            connect_timeout: self
                .config
                .http
                .connect_timeout_secs
                .map_or(self.http.connect_timeout, Duration::from_secs),
            request_timeout: self
                .config
                .http
                .request_timeout_secs
                .map_or(self.http.request_timeout, Duration::from_secs),
            ..self.http
        };
        let retry = RetryPolicy {
            max_attempts: self
                .max_attempts
                .or(self.config.http.max_attempts)
                .unwrap_or(self.retry.max_attempts),
            give_up_after: self
                .give_up_after
                .or(self.config.http.give_up_after_secs.map(Duration::from_secs))
                .unwrap_or(self.retry.give_up_after),
            ..self.retry
        };
        let providers = settings::resolve(
            &registry,
            &self.config,
            &self.overrides,
            retry.max_retry_after,
        )?;
        let audit = match (self.audit.take(), &self.config.audit) {
            (Some(audit), _) => Some(audit),
            (None, Some(path)) => Some(Arc::new(
                AuditLog::open(path, self.config.audit_required).map_err(|source| {
                    match crate::files::UnsafeFile::of(&source) {
                        Some(refused) => Error::UnsafeFile {
                            role: "audit log",
                            source: refused.clone(),
                        },
                        None => Error::config(
                            format!("audit log {}", path.display()),
                            source.to_string(),
                        ),
                    }
                })?,
            )),
            (None, None) => None,
        };
        let proxy = self.checked_proxy(&providers)?;
        let executor = Executor::new(http, retry, audit, proxy);
        Ok(Host(Arc::new(Inner {
            registry,
            providers,
            executor,
        })))
    }
}

impl HostBuilder {
    /// Every plugin directory asked for (not the fallbacks) exists.
    fn check_plugin_dirs(&self) -> Result<()> {
        let fallbacks = &self.fallback_plugin_dirs;
        let asked = self.plugin_search_path();
        match asked
            .iter()
            .filter(|dir| !fallbacks.contains(dir))
            .find(|dir| !dir.is_dir())
        {
            Some(dir) => Err(Error::config(
                format!("plugin directory {}", dir.display()),
                "does not exist or is not a directory: create it, or fix the path",
            )),
            None => Ok(()),
        }
    }

    /// The configured proxy, checked: a proxy reached over plain http sees
    /// the credential of every http:// request, so the https-off-loopback rule
    /// applies to it too.
    fn checked_proxy(
        &self,
        providers: &HashMap<String, ProviderRuntime>,
    ) -> Result<Option<reqwest::Url>> {
        let Some(text) = &self.config.http.proxy else {
            return Ok(None);
        };
        let source = "http.proxy in the config file";
        let proxy = crate::outbound::check_base_url(text)
            .map_err(|e| Error::config(source, e.replace("base URL", "proxy URL")))?;
        let cleartext = providers
            .values()
            .any(|provider| provider.base_url().scheme() == "http");
        let allowed = self.overrides.allow_insecure_http || self.config.http.allow_insecure_http;
        if cleartext && !allowed {
            crate::outbound::require_https_off_loopback(proxy.clone()).map_err(|_| {
                Error::config(
                    source,
                    format!(
                        "proxy {} is reached over plain http off loopback, and a provider's \
                         base URL is http://: its credential would cross the network in the \
                         clear (use an https proxy, or pass --allow-insecure-http)",
                        crate::text::redact_url(text)
                    ),
                )
            })?;
        }
        Ok(Some(proxy))
    }

    /// Every provider named in a setting is loaded.
    fn check_settings_name_loaded_providers(&self, registry: &Registry) -> Result<()> {
        let named = [
            (
                "a credential given to the host",
                self.overrides
                    .credentials
                    .keys()
                    .chain(self.overrides.credential_parts.keys().map(|(p, _)| p))
                    .collect::<Vec<_>>(),
            ),
            (
                "a base URL given to the host",
                self.overrides.base_urls.keys().collect(),
            ),
            (
                "a rate given to the host",
                self.overrides.rates.keys().collect(),
            ),
            (
                "a [providers.NAME] section of the config file",
                self.config
                    .providers
                    .iter()
                    // A pin alone says which file may load; a pinned plugin
                    // that was refused is already a warning of its own.
                    .filter(|(_, settings)| settings.has_settings_besides_pin())
                    .map(|(name, _)| name)
                    .collect(),
            ),
        ];
        for (source, providers) in named {
            if let Some(provider) = providers.iter().find(|p| registry.get(p).is_none()) {
                return Err(Error::config(
                    source,
                    format!(
                        "names provider {provider:?}, which no loaded plugin provides \
                         (loaded: {}): fix the name or install its plugin",
                        registry.provider_names()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The host: plugins loaded, providers configured, one HTTP client.
///
/// Cheap to clone (the clones share everything): hand one to each task.
#[derive(Debug, Clone)]
pub struct Host(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    providers: HashMap<String, ProviderRuntime>,
    executor: Executor,
}

impl Host {
    /// A builder with no plugin directories, no config and no environment.
    ///
    /// ```
    /// use revoker_host::{Error, Host, Params, Request};
    ///
    /// let empty = tempfile::tempdir().unwrap();
    /// let builder = Host::builder().plugin_dir(empty.path());
    /// assert!(matches!(builder.build(), Err(Error::NoPlugins { .. })));
    ///
    /// let host = Host::builder()
    ///     .plugin_dir(empty.path())
    ///     .require_plugins(false)
    ///     .build()
    ///     .unwrap();
    /// assert!(host.registry().plugins().is_empty());
    /// let request = Request::new("dolfin", "revoke-api-key", Params::new());
    /// assert!(matches!(host.plan(&request), Err(Error::UnknownProvider { .. })));
    /// ```
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// The loaded plugins and the refused ones.
    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// The provider called `name`, with its settings.
    pub fn provider(&self, name: &str) -> Option<&ProviderRuntime> {
        self.0.providers.get(name)
    }

    /// Whether any provider has a rate or concurrency limit of its own.
    pub fn has_provider_limits(&self) -> bool {
        self.0.providers.values().any(ProviderRuntime::is_limited)
    }

    /// Up to how many lines of `operation` of `provider` travel in one request:
    /// 1 unless its plugin batches it.
    pub fn batch_size(&self, provider: &str, operation: &str) -> usize {
        self.0
            .providers
            .get(provider)
            .map_or(1, |p| p.plugin().batch_size(operation))
    }

    /// The largest batch any operation of any provider takes (1 if none is
    /// batched).
    pub fn largest_batch(&self) -> usize {
        self.0
            .providers
            .values()
            .flat_map(|p| {
                let plugin = p.plugin();
                plugin
                    .manifest()
                    .operations
                    .iter()
                    .map(|op| plugin.batch_size(&op.name))
                    .collect::<Vec<_>>()
            })
            .max()
            .unwrap_or(1)
    }

    /// Why the audit log could not record an entry, if it could not: once it
    /// happens with a required log nothing more is sent, and a caller that got
    /// a result should still report the run as failed (`revoker` exits 3).
    pub fn audit_failure(&self) -> Option<&crate::error::AuditError> {
        self.0.executor.audit().and_then(AuditLog::failure)
    }

    /// Whether the audit log is required: nothing is sent that it has not
    /// recorded first.
    pub fn audit_required(&self) -> bool {
        self.0.executor.audit().is_some_and(AuditLog::is_required)
    }

    /// What each provider's flow controller says now (its rate, how often it
    /// was throttled), by provider name.
    pub fn flow_status(&self) -> Vec<(String, FlowStatus)> {
        let mut status: Vec<(String, FlowStatus)> = self
            .0
            .providers
            .iter()
            .map(|(name, provider)| (name.clone(), provider.flow_status()))
            .collect();
        status.sort_by(|a, b| a.0.cmp(&b.0));
        status
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.0.executor.policy()
    }

    /// The audit log every request sent is recorded in, if there is one.
    pub fn audit_log(&self) -> Option<&AuditLog> {
        self.0.executor.audit()
    }

    /// Validates `request` and has its plugin plan it; sends nothing.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownProvider`], [`Error::UnknownOperation`] or
    /// [`Error::InvalidParams`] for a bad request; [`Error::PluginRefused`] for
    /// a provider whose plugin file was refused; [`Error::PluginFailed`] if the
    /// plugin failed or planned a request the host refuses to send.
    pub fn plan(&self, request: &Request) -> Result<PlannedRequest> {
        self.plan_request(request.clone())
            .map_err(|failed| failed.1)
    }

    /// [`Host::plan`], taking the request, and giving it back with an error.
    pub(crate) fn plan_request(
        &self,
        request: Request,
    ) -> Result<PlannedRequest, Box<(Request, Error)>> {
        match self.0.providers.get(&request.provider) {
            Some(provider) => plan::plan(provider, request),
            None => {
                let registry = &self.0.registry;
                let error =
                    registry
                        .refused(&request.provider)
                        .unwrap_or_else(|| Error::UnknownProvider {
                            provider: request.provider.clone(),
                            loaded: registry.provider_names(),
                        });
                Err(Box::new((request, error)))
            }
        }
    }

    /// Plans and sends `request`, retrying as the policy allows, and has the
    /// plugin interpret the answer.
    ///
    /// A plugin that fails, or plans a request the host refuses to send, is not
    /// an error here: it gives a `plugin-error` result, nothing sent.
    ///
    /// # Errors
    ///
    /// A bad request or a refused plugin (see [`Host::plan`]), or
    /// [`Error::MissingCredential`]: in either case nothing was sent.
    #[tracing::instrument(skip_all, fields(provider = %request.provider, operation = %request.operation))]
    pub async fn execute(&self, request: &Request) -> Result<RequestResult> {
        match self.plan(request) {
            Ok(planned) => {
                let result = self.send_gated(planned, SendGate::default()).await?;
                Ok(result.expect("an ungated request is never abandoned"))
            }
            Err(error @ Error::PluginFailed { .. }) => Ok(RequestResult::unsent(
                &self.redact(request.clone()),
                Outcome::PluginError,
                error.to_string(),
            )),
            Err(error) => Err(error),
        }
    }

    /// Sends a planned request and interprets the answer.
    ///
    /// # Errors
    ///
    /// [`Error::MissingCredential`] if the provider's credential is not set,
    /// [`Error::HttpClient`] if the HTTP client cannot be set up: in either case
    /// nothing was sent.
    pub async fn send(&self, planned: &PlannedRequest) -> Result<RequestResult> {
        let result = self
            .send_gated(planned.clone(), SendGate::default())
            .await?;
        Ok(result.expect("an ungated request is never abandoned"))
    }

    /// Sends a planned request within `gate`; `Ok(None)` if the gate abandoned it
    /// before it was sent.
    pub(crate) async fn send_gated(
        &self,
        planned: PlannedRequest,
        gate: SendGate<'_>,
    ) -> Result<Option<RequestResult>> {
        let provider = self
            .0
            .providers
            .get(&planned.request.provider)
            .expect("planned by this host");
        self.0.executor.send(planned, provider, gate).await
    }

    /// Plans one request for `lines` of a batched operation, each planned
    /// alone before; `numbers` are their line numbers, which name the batch in
    /// the audit log.
    pub(crate) fn plan_batch(
        &self,
        lines: &[PlannedRequest],
        numbers: &[u64],
    ) -> std::result::Result<PlannedRequest, crate::plan::BatchPlanError> {
        let provider = self
            .0
            .providers
            .get(&lines.first().expect("a batch has a line").request.provider)
            .expect("planned by this host");
        crate::plan::plan_batch(provider, lines, numbers)
    }

    /// Sends a batch within `gate`: a result per line of `lines`, in order,
    /// and whether the batch is to be split (refused as a whole as invalid);
    /// `Ok(None)` if the gate abandoned it before it was sent.
    pub(crate) async fn send_batch_gated(
        &self,
        batch: PlannedRequest,
        lines: &[PlannedRequest],
        gate: SendGate<'_>,
    ) -> Result<Option<(Vec<RequestResult>, bool)>> {
        let provider = self
            .0
            .providers
            .get(&batch.request.provider)
            .expect("planned by this host");
        self.0
            .executor
            .send_batch(batch, lines, provider, gate)
            .await
    }

    /// `request` as it may be shown or recorded: the values of its operation's
    /// secret parameters `<redacted>`.
    pub fn redact(&self, mut request: Request) -> Request {
        if let Some(secret) = self
            .0
            .providers
            .get(&request.provider)
            .and_then(|provider| provider.plugin().secret_params(&request.operation))
        {
            request.params = crate::plan::shown_params(&request.params, secret);
        }
        request
    }

    /// Checks that `provider`'s credential is set.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownProvider`], or [`Error::MissingCredential`] naming the
    /// variable to set.
    pub fn require_credential(&self, provider: &str) -> Result<()> {
        let runtime = self
            .0
            .providers
            .get(provider)
            .ok_or_else(|| Error::UnknownProvider {
                provider: provider.to_owned(),
                loaded: self.0.registry.provider_names(),
            })?;
        runtime.require_credential().map(|_| ())
    }
}

/// Where the config file says a credential (or one part of it) comes from: a
/// file (canonical, so that two spellings of one file are one source), which
/// beats a variable; `None` if it says neither.
fn configured_source(
    file: Option<&std::path::Path>,
    env: Option<&str>,
) -> Option<CredentialSource> {
    match (file, env) {
        (Some(file), _) => Some(CredentialSource::File(
            file.canonicalize().unwrap_or_else(|_| file.to_owned()),
        )),
        (None, Some(env)) => Some(CredentialSource::Env(env.to_owned())),
        (None, None) => None,
    }
}
