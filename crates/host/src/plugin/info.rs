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

/// Checks that a manifest can be served: names the CLI can use, a base URL that
/// parses, a credential header that is a valid header.
///
/// # Errors
///
/// What is wrong with it, in one line.
pub fn check_manifest(manifest: &Manifest) -> Result<(), String> {
    let provider = manifest.provider.as_str();
    if !is_cli_name(provider) {
        return Err(format!(
            "provider name {provider:?} must be lowercase letters, digits and '-'"
        ));
    }
    let base = reqwest::Url::parse(&manifest.default_base_url)
        .map_err(|e| format!("default base URL {:?}: {e}", manifest.default_base_url))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(format!(
            "default base URL {:?} must be http or https",
            manifest.default_base_url
        ));
    }
    if reqwest::header::HeaderName::from_bytes(manifest.auth.header.as_bytes()).is_err() {
        return Err(format!(
            "credential header {:?} is not a valid header name",
            manifest.auth.header
        ));
    }
    if manifest.credential_env.is_empty() {
        return Err("no credential environment variable".into());
    }
    if manifest.operations.is_empty() {
        return Err("no operations".into());
    }
    let mut operations = HashSet::new();
    for op in manifest.operations.iter() {
        if !is_cli_name(&op.name) || !operations.insert(op.name.as_str()) {
            return Err(format!(
                "operation name {:?} is invalid or repeated",
                op.name
            ));
        }
        let mut params = HashSet::new();
        for param in op.params.iter() {
            if !is_cli_name(&param.name) || !params.insert(param.name.as_str()) {
                return Err(format!(
                    "parameter {:?} of {} is invalid or repeated",
                    param.name, op.name
                ));
            }
        }
    }
    if let Some(rate) = manifest.default_rate.as_ref().into_option()
        && (rate.requests == 0 || rate.per_seconds == 0)
    {
        return Err("default rate must allow at least 1 request per second or more".into());
    }
    Ok(())
}

/// Checks that a manifest takes none of the names the embedding program keeps
/// for itself (the CLI's commands and flags).
///
/// # Errors
///
/// The name taken, in one line.
pub(crate) fn check_reserved(manifest: &Manifest, reserved: &Reserved) -> Result<(), String> {
    let provider = manifest.provider.as_str();
    if reserved.providers.iter().any(|name| name == provider) {
        return Err(format!(
            "provider name {provider:?} is one of the program's own commands"
        ));
    }
    for op in manifest.operations.iter() {
        for param in op.params.iter() {
            if reserved
                .params
                .iter()
                .any(|name| name == param.name.as_str())
            {
                return Err(format!(
                    "parameter {:?} of {} is one of the program's own flags",
                    param.name, op.name
                ));
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
            let err = check_manifest(&manifest).unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }
}
