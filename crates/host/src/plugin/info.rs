//! What a plugin says of itself, and the checks that decide whether the host
//! can serve it.

use std::collections::{BTreeMap, HashSet};

use revoker_plugin_api::Manifest;

/// What the host learns of a plugin when it loads it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PluginInfo {
    /// Its manifest.
    pub manifest: Manifest,
    /// The `revoker-plugin-api` version it was built against, e.g. `1.0.0`.
    pub api_version: String,
    /// Per operation, the parameters whose values are secrets.
    pub secret_params: BTreeMap<String, Vec<String>>,
}

/// Headers the host owns, which neither a plugin's request nor a manifest's
/// credential header may name: where the request goes, cookies, a proxy's
/// credential, and the framing of the message. (A plugin may not set
/// `Authorization` either, nor its own credential header: both are the
/// credential's.)
pub(crate) const HOST_HEADERS: &[&str] = &[
    "proxy-authorization",
    "host",
    "cookie",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
];

/// Why a manifest cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ManifestError {
    /// The provider name is not a CLI name.
    #[error("provider name {0:?} must be lowercase letters, digits and '-'")]
    ProviderName(String),
    /// The default base URL does not parse.
    #[error("default base URL {url:?}: {why}")]
    BaseUrl {
        /// The URL.
        url: String,
        /// Why it does not parse.
        why: String,
    },
    /// The default base URL is neither http nor https.
    #[error("default base URL {0:?} must be http or https")]
    BaseUrlScheme(String),
    /// The credential header is not a header name.
    #[error("credential header {0:?} is not a valid header name")]
    InvalidCredentialHeader(String),
    /// The credential header is one the host owns.
    #[error(
        "credential header {0:?} is one the host sets itself (host, cookies, proxy \
         credentials and message framing are never a plugin's)"
    )]
    ForbiddenCredentialHeader(String),
    /// No credential variable.
    #[error("no credential environment variable")]
    NoCredentialEnv,
    /// No operations.
    #[error("no operations")]
    NoOperations,
    /// An operation name is invalid or repeated.
    #[error("operation name {0:?} is invalid or repeated")]
    Operation(String),
    /// A parameter name is invalid or repeated.
    #[error("parameter {param:?} of {operation} is invalid or repeated")]
    Param {
        /// The parameter.
        param: String,
        /// Its operation.
        operation: String,
    },
    /// The default rate allows nothing.
    #[error("default rate must allow at least 1 request per second or more")]
    Rate,
}

/// Checks that a manifest can be served: names the CLI can use, a base URL that
/// parses, a credential header that is a valid header and not one the host
/// owns.
///
/// # Errors
///
/// What is wrong with it.
pub fn check_manifest(manifest: &Manifest) -> Result<(), ManifestError> {
    let provider = manifest.provider.as_str();
    if !is_cli_name(provider) {
        return Err(ManifestError::ProviderName(provider.to_owned()));
    }
    let base =
        reqwest::Url::parse(&manifest.default_base_url).map_err(|e| ManifestError::BaseUrl {
            url: manifest.default_base_url.to_string(),
            why: e.to_string(),
        })?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(ManifestError::BaseUrlScheme(
            manifest.default_base_url.to_string(),
        ));
    }
    let header = manifest.auth.header.as_str();
    let Ok(name) = reqwest::header::HeaderName::from_bytes(header.as_bytes()) else {
        return Err(ManifestError::InvalidCredentialHeader(header.to_owned()));
    };
    if HOST_HEADERS.contains(&name.as_str()) {
        return Err(ManifestError::ForbiddenCredentialHeader(header.to_owned()));
    }
    if manifest.credential_env.is_empty() {
        return Err(ManifestError::NoCredentialEnv);
    }
    if manifest.operations.is_empty() {
        return Err(ManifestError::NoOperations);
    }
    let mut operations = HashSet::new();
    for op in manifest.operations.iter() {
        if !is_cli_name(&op.name) || !operations.insert(op.name.as_str()) {
            return Err(ManifestError::Operation(op.name.to_string()));
        }
        let mut params = HashSet::new();
        for param in op.params.iter() {
            if !is_cli_name(&param.name) || !params.insert(param.name.as_str()) {
                return Err(ManifestError::Param {
                    param: param.name.to_string(),
                    operation: op.name.to_string(),
                });
            }
        }
    }
    if let Some(rate) = manifest.default_rate.as_ref().into_option()
        && (rate.requests == 0 || rate.per_seconds == 0)
    {
        return Err(ManifestError::Rate);
    }
    Ok(())
}

