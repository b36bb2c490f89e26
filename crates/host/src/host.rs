//! The host: loaded plugins with their settings, planning and sending requests.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};
use revoker_plugin_api::{HttpRequest, Method, OutcomeKind, Params};
use secrecy::SecretString;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::audit::{Attempt, AuditLog};
use crate::config::{Config, Rate};
use crate::error::{Error, Result};
use crate::executor::{Abandoned, Exchange, Executor, HttpOptions, SendGate};
use crate::loader::{Isolation, LoadOptions};
use crate::outbound;
use crate::plugin::PluginCallError;
use crate::provider::{Credential, ProviderRuntime};
use crate::registry::Registry;
use crate::result::{FieldValue, ParamsJson, Request, RequestResult};
use crate::retry::{RetryPolicy, TransportFailure};

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
    env: bool,
    credentials: HashMap<String, SecretString>,
    base_urls: HashMap<String, String>,
    rates: HashMap<String, Rate>,
    max_attempts: Option<u32>,
    http: HttpOptions,
    retry: RetryPolicy,
    isolate_all: bool,
    plugin_runner: Option<PathBuf>,
    allow_insecure_http: bool,
    audit: Option<Arc<AuditLog>>,
}

impl fmt::Debug for HostBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostBuilder")
            .field("plugin_dirs", &self.plugin_dirs)
            .field("fallback_plugin_dirs", &self.fallback_plugin_dirs)
            .field("env", &self.env)
            .field(
                "credentials_for",
                &self.credentials.keys().collect::<Vec<_>>(),
            )
            .field("base_urls", &self.base_urls)
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
        if let Some(path) = std::env::var_os("REVOKER_PLUGIN_PATH").filter(|_| self.env) {
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
        }
    }

    /// Runs every plugin in a child process (see [`crate::isolate`]).
    #[must_use]
    pub fn isolate_all(mut self, isolate: bool) -> Self {
        self.isolate_all = isolate;
        self
    }

    /// The `revoker` binary that runs isolated plugins (by default, this
    /// process's own executable, which must then be `revoker`).
    #[must_use]
    pub fn plugin_runner(mut self, exe: impl Into<PathBuf>) -> Self {
        self.plugin_runner = Some(exe.into());
        self
    }

    /// Allows `http://` base URLs that are not on loopback.
    #[must_use]
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
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
        self.env = true;
        self
    }

    /// Uses `credential` for `provider`, whatever the environment says.
    #[must_use]
    pub fn credential(mut self, provider: &str, credential: SecretString) -> Self {
        self.credentials.insert(provider.to_owned(), credential);
        self
    }

    /// Sends `provider`'s requests to `base_url`.
    #[must_use]
    pub fn base_url(mut self, provider: &str, base_url: &str) -> Self {
        self.base_urls
            .insert(provider.to_owned(), base_url.to_owned());
        self
    }

    /// Keeps `provider` to `rate`.
    #[must_use]
    pub fn rate(mut self, provider: &str, rate: Rate) -> Self {
        self.rates.insert(provider.to_owned(), rate);
        self
    }

    /// Tries an idempotent request at most `attempts` times (from 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts.max(1));
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
    /// that cannot be sent), [`Error::HttpClient`] if the client cannot be built.
    pub fn build(mut self) -> Result<Host> {
        let registry = match self.registry.take() {
            Some(registry) => registry,
            None => Registry::load(&self.plugin_search_path(), &self.load_options()),
        };
        let allow_insecure_http = self.allow_insecure_http || self.config.http.allow_insecure_http;
        let env = |name: &str| {
            if self.env {
                std::env::var(name).ok()
            } else {
                None
            }
        };

        for name in self.config.providers.keys() {
            if registry.get(name).is_none() {
                tracing::warn!(
                    "the config file has settings for provider {name:?}, which no loaded plugin provides"
                );
            }
        }

        let mut providers = HashMap::new();
        for plugin in registry.plugins() {
            let manifest = plugin.manifest();
            let name = plugin.provider();
            let settings = self.config.provider(name);
            let env_prefix = format!("REVOKER_{}", name.to_ascii_uppercase().replace('-', "_"));

            let base_url_var = format!("{env_prefix}_BASE_URL");
            let (base_url, source) = if let Some(url) = self.base_urls.get(name) {
                (url.clone(), format!("base URL for {name}"))
            } else if let Some(url) = env(&base_url_var) {
                (url, base_url_var)
            } else if let Some(url) = settings.base_url.clone() {
                (url, format!("providers.{name}.base_url in the config file"))
            } else {
                (
                    manifest.default_base_url.to_string(),
                    format!("plugin {name}'s default base URL"),
                )
            };
            let base_url = outbound::check_base_url(&base_url)
                .and_then(|url| {
                    if allow_insecure_http {
                        Ok(url)
                    } else {
                        outbound::require_https_off_loopback(url)
                    }
                })
                .map_err(|e| Error::config(source, e))?;

            let credential_env = settings
                .credential_env
                .clone()
                .unwrap_or_else(|| manifest.credential_env.to_string());
            let secret = match (self.credentials.get(name), &settings.credential_file) {
                (Some(secret), _) => Some(secret.clone()),
                (None, Some(file)) => Some(read_credential_file(name, file)?),
                (None, None) => env(&credential_env)
                    .filter(|v| !v.is_empty())
                    .map(SecretString::from),
            };
            let credential = secret
                .map(|secret| Credential::new(&manifest.auth.prefix, &secret))
                .transpose()
                .map_err(|e| {
                    Error::config(format!("credential for {name} ({credential_env})"), e)
                })?;

            let rate = self.rates.get(name).copied().or(settings.rate).or_else(|| {
                manifest
                    .default_rate
                    .as_ref()
                    .into_option()
                    .map(|rate| Rate {
                        requests: rate.requests,
                        per: Duration::from_secs(rate.per_seconds.into()),
                    })
            });

            providers.insert(
                name.to_owned(),
                ProviderRuntime::new(
                    Arc::clone(plugin),
                    base_url,
                    credential_env,
                    credential,
                    rate,
                    settings.concurrency,
                ),
            );
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
            ..self.retry
        };
        let audit = match (self.audit.take(), &self.config.audit) {
            (Some(audit), _) => Some(audit),
            (None, Some(path)) => Some(Arc::new(
                AuditLog::open(path, self.config.audit_required).map_err(|source| {
                    Error::config(format!("audit log {}", path.display()), source.to_string())
                })?,
            )),
            (None, None) => None,
        };
        let executor = Executor::new(http, retry, audit);
        Ok(Host {
            registry,
            providers,
            executor,
        })
    }
}

