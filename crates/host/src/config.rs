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
//! max_attempts = 4            # default 4; 1 disables retries (throttled answers use up none)
//! give_up_after_secs = 300    # give a line up once its provider throttled with no progress this long
//! allow_insecure_http = false # http:// base URLs off loopback need this
//! proxy = "https://proxy.internal:3128"  # the only proxy used; *_PROXY variables never are
//!
//! [providers.pinata]
//! base_url = "https://api.pinata.cloud"   # REVOKER_PINATA_BASE_URL overrides it
//! credential_env = "PINATA_ADMIN_JWT"     # default: the plugin's, e.g. PINATA_JWT
//! credential_file = "/etc/revoker/pinata.jwt"  # mode 0600 or stricter; beats the variable
//! # (credential_env and credential_file name the credential's first part; a
//! # credential in several parts names the others under credential_parts)
//! rate = "10/s"                           # N/s, N/m or N/h: a ceiling; default none, the pace is found from the answers
//! concurrency = 8                         # requests in flight to this provider
//! sha256 = "…"      # pin the plugin file; once one is pinned, only pinned plugins load
//! isolate = true    # run the plugin in a child process
//!
//! [providers.aws-iam.credential_parts.secret-access-key]
//! file = "/etc/revoker/aws-secret"        # or env = "MY_AWS_SECRET"
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
    /// Seconds a provider may throttle with no progress before the lines
    /// waiting for it are given up (`rate-limited`; default 300).
    pub give_up_after_secs: Option<u64>,
    /// Allow `http://` base URLs that are not on loopback.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// The proxy every request goes through. Proxy variables of the
    /// environment (`HTTPS_PROXY`, `ALL_PROXY`, …) are never used: only a proxy
    /// named here is.
    pub proxy: Option<String>,
}

/// Settings for one provider.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Where requests go instead of the plugin's default base URL.
    pub base_url: Option<String>,
    /// The environment variable the credential is read from.
    pub credential_env: Option<String>,
    /// The most requests per unit of time, e.g. `10/s`: a ceiling the flow
    /// controller never exceeds.
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
    /// Where each part of a credential in several parts comes from, by part
    /// name (e.g. `secret-access-key`).
    #[serde(default)]
    pub credential_parts: BTreeMap<String, PartConfig>,
}

/// Where one part of a provider's credential comes from.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartConfig {
    /// The environment variable it is read from.
    pub env: Option<String>,
    /// A file holding it (mode 0600 or stricter); beats the variable.
    pub file: Option<PathBuf>,
}

impl ProviderConfig {
    /// The variable the credential's part `name` (its `index`th, from 0) is
    /// read from: the part's `env` under `credential_parts`, else for the
    /// first part `credential_env`, else `plugin_env`, the plugin's.
    pub fn part_env(&self, index: usize, name: &str, plugin_env: &str) -> String {
        self.credential_parts
            .get(name)
            .and_then(|part| part.env.clone())
            .or_else(|| (index == 0).then(|| self.credential_env.clone()).flatten())
            .unwrap_or_else(|| plugin_env.to_owned())
    }

