//! What a plugin is and what it can do: the source of the CLI, `describe`,
//! validation and docs.

use abi_stable::StableAbi;
use abi_stable::std_types::{ROption, RString, RVec};

use crate::{Params, PluginError};

/// A plugin's description of its provider and operations.
///
/// Built with [`Manifest::new`] and the builder methods; the host reads it once,
/// at load time.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Manifest {
    /// The provider's name as users type it: lowercase, e.g. `pinata`.
    pub provider: RString,
    /// The plugin's own version (usually its crate version).
    pub version: RString,
    /// One line describing the provider.
    pub description: RString,
    /// The base URL requests are sent to unless the user configures another.
    pub default_base_url: RString,
    /// How the host sends the credential.
    pub auth: AuthScheme,
    /// The environment variable the credential is read from by default.
    pub credential_env: RString,
    /// The provider's documented rate limit: where the host's flow control
    /// starts (it rises above it when the provider allows; the user's `--rate`
    /// is the ceiling). `None`: not documented; the pace is found from the
    /// provider's answers.
    pub default_rate: ROption<RateLimit>,
    /// The operations this plugin can plan and interpret.
    pub operations: RVec<OperationSpec>,
    /// Whether the plugin was built with `panic = "unwind"`, so that a panic
    /// becomes an error value. Filled in by [`export_provider!`](crate::export_provider).
    pub panic_unwind: bool,
}

impl Manifest {
    /// A manifest for `provider` at plugin `version`, sending requests to
    /// `default_base_url`, with `Authorization: Bearer` auth and the credential in
    /// `<PROVIDER>_API_KEY` until told otherwise.
    pub fn new(provider: &str, version: &str, default_base_url: &str) -> Self {
        let credential_env = format!(
            "{}_API_KEY",
            provider.to_ascii_uppercase().replace('-', "_")
        );
        Self {
            provider: provider.into(),
            version: version.into(),
            description: RString::new(),
            default_base_url: default_base_url.into(),
            auth: AuthScheme::new("Authorization", "Bearer "),
            credential_env: credential_env.into(),
            default_rate: ROption::RNone,
            operations: RVec::new(),
            panic_unwind: cfg!(panic = "unwind"),
        }
    }

    /// Sets the one-line description.
    #[must_use]
    pub fn description(mut self, description: &str) -> Self {
        self.description = description.into();
        self
    }

    /// Sets how the credential is sent.
    #[must_use]
    pub fn auth(mut self, auth: AuthScheme) -> Self {
        self.auth = auth;
        self
    }

    /// Sets the environment variable the credential is read from by default.
    #[must_use]
    pub fn credential_env(mut self, var: &str) -> Self {
        self.credential_env = var.into();
        self
    }

    /// Sets the provider's documented rate limit (the `default_rate` field).
    #[must_use]
    pub fn default_rate(mut self, rate: RateLimit) -> Self {
        self.default_rate = ROption::RSome(rate);
        self
    }

    /// Adds an operation.
    #[must_use]
    pub fn operation(mut self, operation: OperationSpec) -> Self {
        self.operations.push(operation);
        self
    }

    /// The operation called `name`, if this plugin has it.
    pub fn find_operation(&self, name: &str) -> Option<&OperationSpec> {
        self.operations.iter().find(|op| op.name == name)
    }
}

/// How the host sends the credential: `<header>: <prefix><credential>`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AuthScheme {
    /// The header name, e.g. `Authorization` or `x-dolfin-api-key`.
    pub header: RString,
    /// What precedes the credential in the value, e.g. `Bearer ` (may be empty).
    pub prefix: RString,
}

impl AuthScheme {
    /// `<header>: <prefix><credential>`.
    pub fn new(header: &str, prefix: &str) -> Self {
        Self {
            header: header.into(),
            prefix: prefix.into(),
        }
    }
}

/// At most `requests` requests every `per_seconds` seconds.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RateLimit {
    /// How many requests.
    pub requests: u32,
    /// In how many seconds.
    pub per_seconds: u32,
}

/// Whether an operation takes a key away or makes a new one.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OperationKind {
    /// Revokes an existing key.
    Revoke,
    /// Creates a new key; its result carries the new key's fields.
    Create,
}

impl OperationKind {
    /// `revoke` or `create`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoke => "revoke",
            Self::Create => "create",
        }
    }
}

/// One operation a plugin can plan and interpret.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OperationSpec {
    /// The operation's name as users type it, e.g. `revoke-api-key`.
    pub name: RString,
    /// One line saying what it does.
    pub summary: RString,
    /// Revoke or create.
    pub kind: OperationKind,
    /// Whether sending it twice has the effect of sending it once, so that the
    /// host may retry it after a timeout or a 5xx.
    pub idempotent: bool,
    /// Its parameters, in the order they are shown.
    pub params: RVec<ParamSpec>,
}

impl OperationSpec {
    /// An operation called `name`, not idempotent until said otherwise.
    pub fn new(name: &str, kind: OperationKind) -> Self {
        Self {
            name: name.into(),
            summary: RString::new(),
            kind,
            idempotent: false,
            params: RVec::new(),
        }
    }

    /// Sets the one-line summary.
    #[must_use]
    pub fn summary(mut self, summary: &str) -> Self {
        self.summary = summary.into();
        self
    }

    /// Sets whether the operation is safe to retry.
    #[must_use]
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Adds a parameter.
    #[must_use]
    pub fn param(mut self, param: ParamSpec) -> Self {
        self.params.push(param);
        self
    }