/// Reads a credential from `path`, which only its owner may read or write.
fn read_credential_file(provider: &str, path: &Path) -> Result<SecretString> {
    let source = || format!("credential file {} of provider {provider}", path.display());
    let file = std::fs::File::open(path).map_err(|e| Error::config(source(), e.to_string()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let mode = file
            .metadata()
            .map_err(|e| Error::config(source(), e.to_string()))?
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::config(
                source(),
                format!(
                    "it may be read or written by group or others (mode {mode:04o}): run `chmod 600 {}`",
                    path.display()
                ),
            ));
        }
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut { file }, &mut text)
        .map_err(|e| Error::config(source(), e.to_string()))?;
    let secret = SecretString::from(text.trim_end_matches(['\r', '\n']).to_owned());
    if secrecy::ExposeSecret::expose_secret(&secret).is_empty() {
        return Err(Error::config(source(), "it is empty"));
    }
    Ok(secret)
}

/// A request planned by its plugin and checked, ready to send.
#[derive(Debug, Clone)]
pub struct PlannedRequest {
    pub(crate) request: Request,
    pub(crate) idempotent: bool,
    pub(crate) http: HttpRequest,
    pub(crate) url: Url,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    auth_header: HeaderName,
    auth_prefix: Arc<str>,
    /// The operation's secret parameters, if it has any.
    secret: Option<Arc<[String]>>,
}