/// A name the embedding program keeps for itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReservedName {
    /// The provider name is one of the program's commands.
    #[error("provider name {0:?} is one of the program's own commands")]
    Provider(String),
    /// A parameter name is one of the program's flags.
    #[error("parameter {param:?} of {operation} is one of the program's own flags")]
    Param {
        /// The parameter.
        param: String,
        /// Its operation.
        operation: String,
    },
}

/// Checks that a manifest takes none of the names the embedding program keeps
/// for itself (the CLI's commands and flags).
///
/// # Errors
///
/// The name taken.
pub(crate) fn check_reserved(manifest: &Manifest, reserved: &Reserved) -> Result<(), ReservedName> {
    let provider = manifest.provider.as_str();
    if reserved.providers.iter().any(|name| name == provider) {
        return Err(ReservedName::Provider(provider.to_owned()));
    }
    for op in manifest.operations.iter() {
        for param in op.params.iter() {
            if reserved
                .params
                .iter()
                .any(|name| name == param.name.as_str())
            {
                return Err(ReservedName::Param {
                    param: param.name.to_string(),
                    operation: op.name.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Names a plugin may not take, because the embedding program uses them itself
/// (the `revoker` CLI: its subcommands and flags).
#[derive(Debug, Clone, Default)]
pub struct Reserved {
    /// Names no provider may take.
    pub providers: Vec<String>,
    /// Names no parameter may take.
    pub params: Vec<String>,
}

/// Lowercase ASCII letters, digits and inner `-`, starting with a letter.
fn is_cli_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{OperationKind, OperationSpec, ParamKind, ParamSpec, RateLimit};

    use super::*;

    fn manifest() -> Manifest {
        Manifest::new("acme", "1.0.0", "https://api.acme.example").operation(
            OperationSpec::new("revoke-key", OperationKind::Revoke).param(ParamSpec::required(
                "id",
                ParamKind::String,
                "",
            )),
        )
    }

    #[test]
    fn a_good_manifest_passes() {
        assert_eq!(check_manifest(&manifest()), Ok(()));
    }

    #[test]
    fn reserved_names_are_refused() {
        let reserved = Reserved {
            providers: vec!["bulk".into()],
            params: vec!["dry-run".into()],
        };
        assert_eq!(check_reserved(&manifest(), &reserved), Ok(()));
        let taken = Manifest {
            provider: "bulk".into(),
            ..manifest()
        };
        assert!(
            check_reserved(&taken, &reserved)
                .unwrap_err()
                .to_string()
                .contains("own commands")
        );
        let flag = manifest().operation(
            OperationSpec::new("other", OperationKind::Revoke).param(ParamSpec::required(
                "dry-run",
                ParamKind::String,
                "",
            )),
        );
        assert!(
            check_reserved(&flag, &reserved)
                .unwrap_err()
                .to_string()
                .contains("own flags")
        );
    }

    #[test]
    fn bad_manifests_are_refused_with_a_reason() {
        let cases: Vec<(Manifest, &str)> = vec![
            (
                Manifest {
                    provider: "Acme".into(),
                    ..manifest()
                },
                "provider name \"Acme\"",
            ),
            (
                Manifest {
                    default_base_url: "not a url".into(),
                    ..manifest()
                },
                "default base URL",
            ),
            (
                Manifest {
                    default_base_url: "ftp://x".into(),
                    ..manifest()
                },
                "must be http or https",
            ),
            (
                manifest().auth(revoker_plugin_api::AuthScheme::new("Bad Header", "")),
                "not a valid header name",
            ),
            (
                manifest().auth(revoker_plugin_api::AuthScheme::new("Cookie", "")),
                "one the host sets itself",
            ),
            (
                manifest().auth(revoker_plugin_api::AuthScheme::new(
                    "Proxy-Authorization",
                    "",
                )),
                "one the host sets itself",
            ),
            (
                manifest().auth(revoker_plugin_api::AuthScheme::new("HOST", "")),
                "one the host sets itself",
            ),
            (
                manifest().auth(revoker_plugin_api::AuthScheme::new("Transfer-Encoding", "")),
                "one the host sets itself",
            ),
            (
                Manifest {
                    operations: Default::default(),
                    ..manifest()
                },
                "no operations",
            ),
            (
                manifest().operation(OperationSpec::new("revoke-key", OperationKind::Revoke)),
                "invalid or repeated",
            ),
            (
                manifest().default_rate(RateLimit {
                    requests: 0,
                    per_seconds: 1,
                }),
                "default rate",
            ),
        ];
        for (manifest, expected) in cases {
            let err = check_manifest(&manifest).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }
}
