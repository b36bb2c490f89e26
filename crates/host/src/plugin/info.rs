//! What a plugin says of itself, and the checks that decide whether the host
//! can serve it.

use std::collections::{BTreeMap, HashSet};

use revoker_plugin_api::{Auth, Feature, Manifest, OperationDetails, OperationKind};

/// What the host learns of a plugin when it loads it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PluginInfo {
    /// Its manifest.
    pub manifest: Manifest,
    /// The `revoker-plugin-api` version it was built against, e.g. `1.0.0`.
    pub api_version: String,
    /// Per operation, the parameters whose values are secrets.
    pub secret_params: BTreeMap<String, Vec<String>>,
    /// How its provider's requests are authenticated: what the plugin
    /// declared (1.2), else the manifest's header.
    pub auth: Auth,
    /// Per operation, what it sends and how its lines travel (1.3; none for an
    /// earlier plugin).
    #[serde(default)]
    pub details: BTreeMap<String, OperationDetails>,
}

/// The most lines one batched request may carry: more than any provider takes
/// (GitHub's 1,000), few enough that a batch's plan stays small.
pub(crate) const MAX_BATCH: u32 = 10_000;

/// The longest method, path template or success answer a plugin may declare.
const MAX_DETAIL: usize = 200;

/// The host features this host has, with the plugin API version that brought
/// each: a plugin that requires another is refused.
pub(crate) const HOST_FEATURES: &[&str] = &[
    "auth:basic",
    "auth:aws-sigv4",
    "auth:oauth2-client-credentials",
    "auth:none",
    revoker_plugin_api::names::FEATURE_BATCH,
    revoker_plugin_api::names::FEATURE_ACCEPTED,
];

/// The auth a plugin built before 1.2 has: its manifest's header, with the
/// credential from its manifest's variable.
pub(crate) fn auth_of_manifest(manifest: &Manifest) -> Auth {
    Auth::header(
        &manifest.auth.header,
        &manifest.auth.prefix,
        &manifest.credential_env,
    )
}

/// Checks that this host has every feature `required`.
///
/// # Errors
///
/// The first feature it lacks.
pub(crate) fn check_features(required: &[Feature]) -> Result<(), ManifestError> {
    match required
        .iter()
        .find(|f| !HOST_FEATURES.contains(&f.name.as_str()))
    {
        Some(missing) => Err(ManifestError::MissingFeature {
            feature: missing.name.to_string(),
            since: missing.since.to_string(),
        }),
        None => Ok(()),
    }
}

pub(crate) use revoker_plugin_api::names::HOST_HEADERS;
use revoker_plugin_api::names::is_cli_name;

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
    /// It needs a host feature this host does not have.
    #[error(
        "it needs the host feature {feature}, which revoker hosts of plugin API {since} or \
         later have; this one speaks plugin API {ours}: upgrade revoker, or use a build of the \
         plugin that does not need it",
        ours = revoker_plugin_api::PLUGIN_API_CRATE_VERSION
    )]
    MissingFeature {
        /// The feature, e.g. `auth:aws-sigv4`.
        feature: String,
        /// The plugin API version that has it.
        since: String,
    },
    /// Its auth kind is not one this host serves.
    #[error("auth kind {0:?} is not one this revoker serves (it serves {kinds})", kinds = Auth::KINDS.join(", "))]
    AuthKind(String),
    /// Its details name an operation the manifest does not list, or say
    /// something that cannot be served.
    #[error("details of operation {operation:?}: {why}")]
    Details {
        /// The operation.
        operation: String,
        /// What is wrong.
        why: String,
    },
    /// Its auth lacks a setting, or one is invalid.
    #[error("auth kind {kind}: {why}")]
    AuthSetting {
        /// The kind.
        kind: String,
        /// What is wrong.
        why: String,
    },
}