    /// The file the credential's part `name` (its `index`th) is read from, if
    /// the config names one: the part's `file`, else for the first part
    /// `credential_file`. A file beats the variable.
    pub fn part_file(&self, index: usize, name: &str) -> Option<PathBuf> {
        self.credential_parts
            .get(name)
            .and_then(|part| part.file.clone())
            .or_else(|| (index == 0).then(|| self.credential_file.clone()).flatten())
    }

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
            credential_parts,
        } = self;
        !credential_parts.is_empty()
            || base_url.is_some()
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
        let config: Self = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
        if config.http.max_attempts == Some(0) {
            return Err("http.max_attempts must be at least 1".into());
        }
        if config.http.give_up_after_secs == Some(0) {
            return Err("http.give_up_after_secs must be at least 1".into());
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

/// A TOML error as the line and the problem, without quoting the line: a
/// credential written into the config by mistake must not reach a terminal.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let line = error
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    // Values are quoted in `"…"` (`invalid type: string "…"`), keys in `…`.
    let mut message = String::new();
    for (i, part) in error.message().trim().split('"').enumerate() {
        match i % 2 {
            0 => message.push_str(part),
            _ => message.push_str("\"<value>\""),
        }
    }
    match line {
        Some(line) => format!("line {line}: {message}"),
        None => message.to_owned(),
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
    fn a_config_error_names_the_line_but_never_quotes_a_value() {
        for (text, line, expected) in [
            (
                "[providers.pinata]\nbase_url = 5\n",
                2,
                "invalid type: integer",
            ),
            (
                "[http]\nconnect_timeout_secs = \"ghp_secretsecret\"\n",
                2,
                "invalid type: string",
            ),
            (
                "[providers.pinata]\nrate = \"ghp_secret/s\"\n",
                2,
                "invalid rate",
            ),
            (
                "# a comment\n[providers.pinata]\ncredentail_env = \"ghp_secret\"\n",
                3,
                "unknown field `credentail_env`",
            ),
            ("ghp_secretsecret\n", 1, ""),
        ] {
            let error = Config::parse(text).unwrap_err();
            assert!(
                error.starts_with(&format!("line {line}: ")),
                "{text:?}: {error}"
            );
            assert!(error.contains(expected), "{text:?}: {error}");
            assert!(!error.contains("secret"), "{text:?}: {error}");
        }
    }

    #[test]
    fn parses_a_full_config() {
        let config = Config::parse(
            r#"
            plugin_dirs = ["/opt/plugins"]
            [http]
            connect_timeout_secs = 3
            max_attempts = 2
            give_up_after_secs = 600
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
        assert_eq!(config.http.give_up_after_secs, Some(600));
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
        assert!(err.contains("line 2: invalid rate"), "{err}");
        assert!(!err.contains("fast"), "{err}");
        assert!(Config::parse("[http]\nmax_attempts = 0\n").is_err());
        assert!(Config::parse("[http]\ngive_up_after_secs = 0\n").is_err());
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

    /// What `Config::parse` promises of whatever it accepts.
    fn check_accepted(config: &Config) -> Result<(), TestCaseError> {
        prop_assert_ne!(config.http.max_attempts, Some(0));
        for (name, provider) in &config.providers {
            if let Some(concurrency) = provider.concurrency {
                prop_assert!(
                    (1..=Config::MAX_CONCURRENCY).contains(&concurrency),
                    "{name}: {concurrency}"
                );
            }
            if let Some(sha) = &provider.sha256 {
                prop_assert!(sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()));
            }
            if let Some(rate) = provider.rate {
                check_rate(rate)?;
            }
        }
        Ok(())
    }

    /// A rate within bounds, that reads back as itself.
    fn check_rate(rate: Rate) -> Result<(), TestCaseError> {
        prop_assert!(rate.requests >= 1);
        prop_assert!(
            [1, 60, 3600].contains(&rate.per.as_secs()) && rate.per.subsec_nanos() == 0,
            "{rate:?}"
        );
        prop_assert!(
            f64::from(rate.requests) / rate.per.as_secs_f64() <= f64::from(Rate::MAX_PER_SECOND)
        );
        prop_assert_eq!(rate.to_string().parse::<Rate>(), Ok(rate));
        Ok(())
    }

    /// A refusal says where the text is wrong: a line, or the field.
    fn check_refusal(message: &str, field: &str) -> Result<(), TestCaseError> {
        prop_assert!(
            message.contains("line ") || (!field.is_empty() && message.contains(field)),
            "{message:?} names neither a line nor {field:?}"
        );
        Ok(())
    }

    proptest! {
        #[test]
        fn any_text_is_a_config_within_bounds_or_a_refusal_naming_where(text in "\\PC{0,300}") {
            match Config::parse(&text) {
                Ok(config) => check_accepted(&config)?,
                Err(message) => check_refusal(&message, "")?,
            }
        }

        #[test]
        fn toml_shaped_text_lands_in_its_field_or_is_refused_naming_it(
            section in prop_oneof![
                Just("http".to_owned()),
                "[a-z_]{1,8}".prop_map(|name| format!("providers.{name}")),
                "[a-z._]{0,20}",
            ],
            key in prop_oneof![
                prop::sample::select(vec![
                    "connect_timeout_secs", "request_timeout_secs", "max_attempts",
                    "allow_insecure_http", "base_url", "credential_env", "rate",
                    "concurrency", "credential_file", "sha256", "isolate",
                ]).prop_map(str::to_owned),
                "[a-z_]{0,16}",
            ],
            value in prop_oneof![
                "\"\\PC{0,20}\"",
                "\"[0-9]{1,6}/[smh]\"",
                "-?[0-9]{1,25}",
                // The bounds: zero, one, the most concurrency, one more.
                prop::sample::select(vec!["0", "1", "4096", "4097"]).prop_map(str::to_owned),
                "true",
                "\\[\\]",
            ],
        ) {
            let text = format!("[{section}]\n{key} = {value}\n");
            match Config::parse(&text) {
                Ok(config) => {
                    check_accepted(&config)?;
                    // Every field was unknown or refused but this one: what
                    // was accepted is not the default any more.
                    prop_assert_ne!(&config, &Config::default(), "{}", text);
                    match section.strip_prefix("providers.") {
                        Some(name) => prop_assert!(config.providers.contains_key(name), "{}", text),
                        None => prop_assert_eq!(section.as_str(), "http"),
                    }
                }
                Err(message) => check_refusal(&message, &key)?,
            }
        }

        #[test]
        fn any_rate_is_within_bounds_or_refused_as_invalid(text in "\\PC{0,20}") {
            match text.parse::<Rate>() {
                Ok(rate) => check_rate(rate)?,
                Err(message) => prop_assert!(message.starts_with("invalid rate"), "{}", message),
            }
        }

        #[test]
        fn a_well_formed_rate_reads_back_or_is_refused_as_too_fast(
            requests in prop_oneof![1u32..=1000, any::<u32>()],
            unit in prop::sample::select(vec![("s", 1u64), ("m", 60), ("h", 3600)]),
        ) {
            let (name, secs) = unit;
            let text = format!("{requests}/{name}");
            let per_second = f64::from(requests) / secs as f64;
            match text.parse::<Rate>() {
                Ok(rate) if requests >= 1 => {
                    prop_assert_eq!(rate, Rate { requests, per: Duration::from_secs(secs) });
                    prop_assert_eq!(rate.to_string(), text);
                    prop_assert!(per_second <= f64::from(Rate::MAX_PER_SECOND));
                }
                Ok(rate) => prop_assert!(false, "0 requests accepted: {:?}", rate),
                Err(message) if requests == 0 => prop_assert!(message.contains("at least 1"), "{}", message),
                Err(message) => {
                    prop_assert!(per_second > f64::from(Rate::MAX_PER_SECOND), "{}", message);
                    prop_assert!(message.contains("at most"), "{}", message);
                }
            }
        }
    }
}
