//! The host's data: requests in, results out, and the digests that name them.
//! Every other module builds on these types; this one depends on none of them.

use std::fmt;
use std::str::FromStr;

use revoker_plugin_api::{OutcomeKind, Params};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize};

use serde::ser::{SerializeMap, Serializer};
use sha2::{Digest as _, Sha256};

/// What happened to one request: the outcomes a plugin reads from its
/// provider's answer ([`OutcomeKind`]), and those only the host can tell.
///
/// Its name (`as_str`, `Display`, and its serde form, a string) is the one
/// used everywhere: the CLI, JSON results, reports, journals, audit logs and
/// summaries. Later versions add outcomes: match it with a `_` arm.
///
/// ```
/// use revoker_host::{Outcome, OutcomeKind};
///
/// assert_eq!(Outcome::from(OutcomeKind::AlreadyRevoked).as_str(), "already-revoked");
/// assert_eq!("plugin-error".parse(), Ok(Outcome::PluginError));
/// assert!(!Outcome::PluginError.is_success());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Outcome {
    /// The key is revoked now.
    Revoked,
    /// The key was revoked before; revocation is idempotent, so this is a success.
    AlreadyRevoked,
    /// A new key was created; the result carries its fields.
    Created,
    /// The provider took the revocation and carries it out later (GitHub's
    /// 202 for token revocation): a success, which only a confirmation proves.
    Accepted,
    /// The provider does not know the key (it may belong to another account).
    NotFound,
    /// The credential was refused.
    Unauthorized,
    /// The credential may not do this.
    Forbidden,
    /// The request was refused as malformed, or never sent because it was invalid.
    InvalidRequest,
    /// The provider asked us to slow down and we ran out of attempts.
    RateLimited,
    /// The provider failed or answered something we cannot read.
    ProviderError,
    /// No answer: connection refused, reset, timed out.
    TransportError,
    /// The plugin's fault, not the provider's: it planned a request the host
    /// refuses to send (a path off its base URL, a header the host owns, an
    /// invalid header), it panicked, crashed or failed reading the answer, or
    /// its file was refused at load.
    PluginError,
    /// A request that is not safe to repeat may or may not have taken effect.
    Unknown,
}

impl Outcome {
    /// Every outcome, in the order of the vocabulary.
    pub const ALL: [Self; 13] = [
        Self::Revoked,
        Self::AlreadyRevoked,
        Self::Created,
        Self::Accepted,
        Self::NotFound,
        Self::Unauthorized,
        Self::Forbidden,
        Self::InvalidRequest,
        Self::RateLimited,
        Self::ProviderError,
        Self::TransportError,
        Self::PluginError,
        Self::Unknown,
    ];

    /// The kebab-case name used everywhere, e.g. `already-revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::AlreadyRevoked => "already-revoked",
            Self::Created => "created",
            Self::Accepted => "accepted",
            Self::NotFound => "not-found",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::InvalidRequest => "invalid-request",
            Self::RateLimited => "rate-limited",
            Self::ProviderError => "provider-error",
            Self::TransportError => "transport-error",
            Self::PluginError => "plugin-error",
            Self::Unknown => "unknown",
        }
    }

    /// Whether this outcome counts as success: `revoked`, `already-revoked`,
    /// `created` or `accepted`. Every other one is a failure: the item is not
    /// done.
    pub fn is_success(self) -> bool {
        matches!(
            self,
            Self::Revoked | Self::AlreadyRevoked | Self::Created | Self::Accepted
        )
    }

    /// The plugin API's outcome of the same name, if there is one.
    pub fn plugin_kind(self) -> Option<OutcomeKind> {
        Some(match self {
            Self::Revoked => OutcomeKind::Revoked,
            Self::AlreadyRevoked => OutcomeKind::AlreadyRevoked,
            Self::Created => OutcomeKind::Created,
            Self::NotFound => OutcomeKind::NotFound,
            Self::Unauthorized => OutcomeKind::Unauthorized,
            Self::Forbidden => OutcomeKind::Forbidden,
            Self::InvalidRequest => OutcomeKind::InvalidRequest,
            Self::RateLimited => OutcomeKind::RateLimited,
            Self::ProviderError => OutcomeKind::ProviderError,
            Self::TransportError => OutcomeKind::TransportError,
            Self::Unknown => OutcomeKind::Unknown,
            Self::Accepted | Self::PluginError => return None,
        })
    }
}