/// Checks a plugin's operation details against its manifest: each names a
/// listed operation; a method and path template a person can read; a batch
/// only for an idempotent revocation (a batch whose fate is unknown is
/// resent), of at most [`MAX_BATCH`] lines.
///
/// # Errors
///
/// What is wrong, and with which operation.
pub fn check_details(
    manifest: &Manifest,
    details: &BTreeMap<String, OperationDetails>,
) -> Result<(), ManifestError> {
    for (name, entry) in details {
        let bad = |why: &str| ManifestError::Details {
            operation: name.clone(),
            why: why.to_owned(),
        };
        let Some(op) = manifest.find_operation(name) else {
            return Err(bad("the manifest lists no such operation"));
        };
        // Shown on terminals and in JSON: no control, bidi or other
        // invisible characters, and a line's length at most.
        let printable = |text: &str| {
            text.len() <= MAX_DETAIL && !text.chars().any(crate::text::is_escaped_char)
        };
        if !printable(&entry.method) || !printable(&entry.path) || !printable(&entry.success) {
            return Err(bad(&format!(
                "its method, path or success answer holds control or invisible characters, or \
                 is longer than {MAX_DETAIL} bytes"
            )));
        }
        if !entry.method.is_empty() && !entry.method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad("its method must be an HTTP method, like POST"));
        }
        if !entry.path.is_empty() && !entry.path.starts_with('/') {
            return Err(bad("its path template must start with '/'"));
        }
        if entry.is_batched() {
            if op.kind != OperationKind::Revoke || !op.idempotent {
                return Err(bad(
                    "only an idempotent revocation may be batched (a batch whose fate is \
                     unknown is sent again)",
                ));
            }
            if entry.batch > MAX_BATCH {
                return Err(bad(&format!(
                    "a batch of {} lines is more than the {MAX_BATCH} a request may carry",
                    entry.batch
                )));
            }
        }
    }
    Ok(())
}

/// Checks that a plugin's auth can be served: a kind this host knows, with
/// the settings it needs; a credential header that is a valid header and not
/// one the host owns; parts with names and variables; only public parts given
/// to the plugin as parameters.
///
/// # Errors
///
/// What is wrong with it.
pub fn check_auth(auth: &Auth) -> Result<(), ManifestError> {
    let kind = auth.kind.as_str();
    if !Auth::KINDS.contains(&kind) {
        return Err(ManifestError::AuthKind(kind.to_owned()));
    }
    let bad = |why: String| ManifestError::AuthSetting {
        kind: kind.to_owned(),
        why,
    };
    let setting = |name: &str| {
        auth.setting(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(format!("setting {name:?} is missing")))
    };
    match kind {
        "header" => {
            let header = auth.setting("header").unwrap_or_default();
            let Ok(name) = reqwest::header::HeaderName::from_bytes(header.as_bytes()) else {
                return Err(ManifestError::InvalidCredentialHeader(header.to_owned()));
            };
            if HOST_HEADERS.contains(&name.as_str()) {
                return Err(ManifestError::ForbiddenCredentialHeader(header.to_owned()));
            }
        }
        "aws-sigv4" => {
            for name in ["service", "region"] {
                let value = setting(name)?;
                if !value
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                {
                    return Err(bad(format!(
                        "setting {name:?} must be lowercase letters, digits and '-'"
                    )));
                }
            }
        }
        "oauth2-client-credentials" => {
            let path = setting("token-path")?;
            if !path.starts_with('/') || path.starts_with("//") || path.contains(['?', '#', '\\']) {
                return Err(bad(format!(
                    "token-path {path:?} must be a plain path on the base URL, like /oauth/token"
                )));
            }
            if auth
                .setting("scope")
                .unwrap_or_default()
                .chars()
                .any(char::is_control)
            {
                return Err(bad("the scope holds control characters".to_owned()));
            }
        }
        _ => {}
    }
    let required: &[&str] = match kind {
        "header" => &["credential"],
        "basic" => &["user", "password"],
        "aws-sigv4" => &["access-key-id", "secret-access-key"],
        "oauth2-client-credentials" => &["client-id", "client-secret"],
        _ => &[],
    };
    for name in required {
        if auth.part(name).is_none() {
            return Err(bad(format!("credential part {name:?} is missing")));
        }
    }
    let mut names = HashSet::new();
    for part in auth.parts.iter() {
        if !is_cli_name(&part.name) || !names.insert(part.name.as_str()) {
            return Err(bad(format!(
                "credential part {:?} is invalid or repeated",
                part.name
            )));
        }
        if part.env.is_empty() {
            if kind == "header" {
                return Err(ManifestError::NoCredentialEnv);
            }
            return Err(bad(format!(
                "credential part {} has no variable",
                part.name
            )));
        }
        if let Some(param) = part.param.as_ref().into_option()
            && part.secret
        {
            return Err(bad(format!(
                "credential part {} is secret, so it cannot be given to the plugin as \
                 parameter {param}",
                part.name
            )));
        }
    }
    Ok(())
}

