//! Settings: what applies to each provider (base URL, credential, rate,
//! concurrency), resolved from the embedder's own calls, the environment, the
//! configuration file and the plugin's manifest, most important first.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::{Authenticator, Parts};
use crate::config::{Config, Rate};
use crate::error::{Error, Result};
use crate::load::Registry;
use crate::outbound;
use crate::provider::{Pace, ProviderRuntime};

/// What the embedder set itself, which beats every other source.
#[derive(Debug, Default)]
pub(crate) struct Overrides {
    pub credentials: HashMap<String, SecretString>,
    /// Parts of credentials, by provider and part.
    pub credential_parts: HashMap<(String, String), SecretString>,
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

        let credential = read_parts(name, plugin.auth(), &settings, overrides, &env)?;
        let credential_env = credential.primary_env.clone();
        let authenticator = Authenticator::new(plugin.auth(), credential.parts, &base_url)
            .map_err(|e| Error::config(format!("credential for {name} ({credential_env})"), e))?;

        // The rate the user set is a ceiling; the plugin's documented one is
        // where the flow controller starts when the user set none (a user who
        // names a rate knows their plan's limit better than the manifest's
        // default), and it finds the provider's own limit from there.
        let ceiling = overrides.rates.get(name).copied().or(settings.rate);
        let pace = Pace {
            ceiling,
            documented: manifest
                .default_rate
                .as_ref()
                .into_option()
                .filter(|_| ceiling.is_none())
                .map(|rate| Rate {
                    requests: rate.requests,
                    per: Duration::from_secs(rate.per_seconds.into()),
                }),
            max_hold,
        };

        // Where it was looked for, in the order looked: what to do about it.
        let file_hint = format!("a credential_file under [providers.{name}] in the config file");
        let credential_expected = if credential.missing.len() > 1
            || credential.missing.first().is_some_and(|m| m.part_count > 1)
        {
            let list = credential
                .missing
                .iter()
                .map(|m| match &m.file {
                    Some(file) => format!("{} (the file {} gave none)", m.part, file.display()),
                    None if overrides.env => format!("{} (set {})", m.part, m.env),
                    None => format!(
                        "{} (give it to the host: HostBuilder::credential_part)",
                        m.part
                    ),
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "its credential is in parts, and these are missing: {list}; a part's variable \
                 or file may be named under [providers.{name}.credential_parts.PART] in the \
                 config file"
            )
        } else {
            match (&settings.credential_file, overrides.env) {
                (Some(file), _) => format!("the credential file {} gave none", file.display()),
                (None, true) => format!(
                    "set the environment variable {credential_env} (or name another with \
                     credential_env, or give {file_hint})"
                ),
                (None, false) => format!(
                    "this host does not read the environment: give the credential to the host \
                     (HostBuilder::credential) or give {file_hint}"
                ),
            }
        };
        let mut runtime = ProviderRuntime::new(
            Arc::clone(plugin),
            base_url,
            credential_env,
            authenticator,
            pace,
            settings.concurrency,
        );
        runtime.credential_expected = credential_expected;
        runtime.part_params = credential.params;
        runtime.credential_vars = credential.vars;
        providers.insert(name.to_owned(), runtime);
    }

    Ok(providers)
}

/// A provider's credential as read: its parts, the variable of its first
/// part (what `describe` shows) and of each part, the parameters its public
/// parts fill, and the required parts missing.
struct ReadCredential {
    parts: Parts,
    primary_env: String,
    vars: Vec<String>,
    params: Vec<(String, String)>,
    missing: Vec<MissingPart>,
}

/// A required part not found, and where it was looked for.
struct MissingPart {
    part: String,
    part_count: usize,
    env: String,
    file: Option<std::path::PathBuf>,
}