impl From<OutcomeKind> for Outcome {
    fn from(kind: OutcomeKind) -> Self {
        match kind {
            OutcomeKind::Revoked => Self::Revoked,
            OutcomeKind::AlreadyRevoked => Self::AlreadyRevoked,
            OutcomeKind::Created => Self::Created,
            OutcomeKind::NotFound => Self::NotFound,
            OutcomeKind::Unauthorized => Self::Unauthorized,
            OutcomeKind::Forbidden => Self::Forbidden,
            OutcomeKind::InvalidRequest => Self::InvalidRequest,
            OutcomeKind::RateLimited => Self::RateLimited,
            OutcomeKind::ProviderError => Self::ProviderError,
            OutcomeKind::TransportError => Self::TransportError,
            OutcomeKind::Unknown => Self::Unknown,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a string that names no [`Outcome`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown outcome {0:?}")]
pub struct UnknownOutcome(pub String);

impl FromStr for Outcome {
    type Err = UnknownOutcome;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == s)
            .ok_or_else(|| UnknownOutcome(s.to_owned()))
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// One thing to do: an operation of a provider with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The provider, e.g. `pinata`.
    pub provider: String,
    /// The operation, e.g. `revoke-gateway-key`.
    pub operation: String,
    /// Its parameters.
    pub params: Params,
}

impl Request {
    /// A request for `operation` of `provider` with `params`.
    pub fn new(provider: impl Into<String>, operation: impl Into<String>, params: Params) -> Self {
        Self {
            provider: provider.into(),
            operation: operation.into(),
            params,
        }
    }
}

/// The value of one field of a newly created key.
#[derive(Clone)]
pub enum FieldValue {
    /// A value that may be shown anywhere, e.g. the key's id.
    Plain(String),
    /// The key itself: shown once, in the result, never in logs or journals.
    Secret(SecretString),
}

impl FieldValue {
    /// The value, secret or not. Only the result's output (stdout, report) calls
    /// this.
    pub fn expose(&self) -> &str {
        match self {
            Self::Plain(value) => value,
            Self::Secret(secret) => secret.expose_secret(),
        }
    }

    /// Whether this is a secret.
    pub fn is_secret(&self) -> bool {
        matches!(self, Self::Secret(_))
    }
}

impl fmt::Debug for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plain(value) => value.fmt(f),
            Self::Secret(_) => f.write_str("<redacted>"),
        }
    }
}

/// What happened to one [`Request`].
///
/// Its `Serialize` form is the result object of the CLI's `--output json` and of
/// each report line: it includes a created key's secret value, which the result
/// is the one place to show. Its `Debug` form redacts it.
#[derive(Debug, Clone)]
pub struct RequestResult {
    /// The provider.
    pub provider: String,
    /// The operation.
    pub operation: String,
    /// The parameters as given.
    pub params: Params,
    /// What happened.
    pub outcome: Outcome,
    /// The HTTP status of the last response, if there was one.
    pub status: Option<u16>,
    /// The provider's request id, if it sent one.
    pub request_id: Option<String>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// How many of those sends were throttled (429, 503 with `Retry-After`):
    /// they use up no attempt of `--max-attempts`.
    pub throttled: u32,
    /// The provider's own words, or why there was no answer.
    pub detail: Option<String>,
    /// For `created`: the new key's fields, in the provider's order.
    pub created: Vec<(String, FieldValue)>,
}

