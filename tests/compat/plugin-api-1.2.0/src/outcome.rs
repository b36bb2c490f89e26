//! What happened to one request: one vocabulary everywhere.

use std::fmt;
use std::str::FromStr;

use abi_stable::StableAbi;
use abi_stable::std_types::{ROption, RString, RVec};

/// The fate of one request, as reported on the CLI, in JSON, reports, journals and
/// the library API.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum OutcomeKind {
    /// The key is revoked now.
    Revoked,
    /// The key was revoked before; revocation is idempotent, so this is a success.
    AlreadyRevoked,
    /// A new key was created; the outcome carries its fields.
    Created,
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
    /// A request that is not safe to repeat may or may not have taken effect.
    Unknown,
}

impl OutcomeKind {
    /// Every kind, in the order of the vocabulary.
    pub const ALL: [Self; 11] = [
        Self::Revoked,
        Self::AlreadyRevoked,
        Self::Created,
        Self::NotFound,
        Self::Unauthorized,
        Self::Forbidden,
        Self::InvalidRequest,
        Self::RateLimited,
        Self::ProviderError,
        Self::TransportError,
        Self::Unknown,
    ];

    /// The kebab-case name used everywhere, e.g. `already-revoked`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::AlreadyRevoked => "already-revoked",
            Self::Created => "created",
            Self::NotFound => "not-found",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::InvalidRequest => "invalid-request",
            Self::RateLimited => "rate-limited",
            Self::ProviderError => "provider-error",
            Self::TransportError => "transport-error",
            Self::Unknown => "unknown",
        }
    }

    /// Whether this outcome counts as success: `revoked`, `already-revoked` or
    /// `created`.
    pub fn is_success(self) -> bool {
        matches!(self, Self::Revoked | Self::AlreadyRevoked | Self::Created)
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a string that names no [`OutcomeKind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownOutcomeKind(pub String);

impl fmt::Display for UnknownOutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown outcome {:?}", self.0)
    }
}

impl std::error::Error for UnknownOutcomeKind {}

impl FromStr for OutcomeKind {
    type Err = UnknownOutcomeKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownOutcomeKind(s.to_owned()))
    }
}

/// One field of a newly created key, e.g. its `id` or its `value`.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CreatedField {
    /// The field's name as the provider calls it, e.g. `createdAt`.
    pub name: RString,
    /// Its value.
    pub value: RString,
    /// Whether the value is a secret (the new key itself): the host shows it once,
    /// on stdout and in the report, and never in logs or journals.
    pub secret: bool,
}

impl fmt::Debug for CreatedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.secret {
            &"<redacted>"
        } else {
            &self.value
        };
        f.debug_struct("CreatedField")
            .field("name", &self.name)
            .field("value", value)
            .field("secret", &self.secret)
            .finish()
    }
}

/// A plugin's reading of one response.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[must_use]
pub struct Outcome {
    /// What happened.
    pub kind: OutcomeKind,
    /// The provider's own words, e.g. its error message; empty if it said nothing.
    pub detail: RString,
    /// The provider's request id, if the plugin found one the host would not
    /// (the host reads `X-Request-Id` itself).
    pub request_id: ROption<RString>,
    /// For `created`: the new key's fields.
    pub created: RVec<CreatedField>,
}

impl Outcome {
    /// An outcome of `kind` with no detail.
    pub fn new(kind: OutcomeKind) -> Self {
        Self {
            kind,
            detail: RString::new(),
            request_id: ROption::RNone,
            created: RVec::new(),
        }
    }

    /// Sets the provider's own words.
    pub fn detail(mut self, detail: impl Into<RString>) -> Self {
        self.detail = detail.into();
        self
    }

    /// Sets the detail to the provider's error text, else a snippet of the
    /// body, keeping the detail it has if the body is empty: see
    /// [`HttpResponse::error_detail`](crate::HttpResponse::error_detail).
    ///
    /// ```
    /// # use revoker_plugin_api::{HttpResponse, Outcome};
    /// let empty = HttpResponse::new(429, "");
    /// assert_eq!(Outcome::from_status(429).error_detail(&empty, None).detail, "unexpected HTTP status 429");
    /// let html = HttpResponse::new(503, "<html>busy</html>");
    /// assert_eq!(Outcome::from_status(503).error_detail(&html, None).detail, "<html>busy</html>");
    /// ```
    pub fn error_detail(self, response: &crate::HttpResponse, text: Option<String>) -> Self {
        match response.error_detail(text) {
            Some(detail) => self.detail(detail),
            None => self,
        }
    }

    /// Adds a field of a newly created key.
    pub fn created_field(mut self, name: &str, value: &str, secret: bool) -> Self {
        self.created.push(CreatedField {
            name: name.into(),
            value: value.into(),
            secret,
        });
        self
    }

    /// The usual reading of an HTTP status a provider's documents do not list:
    /// 400/422 `invalid-request`, 401 `unauthorized`, 403 `forbidden`, 404/410
    /// `not-found`, 429 `rate-limited`, anything else (including an unexpected 2xx)
    /// `provider-error`. The detail names the status.
    pub fn from_status(status: u16) -> Self {
        let kind = match status {
            400 | 422 => OutcomeKind::InvalidRequest,
            401 => OutcomeKind::Unauthorized,
            403 => OutcomeKind::Forbidden,
            404 | 410 => OutcomeKind::NotFound,
            429 => OutcomeKind::RateLimited,
            _ => OutcomeKind::ProviderError,
        };
        Self::new(kind).detail(format!("unexpected HTTP status {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in OutcomeKind::ALL {
            assert_eq!(kind.as_str().parse::<OutcomeKind>(), Ok(kind));
        }
        assert!("revoke".parse::<OutcomeKind>().is_err());
    }

    #[test]
    fn only_three_kinds_are_success() {
        let successes: Vec<_> = OutcomeKind::ALL
            .into_iter()
            .filter(|k| k.is_success())
            .collect();
        assert_eq!(
            successes,
            [
                OutcomeKind::Revoked,
                OutcomeKind::AlreadyRevoked,
                OutcomeKind::Created
            ]
        );
    }

    #[test]
    fn debug_redacts_secret_created_fields() {
        let outcome = Outcome::new(OutcomeKind::Created)
            .created_field("id", "key-id", false)
            .created_field("value", "s3cr3t-value", true);
        let debug = format!("{outcome:?}");
        assert!(debug.contains("key-id"));
        assert!(!debug.contains("s3cr3t-value"));
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn undocumented_statuses_have_a_reading() {
        assert_eq!(Outcome::from_status(429).kind, OutcomeKind::RateLimited);
        assert_eq!(Outcome::from_status(503).kind, OutcomeKind::ProviderError);
        assert_eq!(Outcome::from_status(204).kind, OutcomeKind::ProviderError);
        assert_eq!(Outcome::from_status(418).kind, OutcomeKind::ProviderError);
        assert_eq!(Outcome::from_status(410).kind, OutcomeKind::NotFound);
    }
}
