//! The optional TOML configuration file.
//!
//! ```toml
//! # Plugin directories searched after --plugin-dir and REVOKER_PLUGIN_PATH.
//! plugin_dirs = ["/opt/revoker/plugins"]
//! # Record every request sent, hash-chained (`revoker audit verify FILE`).
//! audit = "/var/log/revoker/audit.jsonl"
//! audit_required = true       # send nothing that cannot be recorded
//! plugin_timeout_secs = 10    # an isolated plugin's time to answer one call
//!
//! [http]
//! connect_timeout_secs = 10   # default 10
//! request_timeout_secs = 30   # per attempt, default 30
//! max_attempts = 4            # default 4; 1 disables retries
//! allow_insecure_http = false # http:// base URLs off loopback need this
//!
//! [providers.pinata]
//! base_url = "https://api.pinata.cloud"   # REVOKER_PINATA_BASE_URL overrides it
//! credential_env = "PINATA_ADMIN_JWT"     # default: the plugin's, e.g. PINATA_JWT
//! credential_file = "/etc/revoker/pinata.jwt"  # mode 0600 or stricter; beats the variable
//! rate = "10/s"                           # N/s, N/m or N/h; default: the plugin's
//! concurrency = 8                         # requests in flight to this provider
//! sha256 = "…"      # pin the plugin file; once one is pinned, only pinned plugins load
//! isolate = true    # run the plugin in a child process
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// The whole configuration file. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Plugin directories, searched after `--plugin-dir` and `REVOKER_PLUGIN_PATH`.
    #[serde(default)]
    pub plugin_dirs: Vec<PathBuf>,
    /// HTTP client settings.
    #[serde(default)]
    pub http: HttpConfig,
    /// Per-provider settings, by provider name.
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    /// The audit log: every request sent, hash-chained.
    pub audit: Option<PathBuf>,
    /// Send nothing that cannot be recorded in the audit log.
    #[serde(default)]
    pub audit_required: bool,
    /// Seconds an isolated plugin has to answer one call (default 10).
    pub plugin_timeout_secs: Option<u64>,
}

/// HTTP client settings shared by every provider.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds to wait for a connection.
    pub connect_timeout_secs: Option<u64>,
    /// Seconds one attempt may take, from sending to the end of the body.
    pub request_timeout_secs: Option<u64>,
    /// How many times an idempotent request is tried at most.
    pub max_attempts: Option<u32>,
    /// Allow `http://` base URLs that are not on loopback.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

/// Settings for one provider.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Where requests go instead of the plugin's default base URL.
    pub base_url: Option<String>,
    /// The environment variable the credential is read from.
    pub credential_env: Option<String>,
    /// The most requests per unit of time, e.g. `10/s`.
    pub rate: Option<Rate>,
    /// The most requests in flight at once to this provider.
    pub concurrency: Option<usize>,
    /// A file holding the credential (mode 0600 or stricter).
    pub credential_file: Option<PathBuf>,
    /// The SHA-256 (hex) the provider's plugin file must have.
    pub sha256: Option<String>,
    /// Run the provider's plugin in a child process.
    #[serde(default)]
    pub isolate: bool,
}

impl ProviderConfig {
    /// Whether this sets anything besides the plugin's pin.
    pub(crate) fn has_settings_besides_pin(&self) -> bool {
        let Self {
            base_url,
            credential_env,
            rate,
            concurrency,
            credential_file,
            sha256: _,
            isolate,
        } = self;
        base_url.is_some()
            || credential_env.is_some()
            || rate.is_some()
            || concurrency.is_some()
            || credential_file.is_some()
            || *isolate
    }
}

impl Config {
    /// The most requests in flight that may be asked for, to one provider or
    /// across them.
    pub const MAX_CONCURRENCY: usize = 4096;