impl PlannedRequest {
    /// The request this was planned from.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The HTTP method.
    pub fn method(&self) -> Method {
        self.http.method
    }

    /// The full URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether the operation may be retried.
    pub fn is_idempotent(&self) -> bool {
        self.idempotent
    }

    /// The parameters as they may be shown: secret values `<redacted>`.
    pub fn shown_params(&self) -> Cow<'_, Params> {
        match &self.secret {
            Some(secret) => Cow::Owned(self.request.params.redacted(secret)),
            None => Cow::Borrowed(&self.request.params),
        }
    }

    /// The request as it may be shown or recorded: secret values `<redacted>`.
    pub fn shown_request(&self) -> Request {
        Request {
            params: self.shown_params().into_owned(),
            ..self.request.clone()
        }
    }

    /// Every header that will be sent besides those of the HTTP client, the
    /// credential first, shown as `<prefix><redacted>`.
    pub fn redacted_headers(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        let credential = (
            self.auth_header.as_str(),
            Cow::Owned(format!("{}<redacted>", self.auth_prefix)),
        );
        std::iter::once(credential).chain(
            self.headers
                .iter()
                .map(|(name, value)| (name.as_str(), String::from_utf8_lossy(value.as_bytes()))),
        )
    }

    /// The body, if there is one.
    pub fn body(&self) -> Option<&[u8]> {
        self.http
            .body
            .as_ref()
            .into_option()
            .map(|body| body.as_slice())
    }
}

/// A [`PlannedRequest`] as the JSON object of a dry run: the request, its
/// parameters, and the HTTP request it would send with the credential redacted;
/// `line` for a bulk line.
#[derive(Debug, Clone, Copy)]
pub struct PlannedJson<'a> {
    /// The planned request.
    pub planned: &'a PlannedRequest,
    /// The bulk input line it came from.
    pub line: Option<u64>,
}

impl Serialize for PlannedJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        struct Headers<'a>(&'a PlannedRequest);
        impl Serialize for Headers<'_> {
            fn serialize<S: Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.redacted_headers())
            }
        }
        struct Http<'a>(&'a PlannedRequest);
        impl Serialize for Http<'_> {
            fn serialize<S: Serializer>(
                &self,
                serializer: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                let mut map = serializer.serialize_map(Some(4))?;
                map.serialize_entry("method", self.0.method().as_str())?;
                map.serialize_entry("url", self.0.url().as_str())?;
                map.serialize_entry("headers", &Headers(self.0))?;
                map.serialize_entry("body", &self.0.body().map(String::from_utf8_lossy))?;
                map.end()
            }
        }
        let request = &self.planned.request;
        let mut map = serializer.serialize_map(None)?;
        if let Some(line) = self.line {
            map.serialize_entry("line", &line)?;
        }
        map.serialize_entry("dry_run", &true)?;
        map.serialize_entry("provider", &request.provider)?;
        map.serialize_entry("operation", &request.operation)?;
        map.serialize_entry("params", &ParamsJson(&self.planned.shown_params()))?;
        map.serialize_entry("request", &Http(self.planned))?;
        map.end()
    }
}

/// A request its plugin planned, checked, before it becomes a
/// [`PlannedRequest`].
struct Checked<'a> {
    http: HttpRequest,
    url: Url,
    headers: Vec<(HeaderName, HeaderValue)>,
    idempotent: bool,
    provider: &'a ProviderRuntime,
}

/// The host: plugins loaded, providers configured, one HTTP client.
///
/// Cheap to share: put it in an `Arc` and call it from many tasks.
#[derive(Debug)]
pub struct Host {
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
    /// let host = Host::builder().plugin_dir(empty.path()).build().unwrap();
    /// assert!(host.registry().plugins().is_empty());
    /// let request = Request::new("dolfin", "revoke-api-key", Params::new());
    /// assert!(matches!(host.plan(&request), Err(Error::UnknownProvider { .. })));
    /// ```
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// The loaded plugins and the refused ones.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The provider called `name`, with its settings.
    pub fn provider(&self, name: &str) -> Option<&ProviderRuntime> {
        self.providers.get(name)
    }

