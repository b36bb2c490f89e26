//! What a plugin makes of a secret a scanner found: whether it is its
//! provider's, and which operation, with which parameters, kills it.
//!
//! Added in plugin API 1.3, through [`Provider::resolve`](crate::Provider::resolve).
//! Resolution is offline and pure like the rest of a plugin: it reads the
//! secret's shape (a prefix, a JWT's payload), never the network. What it
//! returns carries no secret: a call that takes the secret itself as a
//! parameter says so with [`ResolvedCall::secret_param`], and the host fills
//! that parameter at send time from the report, without ever writing it down.

use abi_stable::StableAbi;
use abi_stable::std_types::{ROption, RString, RVec};

use crate::Params;

/// How far a plugin got with a secret it recognised as its provider's.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum ResolutionKind {
    /// Its calls kill it.
    Resolved,
    /// It is the provider's, but the revoke endpoint takes an id the secret
    /// does not reveal: the reason says where to find it.
    NeedsId,
    /// It is the provider's and cannot be revoked this way (a temporary key, a
    /// secret half without its id): the reason says what to do instead.
    Unresolvable,
}

impl ResolutionKind {
    /// The kebab-case name, e.g. `needs-id`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resolved => "resolved",
            Self::NeedsId => "needs-id",
            Self::Unresolvable => "unresolvable",
        }
    }
}

/// One call of a resolution: an operation of the plugin and its parameters.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ResolvedCall {
    /// The operation, one the manifest lists.
    pub operation: RString,
    /// Its parameters: none of them a secret.
    pub params: Params,
    /// The parameter that takes the secret itself (a revoke-by-value endpoint,
    /// as GitHub's), which the host fills at send time; `None` for most.
    pub secret_param: ROption<RString>,
}

impl ResolvedCall {
    /// `operation` with `params`.
    pub fn new(operation: &str, params: Params) -> Self {
        Self {
            operation: operation.into(),
            params,
            secret_param: ROption::RNone,
        }
    }

    /// The secret itself goes into parameter `name`.
    #[must_use]
    pub fn with_secret_param(mut self, name: &str) -> Self {
        self.secret_param = ROption::RSome(name.into());
        self
    }
}

/// A request whose answer fills a parameter the calls need (AWS's
/// `GetAccessKeyLastUsed` gives the user name `UpdateAccessKey` takes): the
/// host sends it first, with the same credential, limits, retries, journal
/// and audit as any other.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Lookup {
    /// The call that looks the parameter up.
    pub call: ResolvedCall,
    /// The field of its outcome that holds the value.
    pub field: RString,
    /// The parameter of each call it fills.
    pub fills: RString,
}

/// What a plugin makes of a secret it recognised as its provider's.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Resolution {
    /// How far it got.
    pub kind: ResolutionKind,
    /// For a person: what the secret is (`resolved`), or why it cannot be
    /// revoked and what to do instead. Never the secret.
    pub reason: RString,
    /// The calls that kill it, in order (deactivate, then delete); empty unless
    /// `resolved`.
    pub calls: RVec<ResolvedCall>,
    /// A lookup to run before the calls.
    pub lookup: ROption<Lookup>,
}

impl Resolution {
    /// Killed by `calls`, in order.
    pub fn resolved(reason: &str, calls: impl IntoIterator<Item = ResolvedCall>) -> Self {
        Self {
            kind: ResolutionKind::Resolved,
            reason: reason.into(),
            calls: calls.into_iter().collect(),
            lookup: ROption::RNone,
        }
    }

    /// The provider's, but its revoke endpoint takes an id the secret does not
    /// reveal; `reason` says where to find it.
    pub fn needs_id(reason: &str) -> Self {
        Self {
            kind: ResolutionKind::NeedsId,
            reason: reason.into(),
            calls: RVec::new(),
            lookup: ROption::RNone,
        }
    }

    /// The provider's, and not revocable this way; `reason` says what to do
    /// instead.
    pub fn unresolvable(reason: &str) -> Self {
        Self {
            kind: ResolutionKind::Unresolvable,
            reason: reason.into(),
            calls: RVec::new(),
            lookup: ROption::RNone,
        }
    }

    /// Runs `call` first; its outcome's `field` fills each call's parameter
    /// `fills`.
    #[must_use]
    pub fn after_lookup(mut self, call: ResolvedCall, field: &str, fills: &str) -> Self {
        self.lookup = ROption::RSome(Lookup {
            call,
            field: field.into(),
            fills: fills.into(),
        });
        self
    }
}
