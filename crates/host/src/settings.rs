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
                    None if overrides.env && m.empty => {
                        format!("{} ({} is set but empty)", m.part, m.env)
                    }
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
                (None, true) if credential.missing.first().is_some_and(|m| m.empty) => format!(
                    "the environment variable {credential_env} is set but empty: give it the \
                     credential (or name another with credential_env, or give {file_hint})"
                ),
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

    if overrides.env {
        let names: Vec<String> = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .collect();
        for warning in unknown_env_settings(registry, names.iter().map(String::as_str)) {
            tracing::warn!("{warning}");
        }
    }
    Ok(providers)
}

/// The variables the host reads for itself, whatever plugins are loaded.
pub(crate) const HOST_VARIABLES: [&str; 2] = ["REVOKER_CONFIG", "REVOKER_PLUGIN_PATH"];

/// Why each `REVOKER_*` variable of `names` applies to nothing: one that
/// names no loaded provider (`REVOKER_PINNATA_BASE_URL`, a typo that would
/// otherwise send to the default base URL in silence), or that is no
/// setting at all. The host's own variables ([`HOST_VARIABLES`]) apply, and
/// so does a variable for a provider whose plugin was refused (its refusal is
/// said already).
pub(crate) fn unknown_env_settings<'a>(
    registry: &Registry,
    names: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    let var_name = |provider: &str| provider.to_ascii_uppercase().replace('-', "_");
    let loaded: Vec<String> = registry
        .plugins()
        .iter()
        .map(|p| var_name(p.provider()))
        .collect();
    let mut warnings = Vec::new();
    for name in names {
        let Some(rest) = name.strip_prefix("REVOKER_") else {
            continue;
        };
        if HOST_VARIABLES.contains(&name) {
            continue;
        }
        let Some(provider) = rest.strip_suffix("_BASE_URL") else {
            warnings.push(format!(
                "the environment variable {name} is not a setting revoker reads: it is ignored \
                 (per provider: REVOKER_<PROVIDER>_BASE_URL; the host's own: {})",
                HOST_VARIABLES.join(", ")
            ));
            continue;
        };
        if loaded.iter().any(|p| p == provider) {
            continue;
        }
        let refused = registry.refusals().iter().any(|refusal| {
            let named = refusal.provider.as_deref().map(var_name);
            named.as_deref() == Some(provider)
                || refusal.is_for(&provider.to_ascii_lowercase().replace('_', "-"))
        });
        if refused {
            continue;
        }
        let closest = loaded
            .iter()
            .map(|p| (edit_distance(p, provider), p))
            .filter(|(d, _)| *d <= 2)
            .min();
        let hint = match closest {
            Some((_, p)) => format!("did you mean REVOKER_{p}_BASE_URL? "),
            None => String::new(),
        };
        warnings.push(format!(
            "the environment variable {name} names no loaded provider: it is ignored ({hint}loaded \
             providers: {})",
            registry.provider_names()
        ));
    }
    warnings
}

/// The Levenshtein distance between two short ASCII names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (prev + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
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
    /// Its variable is set, to nothing.
    empty: bool,
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
        let first = index == 0;
        let env_name = settings.part_env(index, &part.name, &part.env);
        let file = settings.part_file(index, &part.name);
        if first {
            read.primary_env.clone_from(&env_name);
        }
        read.vars.push(env_name.clone());
        let given = overrides
            .credential_parts
            .get(&(provider.to_owned(), part.name.to_string()))
            .or_else(|| first.then(|| overrides.credentials.get(provider)).flatten());
        let mut empty = false;
        let value = match (given, &file) {
            (Some(value), _) => Some(value.clone()),
            (None, Some(file)) => Some(read_credential_file(provider, file)?),
            (None, None) => match env(&env_name) {
                // Set but empty: said as such, not as "set the variable".
                Some(value) if value.is_empty() => {
                    empty = true;
                    None
                }
                value => value.map(SecretString::from),
            },
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
                empty,
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
    fn a_revoker_variable_for_no_loaded_provider_is_named_and_the_hosts_own_are_not() {
        let registry = Registry::default();
        let warnings = unknown_env_settings(
            &registry,
            [
                "REVOKER_CONFIG",
                "REVOKER_PLUGIN_PATH",
                "REVOKER_PINNATA_BASE_URL",
                "REVOKER_RATE",
                "PATH",
            ]
            .into_iter(),
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("REVOKER_PINNATA_BASE_URL names no loaded provider"));
        assert!(warnings[1].contains("REVOKER_RATE is not a setting"));
        assert_eq!(edit_distance("PINATA", "PINNATA"), 1);
        assert_eq!(edit_distance("", "AB"), 2);
    }

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
