//! Settings: what applies to each provider (base URL, credential, rate,
//! concurrency), resolved from the embedder's own calls, the environment, the
//! configuration file and the plugin's manifest, most important first.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::config::{Config, Rate};
use crate::error::{Error, Result};
use crate::load::Registry;
use crate::outbound;
use crate::provider::{Credential, Pace, ProviderRuntime};

/// What the embedder set itself, which beats every other source.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    pub credentials: HashMap<String, SecretString>,
    pub base_urls: HashMap<String, String>,
    pub rates: HashMap<String, Rate>,
    /// Whether the environment is read.
    pub env: bool,
    pub allow_insecure_http: bool,
}

/// Resolves the settings of every loaded provider; a `Retry-After` holds a
/// provider for `max_hold` at most.
///
/// # Errors
///
/// [`Error::Config`] for a setting that is invalid (a base URL, a credential
/// that cannot be sent or cannot be read).
pub(crate) fn resolve(
    registry: &Registry,
    config: &Config,
    overrides: &Overrides,
    max_hold: Duration,
) -> Result<HashMap<String, ProviderRuntime>> {
    let allow_insecure_http = overrides.allow_insecure_http || config.http.allow_insecure_http;
    let env = |name: &str| {
        if overrides.env {
            std::env::var(name).ok()
        } else {
            None
        }
    };
    let mut providers = HashMap::new();
    for plugin in registry.plugins() {
        let manifest = plugin.manifest();
        let name = plugin.provider();
        let settings = config.provider(name);
        let env_prefix = format!("REVOKER_{}", name.to_ascii_uppercase().replace('-', "_"));

        let base_url_var = format!("{env_prefix}_BASE_URL");
        let (base_url, source) = if let Some(url) = overrides.base_urls.get(name) {
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
        let secret = match (overrides.credentials.get(name), &settings.credential_file) {
            (Some(secret), _) => Some(secret.clone()),
            (None, Some(file)) => Some(read_credential_file(name, file)?),
            (None, None) => env(&credential_env)
                .filter(|v| !v.is_empty())
                .map(SecretString::from),
        };
        let credential = secret
            .map(|secret| Credential::new(&manifest.auth.prefix, &secret))
            .transpose()
            .map_err(|e| Error::config(format!("credential for {name} ({credential_env})"), e))?;

        // The rate the user set is a ceiling; the plugin's is where the flow
        // controller starts, and it finds the provider's own limit from there.
        let pace = Pace {
            ceiling: overrides.rates.get(name).copied().or(settings.rate),
            documented: manifest
                .default_rate
                .as_ref()
                .into_option()
                .map(|rate| Rate {
                    requests: rate.requests,
                    per: Duration::from_secs(rate.per_seconds.into()),
                }),
            max_hold,
        };

        // Where it was looked for, in the order looked: what to do about it.
        let file_hint = format!("a credential_file under [providers.{name}] in the config file");
        let credential_expected = match (&settings.credential_file, overrides.env) {
            (Some(file), _) => format!("the credential file {} gave none", file.display()),
            (None, true) => format!(
                "set the environment variable {credential_env} (or name another with \
                 credential_env, or give {file_hint})"
            ),
            (None, false) => format!(
                "this host does not read the environment: give the credential to the host \
                 (HostBuilder::credential) or give {file_hint}"
            ),
        };
        let mut runtime = ProviderRuntime::new(
            Arc::clone(plugin),
            base_url,
            credential_env,
            credential,
            pace,
            settings.concurrency,
        );
        runtime.credential_expected = credential_expected;
        providers.insert(name.to_owned(), runtime);
    }

    Ok(providers)
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
