//! The parameters of one request, as given on the command line or in a bulk line.

use abi_stable::StableAbi;
use abi_stable::std_types::{RString, RVec};

use crate::{ParamKind, PluginError};

/// One named parameter value.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Param {
    /// The parameter's name, e.g. `gateway-id`.
    pub name: RString,
    /// Its value, as given.
    pub value: RString,
}

/// The parameters of one request, in the order given; names are unique.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Params {
    entries: RVec<Param>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parameters from `(name, value)` pairs; a later value for a name replaces an
    /// earlier one.
    pub fn from_pairs<N, V>(pairs: impl IntoIterator<Item = (N, V)>) -> Self
    where
        N: AsRef<str>,
        V: AsRef<str>,
    {
        let mut params = Self::new();
        for (name, value) in pairs {
            params.insert(name.as_ref(), value.as_ref());
        }
        params
    }

    /// Sets `name` to `value`, replacing any earlier value.
    pub fn insert(&mut self, name: &str, value: &str) {
        match self.entries.iter_mut().find(|p| p.name == name) {
            Some(param) => param.value = value.into(),
            None => self.entries.push(Param {
                name: name.into(),
                value: value.into(),
            }),
        }
    }

    /// The value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }

    /// The value of `name`, which must be given and non-empty.
    ///
    /// # Errors
    ///
    /// An `InvalidParam` error naming `name` if it is missing or empty.
    pub fn require(&self, name: &str) -> Result<&str, PluginError> {
        match self.get(name) {
            Some("") => Err(PluginError::invalid_param(name, "must not be empty")),
            Some(value) => Ok(value),
            None => Err(PluginError::invalid_param(name, "is required")),
        }
    }

    /// The value of `name`, which must be given, non-empty and a valid value of
    /// `kind` ([`ParamKind::check`]).
    ///
    /// # Errors
    ///
    /// An `InvalidParam` error naming `name` and saying what is wrong.
    pub fn require_kind(&self, name: &str, kind: ParamKind) -> Result<&str, PluginError> {
        let value = self.require(name)?;
        kind.check(name, value)?;
        Ok(value)
    }

    /// These parameters, with the values of those named in `secret` replaced
    /// by `<redacted>`.
    pub fn redacted(&self, secret: &[impl AsRef<str>]) -> Self {
        let mut params = self.clone();
        for param in params.entries.iter_mut() {
            if secret
                .iter()
                .any(|name| name.as_ref() == param.name.as_str())
            {
                param.value = "<redacted>".into();
            }
        }
        params
    }

    /// The parameters in the order given.
    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.entries.iter()
    }

    /// How many parameters there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_value_replaces_earlier() {
        let params = Params::from_pairs([("id", "a"), ("id", "b")]);
        assert_eq!(params.len(), 1);
        assert_eq!(params.get("id"), Some("b"));
    }

    #[test]
    fn require_kind_checks_the_value() {
        let params = Params::from_pairs([("id", "abc"), ("note", "a\nb")]);
        assert_eq!(params.require_kind("id", ParamKind::String), Ok("abc"));
        let err = params.require_kind("id", ParamKind::Uuid).unwrap_err();
        assert!(err.message.contains("must be a UUID"), "{}", err.message);
        let err = params.require_kind("note", ParamKind::String).unwrap_err();
        assert!(
            err.message.contains("control characters"),
            "{}",
            err.message
        );
        let err = params.require_kind("gone", ParamKind::String).unwrap_err();
        assert_eq!(err.message, "parameter \"gone\" is required");
    }

    #[test]
    fn redacted_hides_only_the_named_values() {
        let params = Params::from_pairs([("id", "k1"), ("token", "s3cret")]);
        let redacted = params.redacted(&["token"]);
        assert_eq!(redacted.get("id"), Some("k1"));
        assert_eq!(redacted.get("token"), Some("<redacted>"));
    }

    #[test]
    fn require_names_the_missing_or_empty_param() {
        let params = Params::from_pairs([("empty", "")]);
        assert_eq!(
            params.require("id").unwrap_err().message,
            "parameter \"id\" is required"
        );
        assert_eq!(
            params.require("empty").unwrap_err().message,
            "parameter \"empty\" must not be empty"
        );
    }
}