    /// Checks `params` against this operation's parameters: no unknown names, every
    /// required one present, no empty value, every value of the right type.
    ///
    /// The host calls this before [`Provider::plan`](crate::Provider::plan), and a
    /// plugin may call it too.
    ///
    /// # Errors
    ///
    /// A [`PluginError`] of kind `InvalidParam` naming the first parameter at fault.
    pub fn check_params(&self, params: &Params) -> Result<(), PluginError> {
        for param in params.iter() {
            let Some(spec) = self.params.iter().find(|spec| spec.name == param.name) else {
                let known: Vec<&str> = self.params.iter().map(|spec| spec.name.as_str()).collect();
                return Err(PluginError::invalid_param(
                    &param.name,
                    format_args!(
                        "is not a parameter of {} (expected: {})",
                        self.name,
                        known.join(", ")
                    ),
                ));
            };
            spec.kind.check(&spec.name, &param.value)?;
        }
        for spec in self.params.iter().filter(|spec| spec.required) {
            if params.get(&spec.name).is_none() {
                return Err(PluginError::invalid_param(&spec.name, "is required"));
            }
        }
        Ok(())
    }
}

/// One parameter of an operation.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ParamSpec {
    /// Its name as a flag and a JSON key, e.g. `gateway-id`.
    pub name: RString,
    /// What values it takes.
    pub kind: ParamKind,
    /// Whether the operation needs it.
    pub required: bool,
    /// One line of help.
    pub help: RString,
}

impl ParamSpec {
    /// A required parameter.
    pub fn required(name: &str, kind: ParamKind, help: &str) -> Self {
        Self {
            name: name.into(),
            kind,
            required: true,
            help: help.into(),
        }
    }

    /// An optional parameter.
    pub fn optional(name: &str, kind: ParamKind, help: &str) -> Self {
        Self {
            required: false,
            ..Self::required(name, kind, help)
        }
    }
}

/// The values a parameter takes.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ParamKind {
    /// Any non-empty string without control characters.
    String,
    /// A UUID in its hyphenated form, e.g. `5eb8b151-77b3-4e46-8243-5b6282131a9e`.
    Uuid,
}

impl ParamKind {
    /// `string` or `uuid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Uuid => "uuid",
        }
    }

    /// Checks that `value` is a valid value of this kind for parameter `name`.
    ///
    /// # Errors
    ///
    /// A [`PluginError`] of kind `InvalidParam` saying what is wrong.
    pub fn check(self, name: &str, value: &str) -> Result<(), PluginError> {
        if value.is_empty() {
            return Err(PluginError::invalid_param(name, "must not be empty"));
        }
        if value.chars().any(char::is_control) {
            return Err(PluginError::invalid_param(
                name,
                "must not contain control characters",
            ));
        }
        match self {
            Self::String => Ok(()),
            Self::Uuid if is_hyphenated_uuid(value) => Ok(()),
            Self::Uuid => Err(PluginError::invalid_param(
                name,
                format_args!(
                    "must be a UUID (like 5eb8b151-77b3-4e46-8243-5b6282131a9e), got {value:?}"
                ),
            )),
        }
    }
}

/// Whether `value` is a UUID in the 8-4-4-4-12 hyphenated hex form.
fn is_hyphenated_uuid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revoke() -> OperationSpec {
        OperationSpec::new("revoke", OperationKind::Revoke)
            .param(ParamSpec::required("id", ParamKind::Uuid, "key id"))
            .param(ParamSpec::optional("note", ParamKind::String, "a note"))
    }

    #[test]
    fn accepts_valid_params() {
        let params = Params::from_pairs([("id", "5eb8b151-77b3-4e46-8243-5b6282131a9e")]);
        assert_eq!(revoke().check_params(&params), Ok(()));
    }

    #[test]
    fn refuses_missing_required_param() {
        let err = revoke().check_params(&Params::new()).unwrap_err();
        assert_eq!(err.kind, crate::PluginErrorKind::InvalidParam);
        assert_eq!(err.message, "parameter \"id\" is required");
    }

    #[test]
    fn refuses_empty_value_even_if_optional() {
        let params =
            Params::from_pairs([("id", "5eb8b151-77b3-4e46-8243-5b6282131a9e"), ("note", "")]);
        let err = revoke().check_params(&params).unwrap_err();
        assert_eq!(err.param, ROption::RSome("note".into()));
        assert!(err.message.contains("must not be empty"));
    }

    #[test]
    fn refuses_unknown_param_and_lists_known_ones() {
        let params = Params::from_pairs([("key", "x")]);
        let err = revoke().check_params(&params).unwrap_err();
        assert!(err.message.contains("\"key\" is not a parameter of revoke"));
        assert!(err.message.contains("id, note"));
    }

    #[test]
    fn uuid_kind_checks_the_hyphenated_form() {
        for good in [
            "5eb8b151-77b3-4e46-8243-5b6282131a9e",
            "5EB8B151-77B3-4E46-8243-5B6282131A9E",
        ] {
            assert_eq!(ParamKind::Uuid.check("id", good), Ok(()), "{good}");
        }
        for bad in [
            "abc",
            "5eb8b15177b34e4682435b6282131a9e",
            "5eb8b151-77b3-4e46-8243-5b6282131a9g",
            "5eb8b151-77b3-4e46-8243_5b6282131a9e",
            " 5eb8b151-77b3-4e46-8243-5b6282131a9",
        ] {
            assert!(ParamKind::Uuid.check("id", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn control_characters_are_refused() {
        let err = ParamKind::String.check("key", "a\r\nb").unwrap_err();
        assert!(err.message.contains("control characters"));
    }

    #[test]
    fn default_credential_env_is_derived_from_provider() {
        let manifest = Manifest::new("acme-cloud", "1.0.0", "https://acme.example");
        assert_eq!(manifest.credential_env, "ACME_CLOUD_API_KEY");
    }
}
