//! What an operation sends and how it travels, beyond its [`OperationSpec`]:
//! the request a user sees in `describe`, and whether many lines travel in one
//! request.
//!
//! Added in plugin API 1.3, through [`Provider::details`](crate::Provider::details).
//! [`OperationSpec`](crate::OperationSpec) itself cannot grow (a type that
//! crosses the boundary keeps its fields for the whole major version), so
//! these facts come from a function of their own.

use abi_stable::StableAbi;
use abi_stable::std_types::RString;

/// One operation's request, as a person reads it, and how its lines travel.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OperationDetails {
    /// The operation these are of.
    pub operation: RString,
    /// The HTTP method, e.g. `POST`; empty if the plugin does not say.
    pub method: RString,
    /// The path template, relative to the base URL, with each parameter as
    /// `{name}`, e.g. `/api-keys/{id}/revoke`; empty if the plugin does not say.
    pub path: RString,
    /// What the provider answers on success, e.g. `204 No Content`; empty if
    /// the plugin does not say.
    pub success: RString,
    /// Up to how many lines travel in one request (`0` or `1`: one a request).
    /// Above 1, the host plans the operation's lines with
    /// [`Provider::plan_batch`](crate::Provider::plan_batch) and reads the
    /// answer with [`Provider::interpret_batch`](crate::Provider::interpret_batch).
    pub batch: u32,
    /// Whether a success answer means "taken, carried out later" (as GitHub's
    /// 202 for token revocation): the host reports such a line `accepted`, not
    /// `revoked`.
    pub asynchronous: bool,
}

impl OperationDetails {
    /// Details of `operation` that say nothing yet: no method, path or success
    /// answer; one line a request; carried out at once.
    pub fn new(operation: &str) -> Self {
        Self {
            operation: operation.into(),
            method: RString::new(),
            path: RString::new(),
            success: RString::new(),
            batch: 0,
            asynchronous: false,
        }
    }

    /// Whether its lines travel many to a request.
    pub fn is_batched(&self) -> bool {
        self.batch > 1
    }
}
