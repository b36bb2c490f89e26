//! Errors a plugin returns across the boundary.

use std::fmt;

use abi_stable::StableAbi;
use abi_stable::std_types::{ROption, RString};

/// What kind of thing went wrong inside a plugin call.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PluginErrorKind {
    /// The operation is not one the plugin's manifest lists.
    UnknownOperation,
    /// A parameter is missing, empty or malformed; [`PluginError::param`] names it.
    InvalidParam,
    /// The plugin panicked; the host stops using it.
    Panicked,
    /// Any other failure inside the plugin (a bug, not bad input).
    Internal,
}

/// An error returned by a plugin's `manifest`, `plan` or `interpret`.
///
/// Messages are lowercase and name the thing that is wrong, e.g.
/// `parameter "id" must be a UUID, got "abc"`. They must never contain a secret.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PluginError {
    /// What kind of error this is.
    pub kind: PluginErrorKind,
    /// The parameter at fault, for [`PluginErrorKind::InvalidParam`].
    pub param: ROption<RString>,
    /// A human-readable, lowercase message.
    pub message: RString,
}

impl PluginError {
    /// The operation is not one this plugin knows.
    pub fn unknown_operation(operation: &str) -> Self {
        Self {
            kind: PluginErrorKind::UnknownOperation,
            param: ROption::RNone,
            message: format!("unknown operation {operation:?}").into(),
        }
    }

    /// Parameter `param` is invalid; `message` says why.
    pub fn invalid_param(param: &str, message: impl fmt::Display) -> Self {
        Self {
            kind: PluginErrorKind::InvalidParam,
            param: ROption::RSome(param.into()),
            message: format!("parameter {param:?} {message}").into(),
        }
    }

    /// The plugin panicked with `message`.
    pub fn panicked(message: impl fmt::Display) -> Self {
        Self {
            kind: PluginErrorKind::Panicked,
            param: ROption::RNone,
            message: format!("plugin panicked: {message}").into(),
        }
    }

    /// Any other failure inside the plugin.
    pub fn internal(message: impl fmt::Display) -> Self {
        Self {
            kind: PluginErrorKind::Internal,
            param: ROption::RNone,
            message: message.to_string().into(),
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}