impl RequestResult {
    /// The result for a bulk line that is not a request at all (not JSON, not
    /// UTF-8, too long): `invalid-request`, with no provider or operation.
    pub fn invalid_line(detail: impl Into<String>) -> Self {
        Self::unsent(
            &Request::new("", "", Params::new()),
            Outcome::InvalidRequest,
            detail,
        )
    }

    /// A result for `request` that never got as far as the provider.
    pub fn unsent(request: &Request, outcome: Outcome, detail: impl Into<String>) -> Self {
        Self {
            provider: request.provider.clone(),
            operation: request.operation.clone(),
            params: request.params.clone(),
            outcome,
            status: None,
            request_id: None,
            attempts: 0,
            throttled: 0,
            detail: Some(detail.into()),
            created: Vec::new(),
        }
    }

    /// Whether the outcome counts as success.
    pub fn is_success(&self) -> bool {
        self.outcome.is_success()
    }
}

/// Serializes [`Params`] as a JSON object in the order given.
pub(crate) struct ParamsJson<'a>(pub &'a Params);

impl Serialize for ParamsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for param in self.0.iter() {
            map.serialize_entry(param.name.as_str(), param.value.as_str())?;
        }
        map.end()
    }
}

struct CreatedJson<'a> {
    fields: &'a [(String, FieldValue)],
    secrets: bool,
}

impl Serialize for CreatedJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in self.fields {
            if self.secrets || !value.is_secret() {
                map.serialize_entry(name, value.expose())?;
            }
        }
        map.end()
    }
}

/// A [`RequestResult`] as one JSON object: the CLI's result, a report line (with
/// the bulk line number) or a journal record (with the line's digest, and
/// without the created key's secret value).
#[derive(Debug, Clone, Copy)]
pub struct ResultJson<'a> {
    /// The result.
    pub result: &'a RequestResult,
    /// The bulk input line it came from.
    pub line: Option<u64>,
    /// The digest of that line, for a journal record.
    pub digest: Option<LineDigest>,
    /// Whether a created key's secret value is included (never in a journal).
    pub secrets: bool,
}

impl Serialize for ResultJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let result = self.result;
        fn non_empty(s: &str) -> Option<&str> {
            Some(s).filter(|s| !s.is_empty())
        }
        let mut map = serializer.serialize_map(None)?;
        if let Some(line) = self.line {
            map.serialize_entry("line", &line)?;
        }
        if let Some(digest) = self.digest {
            map.serialize_entry("digest", &digest.to_string())?;
        }
        // A line that is not a request at all has no provider or operation.
        map.serialize_entry("provider", &non_empty(&result.provider))?;
        map.serialize_entry("operation", &non_empty(&result.operation))?;
        map.serialize_entry("params", &ParamsJson(&result.params))?;
        map.serialize_entry("outcome", &result.outcome)?;
        map.serialize_entry("status", &result.status)?;
        map.serialize_entry("request_id", &result.request_id)?;
        map.serialize_entry("attempts", &result.attempts)?;
        map.serialize_entry("throttled", &result.throttled)?;
        map.serialize_entry("detail", &result.detail)?;
        if !result.created.is_empty() {
            let created = CreatedJson {
                fields: &result.created,
                secrets: self.secrets,
            };
            map.serialize_entry("created", &created)?;
        }
        map.end()
    }
}

impl Serialize for RequestResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ResultJson {
            result: self,
            line: None,
            digest: None,
            secrets: true,
        }
        .serialize(serializer)
    }
}

/// A digest of a line's bytes, recorded in the journal to tell a line from
/// another: the first 8 bytes of its SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineDigest(pub u64);

impl LineDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        let mut first = [0; 8];
        first.copy_from_slice(&hash[..8]);
        Self(u64::from_be_bytes(first))
    }
}