    /// Reads and parses the file at `path`. It decides where credentials go,
    /// so it is trusted only as a plugin is: it, and every directory on the
    /// way to it (through symbolic links too), must belong to this user or
    /// root and not be writable by group or others.
    ///
    /// # Errors
    ///
    /// [`Error::ConfigUntrusted`] if someone else could change it,
    /// [`Error::ConfigRead`] if it cannot be read, [`Error::Config`] naming the
    /// file, line and field if it is not valid.
    pub fn load(path: &Path) -> Result<Self> {
        let file = crate::trusted::open_checked(path).map_err(|source| match source {
            // Not there, or not readable: a read error, as for any file.
            crate::trusted::Untrusted {
                fault: crate::trusted::Fault::Unreadable { kind, why },
                ..
            } => Error::ConfigRead {
                path: path.to_owned(),
                source: std::io::Error::new(kind, why),
            },
            source => Error::ConfigUntrusted {
                path: path.to_owned(),
                source: Box::new(source),
            },
        })?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut { file }, &mut text).map_err(|source| {
            Error::ConfigRead {
                path: path.to_owned(),
                source,
            }
        })?;
        Self::parse(&text).map_err(|message| Error::config(path.display().to_string(), message))
    }

    /// Parses configuration text.
    ///
    /// ```
    /// use revoker_host::Config;
    ///
    /// let config = Config::parse("[providers.pinata]\nrate = \"10/s\"\n").unwrap();
    /// assert_eq!(config.provider("pinata").rate.unwrap().to_string(), "10/s");
    /// assert!(Config::parse("[providers.pinata]\nrat = 1\n").unwrap_err().contains("rat"));
    /// ```
    ///
    /// # Errors
    ///
    /// A message naming the line and the field that is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string().trim().to_owned())?;
        if config.http.max_attempts == Some(0) {
            return Err("http.max_attempts must be at least 1".into());
        }
        for (name, provider) in &config.providers {
            if provider.concurrency == Some(0) {
                return Err(format!("providers.{name}.concurrency must be at least 1"));
            }
            if provider.concurrency > Some(Self::MAX_CONCURRENCY) {
                return Err(format!(
                    "providers.{name}.concurrency must be at most {}",
                    Self::MAX_CONCURRENCY
                ));
            }
            if let Some(sha) = &provider.sha256
                && (sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(format!(
                    "providers.{name}.sha256 must be 64 hex digits (see `revoker providers --hashes`)"
                ));
            }
        }
        Ok(config)
    }

    /// The plugin allowlist: pinned SHA-256 (lowercase hex) to provider. Empty
    /// when nothing is pinned.
    pub fn plugin_pins(&self) -> BTreeMap<String, String> {
        self.providers
            .iter()
            .filter_map(|(name, provider)| {
                provider
                    .sha256
                    .as_ref()
                    .map(|sha| (sha.to_ascii_lowercase(), name.clone()))
            })
            .collect()
    }

    /// The settings for `provider`, or the defaults.
    pub fn provider(&self, provider: &str) -> ProviderConfig {
        self.providers.get(provider).cloned().unwrap_or_default()
    }
}

/// A rate limit: at most `requests` every `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many requests.
    pub requests: u32,
    /// In how long.
    pub per: Duration,
}