    /// Whether any provider has a rate or concurrency limit of its own.
    pub fn has_provider_limits(&self) -> bool {
        self.providers.values().any(ProviderRuntime::is_limited)
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.executor.policy()
    }

    /// Validates `request` and has its plugin plan it; sends nothing.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownProvider`], [`Error::UnknownOperation`] or
    /// [`Error::InvalidParams`] for a bad request; [`Error::PluginFailed`] if the
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
        match self.checked_plan(&request) {
            Ok(Checked {
                http,
                url,
                headers,
                idempotent,
                provider,
            }) => Ok(PlannedRequest {
                idempotent,
                http,
                url,
                headers,
                auth_header: provider.auth_header.clone(),
                auth_prefix: Arc::clone(&provider.auth_prefix),
                secret: provider.plugin().secret_params(&request.operation).cloned(),
                request,
            }),
            Err(error) => Err(Box::new((request, error))),
        }
    }

    /// Validates and plans `request`, checking what the plugin planned.
    fn checked_plan(&self, request: &Request) -> Result<Checked<'_>> {
        let provider =
            self.providers
                .get(&request.provider)
                .ok_or_else(|| Error::UnknownProvider {
                    provider: request.provider.clone(),
                    loaded: self.registry.provider_names(),
                })?;
        let plugin = provider.plugin();
        let operation =
            plugin
                .operation(&request.operation)
                .ok_or_else(|| Error::UnknownOperation {
                    provider: request.provider.clone(),
                    operation: request.operation.clone(),
                    known: plugin
                        .manifest()
                        .operations
                        .iter()
                        .map(|op| op.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
        let secret = plugin.secret_params(&request.operation);
        let invalid = |error: revoker_plugin_api::PluginError| {
            let param = error.param.as_ref().into_option().map(|p| p.to_string());
            let mut message = error.message.to_string();
            // A message may quote the value it refuses: not a secret one.
            if let Some(name) = &param
                && secret.is_some_and(|secret| secret.contains(name))
                && let Some(value) = request.params.get(name).filter(|v| !v.is_empty())
            {
                message = message.replace(value, "<redacted>");
            }
            Error::InvalidParams {
                provider: request.provider.clone(),
                operation: request.operation.clone(),
                param,
                message,
            }
        };
        operation.check_params(&request.params).map_err(invalid)?;
        let failed = |message: String| Error::PluginFailed {
            provider: request.provider.clone(),
            message,
        };
        let http = plugin
            .plan(&request.operation, &request.params)
            .map_err(|e| match e {
                PluginCallError::Invalid(error) => invalid(error),
                PluginCallError::Failed(message) => failed(message),
            })?;
        let unsafe_request = |why: String| {
            failed(format!(
                "plugin {} planned a request the host refuses to send: {why}",
                request.provider
            ))
        };
        let url = outbound::join_url(&provider.base_url, &http.path).map_err(unsafe_request)?;
        let headers =
            outbound::checked_headers(&http, &provider.auth_header).map_err(unsafe_request)?;
        Ok(Checked {
            http,
            url,
            headers,
            idempotent: operation.idempotent,
            provider,
        })
    }

    /// Plans and sends `request`, retrying as the policy allows, and has the
    /// plugin interpret the answer.
    ///
    /// A plugin that fails is not an error here: it gives a `provider-error`
    /// result, like any other failure at the provider's end.
    ///
    /// # Errors
    ///
    /// A bad request (see [`Host::plan`]) or [`Error::MissingCredential`]: in
    /// either case nothing was sent.
    #[tracing::instrument(skip_all, fields(provider = %request.provider, operation = %request.operation))]
    pub async fn execute(&self, request: &Request) -> Result<RequestResult> {
        match self.plan(request) {
            Ok(planned) => {
                let result = self.send_gated(planned, SendGate::default()).await?;
                Ok(result.expect("an ungated request is never abandoned"))
            }
            Err(Error::PluginFailed { message, .. }) => Ok(RequestResult::unsent(
                &self.redact(request.clone()),
                OutcomeKind::ProviderError,
                message,
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
            .providers
            .get(&planned.request.provider)
            .expect("planned by this host");
        let credential = credential_for(provider)?;
        match self
            .executor
            .exchange(&planned, provider, credential, gate)
            .await
        {
            Ok(exchange) => {
                let transport_error = exchange.response.as_ref().err().map(|(_, e)| e.clone());
                let result = interpret(planned, provider, exchange);
                if let Some(audit) = self.executor.audit() {
                    audit.record(&Attempt {
                        provider: &result.provider,
                        operation: &result.operation,
                        params: &result.params,
                        attempt: result.attempts,
                        status: result.status,
                        outcome: Some(result.outcome),
                        request_id: result.request_id.as_deref(),
                        error: transport_error.as_deref(),
                    });
                }
                Ok(Some(result))
            }
            Err(Abandoned::Stopped) => Ok(None),
            Err(Abandoned::Refused(why)) => Err(Error::config("journal", why)),
            Err(Abandoned::NoClient(why)) => Err(Error::HttpClient(why)),
        }
    }

    /// `request` as it may be shown or recorded: the values of its operation's
    /// secret parameters `<redacted>`.
    pub fn redact(&self, mut request: Request) -> Request {
        if let Some(secret) = self
            .providers
            .get(&request.provider)
            .and_then(|provider| provider.plugin().secret_params(&request.operation))
        {
            request.params = request.params.redacted(secret);
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
            .providers
            .get(provider)
            .ok_or_else(|| Error::UnknownProvider {
                provider: provider.to_owned(),
                loaded: self.registry.provider_names(),
            })?;
        credential_for(runtime).map(|_| ())
    }
}

fn credential_for(provider: &ProviderRuntime) -> Result<&Credential> {
    provider
        .credential
        .as_ref()
        .ok_or_else(|| Error::MissingCredential {
            provider: provider.plugin().provider().to_owned(),
            env_var: provider.credential_env.clone(),
        })
}

/// Turns the exchange into a result, through the plugin's `interpret`.
fn interpret(
    planned: PlannedRequest,
    provider: &ProviderRuntime,
    exchange: Exchange,
) -> RequestResult {
    let PlannedRequest {
        request,
        idempotent,
        secret,
        ..
    } = planned;
    let shown = secret.map(|secret| request.params.redacted(&secret));
    let mut result = RequestResult {
        outcome: OutcomeKind::Unknown,
        status: None,
        request_id: None,
        attempts: exchange.attempts,
        detail: None,
        created: Vec::new(),
        provider: request.provider,
        operation: request.operation,
        params: request.params,
    };
    match exchange.response {
        Ok(response) => {
            result.status = Some(response.status);
            result.request_id = response.header_value("x-request-id").map(str::to_owned);
            match provider
                .plugin
                .interpret(&result.operation, &result.params, &response)
            {
                Ok(outcome) => {
                    result.outcome = outcome.kind;
                    result.detail = Some(outcome.detail.to_string()).filter(|d| !d.is_empty());
                    if let Some(id) = outcome.request_id.into_option() {
                        result.request_id = Some(id.into());
                    }
                    result.created = outcome
                        .created
                        .into_iter()
                        .map(|field| {
                            let value = if field.secret {
                                FieldValue::Secret(field.value.into_string().into())
                            } else {
                                FieldValue::Plain(field.value.into())
                            };
                            (field.name.into(), value)
                        })
                        .collect();
                }
                Err(error) => {
                    result.outcome = OutcomeKind::ProviderError;
                    result.detail = Some(error.to_string());
                }
            }
        }
        Err((failure, message)) => {
            result.outcome = if idempotent || failure == TransportFailure::NotSent {
                OutcomeKind::TransportError
            } else {
                OutcomeKind::Unknown
            };
            result.detail = Some(if result.outcome == OutcomeKind::Unknown {
                format!(
                    "{message}; the request may have reached the provider, and is not safe to repeat: check before retrying"
                )
            } else {
                message
            });
        }
    }
    if let Some(shown) = shown {
        result.params = shown;
    }
    result
}