impl fmt::Display for LineDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for LineDigest {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        u64::from_str_radix(s, 16).map(Self)
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The SHA-256 of `bytes`, lowercase hex.
#[cfg(test)]
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created() -> RequestResult {
        let request = Request::new(
            "pinata",
            "create-gateway-key",
            Params::from_pairs([("gateway-id", "g1")]),
        );
        RequestResult {
            outcome: Outcome::Created,
            status: Some(200),
            request_id: Some("req-1".into()),
            attempts: 1,
            detail: None,
            created: vec![
                ("id".into(), FieldValue::Plain("k1".into())),
                ("value".into(), FieldValue::Secret("new-key-value".into())),
            ],
            ..RequestResult::unsent(&request, Outcome::Created, "")
        }
    }

    #[test]
    fn serializes_to_the_documented_result_object() {
        let json = serde_json::to_value(created()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "provider": "pinata",
                "operation": "create-gateway-key",
                "params": {"gateway-id": "g1"},
                "outcome": "created",
                "status": 200,
                "request_id": "req-1",
                "attempts": 1,
                "throttled": 0,
                "detail": null,
                "created": {"id": "k1", "value": "new-key-value"},
            })
        );
    }

    #[test]
    fn journal_form_has_the_digest_and_no_secret() {
        let result = created();
        let json = serde_json::to_value(ResultJson {
            result: &result,
            line: Some(7),
            digest: Some(LineDigest(0xab)),
            secrets: false,
        })
        .unwrap();
        assert_eq!(json["line"], 7);
        assert_eq!(json["digest"], "00000000000000ab");
        assert_eq!(json["created"], serde_json::json!({"id": "k1"}));
    }

    #[test]
    fn a_line_that_is_no_request_has_null_provider_and_operation() {
        let json = serde_json::to_value(RequestResult::invalid_line("invalid JSON line")).unwrap();
        assert_eq!(json["provider"], serde_json::Value::Null);
        assert_eq!(json["operation"], serde_json::Value::Null);
        assert_eq!(json["outcome"], "invalid-request");
        assert_eq!(json["attempts"], 0);
    }

    #[test]
    fn every_plugin_outcome_is_a_host_outcome_of_the_same_name() {
        for kind in OutcomeKind::ALL {
            let outcome = Outcome::from(kind);
            assert_eq!(outcome.as_str(), kind.as_str());
            assert_eq!(outcome.is_success(), kind.is_success());
            assert_eq!(outcome.plugin_kind(), Some(kind));
        }
        let host_only: Vec<Outcome> = Outcome::ALL
            .into_iter()
            .filter(|outcome| outcome.plugin_kind().is_none())
            .collect();
        assert_eq!(host_only, [Outcome::Accepted, Outcome::PluginError]);
        assert!(!Outcome::PluginError.is_success());
        assert!(Outcome::Accepted.is_success());
    }

    #[test]
    fn outcomes_are_their_names_in_json_and_back() {
        for outcome in Outcome::ALL {
            let json = serde_json::to_value(outcome).unwrap();
            assert_eq!(json, outcome.as_str());
            assert_eq!(serde_json::from_value::<Outcome>(json).unwrap(), outcome);
            assert_eq!(outcome.as_str().parse::<Outcome>(), Ok(outcome));
        }
        assert_eq!(Outcome::PluginError.to_string(), "plugin-error");
        assert!("plugin_error".parse::<Outcome>().is_err());
        assert!(serde_json::from_str::<Outcome>("\"revoke\"").is_err());
        // The vocabulary's order, which summaries list outcomes in.
        let mut sorted = Outcome::ALL;
        sorted.sort();
        assert_eq!(sorted, Outcome::ALL);
    }

    #[test]
    fn debug_redacts_the_created_secret() {
        let debug = format!("{:?}", created());
        assert!(!debug.contains("new-key-value"), "{debug}");
        assert!(debug.contains("<redacted>"));
        assert!(debug.contains("k1"));
    }
}