/// Checks that a manifest can be served: names the CLI can use, a base URL that
/// parses, operations and parameters with valid, distinct names. (The auth is
/// [`check_auth`]'s.)
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

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{OperationSpec, ParamKind, ParamSpec, RateLimit};

    use super::*;

    #[test]
    fn details_must_name_a_listed_operation_and_batch_only_idempotent_revocations() {
        let manifest = Manifest::new("acme", "1.0.0", "https://api.acme.example")
            .operation(OperationSpec::new("revoke", OperationKind::Revoke).idempotent(true))
            .operation(OperationSpec::new("purge", OperationKind::Revoke))
            .operation(OperationSpec::new("create", OperationKind::Create));
        let check = |entry: OperationDetails| {
            check_details(
                &manifest,
                &BTreeMap::from([(entry.operation.to_string(), entry)]),
            )
        };
        let mut good = OperationDetails::new("revoke");
        good.method = "POST".into();
        good.path = "/keys/{id}/revoke".into();
        good.success = "204 No Content".into();
        good.batch = 1000;
        assert_eq!(check(good.clone()), Ok(()));

        let why = |entry: OperationDetails| match check(entry) {
            Err(ManifestError::Details { why, .. }) => why,
            other => panic!("{other:?}"),
        };
        assert!(why(OperationDetails::new("rotate")).contains("no such operation"));
        for name in ["purge", "create"] {
            let mut batched = OperationDetails::new(name);
            batched.batch = 2;
            assert!(why(batched).contains("idempotent revocation"));
        }
        let mut too_many = good.clone();
        too_many.batch = MAX_BATCH + 1;
        assert!(why(too_many).contains("more than"));
        let mut method = good.clone();
        method.method = "post /x".into();
        assert!(why(method).contains("HTTP method"));
        let mut path = good.clone();
        path.path = "keys".into();
        assert!(why(path).contains("start with '/'"));
        let mut control = good.clone();
        control.success = "204\u{1b}[2J".into();
        assert!(why(control).contains("control or invisible characters"));
        let mut bidi = good.clone();
        bidi.path = "/keys/\u{202e}{id}".into();
        assert!(why(bidi).contains("control or invisible characters"));
        let mut long = good;
        long.success = "x".repeat(201).into();
        assert!(why(long).contains("longer than 200"));
    }

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
    fn every_auth_kind_of_the_sdk_is_served() {
        for auth in [
            Auth::bearer("ACME_TOKEN"),
            Auth::basic("U", "P")
                .public_part("user")
                .part_as_param("user", "account"),
            Auth::aws_sigv4("iam", "us-east-1"),
            Auth::oauth2_client_credentials("/oauth/token", "keys:write", "ID", "SECRET"),
            Auth::none(),
        ] {
            assert_eq!(check_auth(&auth), Ok(()), "{auth:?}");
            check_features(&auth.feature().into_iter().collect::<Vec<_>>()).unwrap();
        }
    }

    #[test]
    fn unservable_auth_is_refused_with_a_reason() {
        let mut unknown = Auth::none();
        unknown.kind = "kerberos".into();
        let cases = [
            (
                unknown,
                "auth kind \"kerberos\" is not one this revoker serves",
            ),
            (
                Auth::basic("U", "P").part_as_param("user", "account"),
                "credential part user is secret, so it cannot be given to the plugin",
            ),
            (
                Auth::aws_sigv4("IAM", "us-east-1"),
                "setting \"service\" must be lowercase",
            ),
            (Auth::aws_sigv4("iam", ""), "setting \"region\" is missing"),
            (
                Auth::oauth2_client_credentials("https://evil.example/token", "", "I", "S"),
                "must be a plain path on the base URL",
            ),
            (
                Auth::oauth2_client_credentials("//evil.example/token", "", "I", "S"),
                "must be a plain path on the base URL",
            ),
            (Auth::basic("", "P"), "credential part user has no variable"),
            (Auth::header("Host", "", "X"), "one the host sets itself"),
        ];
        for (auth, expected) in cases {
            let err = check_auth(&auth).unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} should say {expected:?}");
        }
    }

    #[test]
    fn a_feature_this_host_lacks_is_named_with_the_version_that_has_it() {
        let err = check_features(&[Feature::new("batch:github", "1.3")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("host feature batch:github, which revoker hosts of plugin API 1.3"),
            "{err}"
        );
        assert!(err.contains("upgrade revoker"), "{err}");
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
            let err = check_manifest(&manifest)
                .and_then(|()| check_auth(&auth_of_manifest(&manifest)))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }
}