impl Rate {
    /// The time between two requests when they are spread evenly.
    pub fn interval(self) -> Duration {
        self.per / self.requests
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per.as_secs() {
            3600 => "h",
            60 => "m",
            _ => "s",
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

impl Rate {
    /// The fastest rate that may be set: far beyond any provider's limit, and
    /// well inside what timers can pace.
    pub const MAX_PER_SECOND: u32 = 100_000;
}

impl FromStr for Rate {
    type Err = String;

    /// `N/s`, `N/m` or `N/h`, with N a whole number from 1.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid rate {s:?}: expected N/s, N/m or N/h, e.g. 10/s");
        let (count, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let requests: u32 = count.trim().parse().map_err(|_| bad())?;
        if requests == 0 {
            return Err(format!("invalid rate {s:?}: must allow at least 1 request"));
        }
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if f64::from(requests) / per.as_secs_f64() > f64::from(Self::MAX_PER_SECOND) {
            return Err(format!(
                "invalid rate {s:?}: at most {} requests a second",
                Self::MAX_PER_SECOND
            ));
        }
        Ok(Self { requests, per })
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_config() {
        let config = Config::parse(
            r#"
            plugin_dirs = ["/opt/plugins"]
            [http]
            connect_timeout_secs = 3
            max_attempts = 2
            [providers.pinata]
            base_url = "http://127.0.0.1:4010"
            credential_env = "MY_JWT"
            rate = "5/m"
            concurrency = 4
            "#,
        )
        .unwrap();
        assert_eq!(config.plugin_dirs, [PathBuf::from("/opt/plugins")]);
        assert_eq!(config.http.max_attempts, Some(2));
        let pinata = config.provider("pinata");
        assert_eq!(pinata.base_url.as_deref(), Some("http://127.0.0.1:4010"));
        assert_eq!(pinata.credential_env.as_deref(), Some("MY_JWT"));
        assert_eq!(
            pinata.rate,
            Some(Rate {
                requests: 5,
                per: Duration::from_secs(60)
            })
        );
        assert_eq!(pinata.concurrency, Some(4));
        assert_eq!(config.provider("dolfin"), ProviderConfig::default());
    }

    #[test]
    fn security_settings_parse() {
        let sha = "ab".repeat(32);
        let config = Config::parse(&format!(
            "audit = \"/var/log/a.jsonl\"\naudit_required = true\n[http]\nallow_insecure_http = true\n\
             [providers.pinata]\ncredential_file = \"/etc/p\"\nsha256 = \"{}\"\nisolate = true\n",
            sha.to_uppercase()
        ))
        .unwrap();
        assert!(config.audit_required && config.http.allow_insecure_http);
        assert_eq!(config.audit, Some(PathBuf::from("/var/log/a.jsonl")));
        let pinata = config.provider("pinata");
        assert!(pinata.isolate);
        assert_eq!(pinata.credential_file, Some(PathBuf::from("/etc/p")));
        assert_eq!(
            config.plugin_pins().get(&sha).map(String::as_str),
            Some("pinata")
        );
        let err = Config::parse("[providers.x]\nsha256 = \"abc\"\n").unwrap_err();
        assert!(err.contains("64 hex digits"), "{err}");
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = Config::parse("[providers.pinata]\nbase_ur = \"x\"\n").unwrap_err();
        assert!(err.contains("base_ur"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn bad_rates_and_limits_are_refused() {
        let err = Config::parse("[providers.pinata]\nrate = \"fast\"\n").unwrap_err();
        assert!(err.contains("invalid rate \"fast\""), "{err}");
        assert!(Config::parse("[http]\nmax_attempts = 0\n").is_err());
        assert!(Config::parse("[providers.x]\nconcurrency = 0\n").is_err());
    }

    #[test]
    fn rates_parse_and_display() {
        let rate: Rate = "10/s".parse().unwrap();
        assert_eq!(rate.interval(), Duration::from_millis(100));
        assert_eq!(rate.to_string(), "10/s");
        assert_eq!(
            "120/m".parse::<Rate>().unwrap().interval(),
            Duration::from_millis(500)
        );
        assert_eq!("1/h".parse::<Rate>().unwrap().to_string(), "1/h");
        for bad in ["", "10", "0/s", "-1/s", "10/d", "x/s", "1.5/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in "\\PC{0,300}") {
            let _ = Config::parse(&text);
        }

        #[test]
        fn toml_shaped_text_never_panics(
            section in "[a-z._]{0,20}",
            key in "[a-z_]{0,16}",
            value in prop_oneof!["\"\\PC{0,20}\"", "-?[0-9]{1,25}", "true", "\\[\\]"],
        ) {
            let _ = Config::parse(&format!("[{section}]\n{key} = {value}\n"));
        }

        #[test]
        fn any_rate_parses_or_is_refused(text in "\\PC{0,20}") {
            if let Ok(rate) = text.parse::<Rate>() {
                prop_assert!(rate.requests > 0);
            }
        }
    }
}