/// Reads each part of `provider`'s credential, most important source first:
/// the embedding program's, a file, the environment. The first part's
/// variable and file are the config's `credential_env` and `credential_file`;
/// any part's are under `credential_parts`.
fn read_parts(
    provider: &str,
    auth: &revoker_plugin_api::Auth,
    settings: &crate::config::ProviderConfig,
    overrides: &Overrides,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ReadCredential> {
    let mut read = ReadCredential {
        parts: Parts::default(),
        primary_env: String::new(),
        vars: Vec::new(),
        params: Vec::new(),
        missing: Vec::new(),
    };
    // A part named that the credential does not have is a mistake that would
    // otherwise leave the real part unset, or set from somewhere else.
    let named = overrides
        .credential_parts
        .keys()
        .filter(|(p, _)| p == provider)
        .map(|(_, part)| part.as_str())
        .chain(settings.credential_parts.keys().map(String::as_str));
    for part in named {
        if auth.part(part).is_none() {
            let known: Vec<&str> = auth.parts.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::config(
                format!("credential part {part:?} of {provider}"),
                format!(
                    "its credential has no such part (it has: {})",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    for (index, part) in auth.parts.iter().enumerate() {
        let configured = settings.credential_parts.get(part.name.as_str());
        let first = index == 0;
        let env_name = configured
            .and_then(|c| c.env.clone())
            .or_else(|| first.then(|| settings.credential_env.clone()).flatten())
            .unwrap_or_else(|| part.env.to_string());
        let file = configured
            .and_then(|c| c.file.clone())
            .or_else(|| first.then(|| settings.credential_file.clone()).flatten());
        if first {
            read.primary_env.clone_from(&env_name);
        }
        read.vars.push(env_name.clone());
        let given = overrides
            .credential_parts
            .get(&(provider.to_owned(), part.name.to_string()))
            .or_else(|| first.then(|| overrides.credentials.get(provider)).flatten());
        let value = match (given, &file) {
            (Some(value), _) => Some(value.clone()),
            (None, Some(file)) => Some(read_credential_file(provider, file)?),
            (None, None) => env(&env_name)
                .filter(|v| !v.is_empty())
                .map(SecretString::from),
        };
        match value {
            Some(value) => {
                if let Some(param) = part.param.as_ref().into_option()
                    && !part.secret
                {
                    let value = secrecy::ExposeSecret::expose_secret(&value).to_owned();
                    read.params.push((param.to_string(), value));
                }
                read.parts.insert(&part.name, value);
            }
            None if part.required => read.missing.push(MissingPart {
                part: part.name.to_string(),
                part_count: auth.parts.len(),
                env: env_name,
                file,
            }),
            None => {}
        }
    }
    Ok(read)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PartConfig, ProviderConfig};
    use revoker_plugin_api::Auth;

    #[test]
    fn every_part_names_the_variable_it_is_read_from_and_none_names_none() {
        let auth = Auth::basic("SID", "TOKEN").public_part("user");
        let mut settings = ProviderConfig::default();
        settings.credential_parts.insert(
            "password".into(),
            PartConfig {
                env: Some("MY_TOKEN".into()),
                ..PartConfig::default()
            },
        );
        let overrides = Overrides {
            env: true,
            ..Overrides::default()
        };
        let env = |name: &str| (name == "SID").then(|| "AC1".to_owned());
        let read = read_parts("twilly", &auth, &settings, &overrides, &env).unwrap();
        assert_eq!(read.vars, ["SID", "MY_TOKEN"]);
        assert_eq!(read.primary_env, "SID");
        assert_eq!(read.missing.len(), 1);
        assert_eq!(read.missing[0].env, "MY_TOKEN");

        let none = read_parts(
            "open",
            &Auth::none(),
            &ProviderConfig::default(),
            &overrides,
            &env,
        )
        .unwrap();
        assert!(none.vars.is_empty());
        // A part the credential does not have is refused, not ignored.
        let err = read_parts("open", &Auth::none(), &settings, &overrides, &env)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("has no such part"), "{err}");
        assert!(none.vars.is_empty());
        assert!(none.missing.is_empty());
    }
}
