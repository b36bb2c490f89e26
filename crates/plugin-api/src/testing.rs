//! Testing a plugin without a network: check what the host will check, and
//! feed it what a hostile world could.
//!
//! Enable the `testing` feature in the plugin's dev-dependencies (the same
//! dependency as in `[dependencies]`, with the feature):
//!
//! ```toml
//! [dev-dependencies]
//! revoker-plugin-api = { path = "../revoker/crates/plugin-api", features = ["testing"] }
//! ```
//!
//! and add the standard tests in one line:
//!
//! ```ignore
//! revoker_plugin_api::standard_tests!(MyProvider);
//! ```
//!
//! They are [`check_manifest`], [`check_every_operation`],
//! [`check_unknown_operations`] and [`fuzz_provider`], which a plugin may also
//! call from tests of its own. The plugin's own tests then check what only it
//! knows: the request each operation plans and the outcome each documented
//! response gives.

use std::collections::HashSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::{
    Auth, HttpResponse, Manifest, OperationKind, OperationSpec, ParamKind, Params, PluginError,
    PluginErrorKind, Provider,
};

use crate::names::{HOST_HEADERS, is_cli_name};
pub use crate::names::{RESERVED_PARAM_NAMES, RESERVED_PROVIDER_NAMES};

/// The manifest `P` exports (as [`export_provider!`](crate::export_provider)
/// makes it from [`Provider::manifest`] and [`Provider::auth`]).
///
/// # Panics
///
/// If the export refuses it: it lists an operation that
/// [`Provider::OPERATIONS`] lacks.
pub fn exported_manifest<P: Provider>() -> Manifest {
    let manifest = crate::__private::exported_manifest(P::manifest(), P::auth().as_ref());
    if let Err(error) = crate::__private::check_operation_table(&manifest, P::OPERATIONS) {
        panic!("{error}");
    }
    manifest
}

/// Checks that `P`'s manifest is one the `revoker` host serves, so that it is
/// not refused at load time: the provider, operation and parameter names are
/// command-line names (lowercase letters, digits and inner `-`, starting with a
/// letter), unique and none of the command line's own
/// ([`RESERVED_PROVIDER_NAMES`], [`RESERVED_PARAM_NAMES`]); the base URL is
/// http or https; a credential header is a header name the host does not own;
/// there is a credential variable, at least one operation, and a default rate
/// that allows something. Also that no *create* is idempotent (it must never
/// be retried blindly), that every secret parameter is a parameter of its
/// operation, that a credential part given as a parameter is public and names
/// a parameter, and that the operation table, if any, and the manifest list
/// the same operations.
///
/// # Panics
///
/// Naming the first thing wrong.
pub fn check_manifest<P: Provider>() {
    let manifest = exported_manifest::<P>();
    let provider = manifest.provider.as_str();
    assert!(
        is_cli_name(provider),
        "provider name {provider:?} must be lowercase letters, digits and inner '-', starting with a letter"
    );
    assert!(
        !RESERVED_PROVIDER_NAMES.contains(&provider),
        "provider name {provider:?} is one of revoker's own commands"
    );
    assert!(!manifest.version.is_empty(), "{provider}: no version");
    let base = manifest.default_base_url.as_str();
    let rest = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"));
    assert!(
        rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/')),
        "{provider}: default base URL {base:?} must be an http or https URL"
    );
    let auth = P::auth();
    if let Some(auth) = &auth {
        assert!(
            Auth::KINDS.contains(&auth.kind.as_str()),
            "{provider}: auth kind {:?} is not one of {:?}",
            auth.kind,
            Auth::KINDS
        );
    }
    if auth.as_ref().is_none_or(|auth| auth.kind == "header") {
        let header = manifest.auth.header.as_str();
        assert!(
            !header.is_empty() && header.bytes().all(is_token_byte),
            "{provider}: credential header {header:?} is not a valid header name"
        );
        assert!(
            !HOST_HEADERS.contains(&header.to_ascii_lowercase().as_str()),
            "{provider}: credential header {header:?} is one the host sets itself"
        );
    }
    assert!(
        !manifest.credential_env.is_empty(),
        "{provider}: no credential environment variable"
    );
    if let Some(rate) = manifest.default_rate.as_ref().into_option() {
        assert!(
            rate.requests > 0 && rate.per_seconds > 0,
            "{provider}: default rate must allow at least 1 request"
        );
    }
    assert!(!manifest.operations.is_empty(), "{provider}: no operations");
    let mut operations = HashSet::new();
    for op in manifest.operations.iter() {
        let name = op.name.as_str();
        assert!(
            is_cli_name(name) && operations.insert(name),
            "{provider}: operation name {name:?} is invalid or repeated"
        );
        assert!(
            op.kind != OperationKind::Create || !op.idempotent,
            "{provider} {name}: a create must not be idempotent (it would be retried blindly)"
        );
        let mut params = HashSet::new();
        for param in op.params.iter() {
            let param = param.name.as_str();
            assert!(
                is_cli_name(param) && params.insert(param),
                "{provider} {name}: parameter {param:?} is invalid or repeated"
            );
            assert!(
                !RESERVED_PARAM_NAMES.contains(&param),
                "{provider} {name}: parameter {param:?} is one of revoker's own flags"
            );
        }
        for secret in P::secret_params(name) {
            assert!(
                params.contains(secret.as_str()),
                "{provider} {name}: secret parameter {secret:?} is not one of its parameters"
            );
        }
    }
    for part in auth.iter().flat_map(|auth| auth.parts.iter()) {
        let Some(param) = part.param.as_ref().into_option() else {
            continue;
        };
        assert!(
            !part.secret,
            "{provider}: credential part {:?} is secret, so the host never gives it as parameter {param:?}",
            part.name
        );
        assert!(
            manifest
                .operations
                .iter()
                .any(|op| op.params.iter().any(|p| p.name == *param)),
            "{provider}: credential part {:?} fills parameter {param:?}, which no operation has",
            part.name
        );
    }
    for op in P::OPERATIONS {
        assert!(
            manifest.find_operation(op.name()).is_some(),
            "{provider}: operation {:?} of the operation table is not in the manifest \
             (add the table with Manifest::operations)",
            op.name()
        );
    }
}

/// Parameters for every parameter of `spec`, each with a valid value of its
/// kind: `x1` for a string, `5eb8b151-77b3-4e46-8243-5b6282131a9e` for a UUID.
pub fn sample_params(spec: &OperationSpec) -> Params {
    sample_params_with(spec, &[])
}

/// [`sample_params`], with the values `samples` gives by parameter name
/// instead (for a plugin that checks a parameter's form, an AWS key id say).
pub fn sample_params_with(spec: &OperationSpec, samples: &[(&str, &str)]) -> Params {
    Params::from_pairs(spec.params.iter().map(|param| {
        let value = samples
            .iter()
            .find(|(name, _)| *name == param.name.as_str())
            .map_or_else(
                || match param.kind {
                    ParamKind::String => "x1",
                    ParamKind::Uuid => "5eb8b151-77b3-4e46-8243-5b6282131a9e",
                },
                |(_, value)| value,
            );
        (param.name.as_str(), value)
    }))
}

/// Checks that every operation `P`'s manifest lists is one it handles: with
/// [`sample_params`], it plans a request with a plain absolute path, and it
/// reads responses of several statuses and bodies (including an empty 500)
/// without an error.
///
/// # Panics
///
/// Naming the operation, if one is refused or fails.
pub fn check_every_operation<P: Provider>() {
    check_every_operation_with::<P>(&[]);
}

/// [`check_every_operation`], with the sample values `samples` gives by
/// parameter name (see [`sample_params_with`]).
///
/// # Panics
///
/// Naming the operation, if one is refused or fails.
pub fn check_every_operation_with<P: Provider>(samples: &[(&str, &str)]) {
    let manifest = exported_manifest::<P>();
    let responses = [
        HttpResponse::new(500, ""),
        HttpResponse::new(200, ""),
        HttpResponse::new(201, "{}"),
        HttpResponse::new(204, ""),
        HttpResponse::new(400, "{}"),
        HttpResponse::new(401, ""),
        HttpResponse::new(404, "not found"),
        HttpResponse::new(429, ""),
        HttpResponse::new(502, "<html>bad gateway</html>"),
    ];
    for op in manifest.operations.iter() {
        let name = op.name.as_str();
        let params = sample_params_with(op, samples);
        if let Err(error) = op.check_params(&params) {
            panic!("{name}: {error}");
        }
        match P::plan(name, &params) {
            Ok(request) => assert!(
                request.path.starts_with('/') && !request.path.chars().any(char::is_control),
                "{name}: path {:?}",
                request.path
            ),
            Err(error) => panic!("{name} with {params:?} is not planned: {error}"),
        }
        for response in &responses {
            if let Err(error) = P::interpret(name, &params, response) {
                panic!(
                    "{name} does not read a {} response: {error}",
                    response.status
                );
            }
        }
    }
}

/// Checks that `plan` and `interpret` refuse an operation the manifest does not
/// list (the empty name, `revoke`, `create`, `delete-everything`, and each
/// operation's name in capitals, with a suffix, or after a space) with
/// [`PluginError::unknown_operation`].
///
/// # Panics
///
/// Naming the operation, if one is not refused so.
pub fn check_unknown_operations<P: Provider>() {
    let manifest = exported_manifest::<P>();
    let mut names: Vec<String> = ["", "revoke", "create", "delete-everything"]
        .map(String::from)
        .into();
    for op in manifest.operations.iter() {
        names.push(op.name.to_uppercase());
        names.push(format!("{}-x", op.name));
        names.push(format!(" {}", op.name));
    }
    let response = HttpResponse::new(200, "");
    for name in names
        .iter()
        .filter(|name| manifest.find_operation(name).is_none())
    {
        let params = Params::new();
        let expected = PluginError::unknown_operation(name);
        match P::plan(name, &params) {
            Err(error) => assert_eq!(error, expected, "plan {name:?}"),
            Ok(request) => panic!("unknown operation {name:?} is planned: {request:?}"),
        }
        match P::interpret(name, &params, &response) {
            Err(error) => assert_eq!(error, expected, "interpret {name:?}"),
            Ok(outcome) => panic!("unknown operation {name:?} is interpreted: {outcome:?}"),
        }
    }
}

/// A `tchar` of RFC 9110 §5.6.2, of which header names are made.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// Response bodies worth trying: random bytes, and JSON of shapes providers
/// send (objects with nulls, strings, numbers, nested objects and arrays).
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let json = r#"\{("[a-zA-Z_]{1,12}":(null|true|-?[0-9]{1,6}|"[^"\\]{0,16}"|\[\]|\{("[a-z_]{1,12}":(null|"[^"\\]{0,16}"|[0-9]{1,3}),?){0,5}\}),?){0,6}\}"#;
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        proptest::string::string_regex(json)
            .expect("a valid pattern")
            .prop_map(String::into_bytes),
        proptest::string::string_regex(r#""[^"\\]{0,20}"|null|\[\]|-?[0-9]{1,8}"#)
            .expect("a valid pattern")
            .prop_map(String::into_bytes),
    ]
}

/// Runs every operation of `P` through `cases` random cases: arbitrary values
/// for its parameters (some missing), then an arbitrary status, headers and
/// body for its `interpret`.
///
/// # Panics
///
/// With the failing case, if `plan` panics or returns an error that is not an
/// invalid parameter, plans a path that does not start with `/` or holds a
/// control character, or if `interpret` panics or returns an error.
pub fn fuzz_provider<P: Provider>(cases: u32) {
    let manifest = P::manifest();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    for operation in manifest.operations.iter() {
        let names: Vec<String> = operation
            .params
            .iter()
            .map(|p| p.name.to_string())
            .collect();
        let params = proptest::collection::vec(proptest::option::of("\\PC{0,40}"), names.len());
        let headers = proptest::collection::vec(("[a-zA-Z-]{1,20}", "\\PC{0,40}"), 0..6);
        let response = (any::<u16>(), headers, bodies());
        runner
            .run(&(params, response), |(values, (status, headers, body))| {
                let params = Params::from_pairs(
                    names
                        .iter()
                        .zip(values)
                        .filter_map(|(name, value)| value.map(|value| (name.as_str(), value))),
                );
                match P::plan(&operation.name, &params) {
                    Ok(request) => {
                        prop_assert!(request.path.starts_with('/'), "path {:?}", request.path);
                        prop_assert!(
                            !request.path.chars().any(char::is_control),
                            "path {:?}",
                            request.path
                        );
                    }
                    Err(error) => prop_assert_eq!(error.kind, PluginErrorKind::InvalidParam),
                }
                let mut response = HttpResponse::new(status, body);
                for (name, value) in &headers {
                    response = response.header(name, value);
                }
                let outcome = P::interpret(&operation.name, &params, &response);
                prop_assert!(outcome.is_ok(), "{:?}", outcome);
                Ok(())
            })
            .unwrap_or_else(|failure| {
                panic!("{} {}: {failure}", manifest.provider, operation.name)
            });
    }
}

/// Fuzzes `P`'s [`Provider::resolve`] with `cases` arbitrary secrets, hints
/// and contexts: it never panics, a resolution's calls (and lookup) name
/// operations the manifest lists, and no resolution holds the secret or half
/// of it ([`assert_no_secret`], for secrets of 8 characters or more).
///
/// # Panics
///
/// On the first failing case, naming the provider, never the secret.
pub fn fuzz_resolve<P: Provider>(cases: u32) {
    let manifest = P::manifest();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let secrets = prop_oneof![
        "\\PC{0,80}",
        // Shapes resolvers look for: prefixes, JWT-like dots, id:secret pairs.
        "[A-Za-z]{2,6}[_-][A-Za-z0-9_-]{8,40}",
        "[A-Za-z0-9_-]{8,40}\\.[A-Za-z0-9_-]{8,60}\\.[A-Za-z0-9_-]{0,20}",
        "[A-Z0-9]{20}:[A-Za-z0-9/+]{40}",
    ];
    let hints = prop_oneof![
        Just(String::new()),
        Just(manifest.provider.to_string()),
        "\\PC{0,20}"
    ];
    let context = proptest::collection::vec(("[a-z-]{1,14}", "\\PC{0,30}"), 0..4);
    runner
        .run(&(secrets, hints, context), |(secret, hint, context)| {
            let context = Params::from_pairs(context);
            if let Some(resolution) = P::resolve(&secret, &hint, &context) {
                let lookup = resolution.lookup.as_ref().into_option().map(|l| &l.call);
                for call in resolution.calls.iter().chain(lookup) {
                    prop_assert!(
                        manifest.find_operation(&call.operation).is_some(),
                        "resolve named operation {:?}, which the manifest does not list",
                        call.operation.as_str()
                    );
                }
                if secret.chars().count() >= 8 {
                    assert_no_secret(&resolution, &[&secret]);
                }
            }
            Ok(())
        })
        .unwrap_or_else(|failure| {
            // The failing input may be a secret-shaped string: the reason only.
            let reason = match failure {
                proptest::test_runner::TestError::Fail(reason, _) => reason.to_string(),
                other @ proptest::test_runner::TestError::Abort(_) => other.to_string(),
            };
            panic!("{} resolve: {reason}", manifest.provider)
        });
}

/// Checks that every operation of `P` declares its request (method, path
/// template, success answer) and that, for the sample values `samples` (by
/// parameter name, as `standard_tests!` takes them), `plan` sends that method
/// to the template with each `{name}` filled with the encoded value.
///
/// # Panics
///
/// Naming the operation whose declaration and plan disagree.
pub fn check_requests_match_plan<P: Provider>(samples: &[(&str, &str)]) {
    let manifest = P::manifest();
    let details = P::details();
    let declared: Vec<&str> = details.iter().map(|d| d.operation.as_str()).collect();
    let listed: Vec<&str> = manifest
        .operations
        .iter()
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(declared, listed, "every operation has its details");
    for detail in &details {
        let name = detail.operation.as_str();
        assert!(!detail.method.is_empty(), "{name}: no method declared");
        assert!(!detail.path.is_empty(), "{name}: no path declared");
        assert!(!detail.success.is_empty(), "{name}: no success answer");
        let spec = manifest.find_operation(name).unwrap();
        let params = sample_params_with(spec, samples);
        let request = P::plan(name, &params)
            .unwrap_or_else(|error| panic!("{name} with {params:?} is not planned: {error}"));
        assert_eq!(request.method.as_str(), detail.method.as_str(), "{name}");
        let mut expected = detail.path.to_string();
        for param in params.iter() {
            let placeholder = format!("{{{}}}", param.name);
            expected = expected.replace(&placeholder, &crate::encode_path_segment(&param.value));
        }
        assert!(
            !expected.contains('{'),
            "{name}: {expected:?} names a parameter the operation does not have"
        );
        assert_eq!(request.path.as_str(), expected, "{name}");
    }
}

/// Every string a resolution holds: its reason, each call's operation,
/// parameter names and values and secret parameter, and its lookup's.
pub fn resolution_strings(resolution: &crate::Resolution) -> Vec<String> {
    let mut out = vec![resolution.reason.to_string()];
    let lookup = resolution.lookup.as_ref().into_option();
    let calls = resolution.calls.iter().chain(lookup.map(|l| &l.call));
    for call in calls {
        out.push(call.operation.to_string());
        for param in call.params.iter() {
            out.push(param.name.to_string());
            out.push(param.value.to_string());
        }
        if let Some(name) = call.secret_param.as_ref().into_option() {
            out.push(name.to_string());
        }
    }
    if let Some(lookup) = lookup {
        out.push(lookup.field.to_string());
        out.push(lookup.fills.to_string());
    }
    out
}

/// Checks that no string of `resolution`, nor its `Debug`, holds any of
/// `secrets` or either half of one (a secret of at least 8 characters).
///
/// # Panics
///
/// Naming the string, never printing the secret.
pub fn assert_no_secret(resolution: &crate::Resolution, secrets: &[&str]) {
    let mut texts = resolution_strings(resolution);
    texts.push(format!("{resolution:?}"));
    for secret in secrets {
        let mut pieces = vec![*secret];
        if secret.chars().count() >= 8 {
            let middle = secret
                .char_indices()
                .nth(secret.chars().count() / 2)
                .map_or(0, |(at, _)| at);
            pieces.extend([&secret[..middle], &secret[middle..]]);
        }
        for piece in pieces.iter().filter(|p| !p.is_empty()) {
            for (at, text) in texts.iter().enumerate() {
                assert!(
                    !text.contains(piece),
                    "string {at} of the resolution holds (part of) a secret of {} characters",
                    secret.chars().count()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HttpRequest, Method, Operation, Outcome, OutcomeKind, ParamSpec};

    struct Good;

    impl Provider for Good {
        const OPERATIONS: &'static [Operation] = &[Operation::new(
            "revoke-key",
            OperationKind::Revoke,
            |params| {
                let id = params.require_kind("id", ParamKind::Uuid)?;
                Ok(HttpRequest::new(
                    Method::Delete,
                    crate::path!("/keys/{}", id),
                ))
            },
            |_, response| {
                Ok(match response.status {
                    204 => Outcome::new(OutcomeKind::Revoked),
                    status => Outcome::from_status(status).error_detail(response, None),
                })
            },
        )
        .describe(|op| {
            op.idempotent(true)
                .param(ParamSpec::required("id", ParamKind::Uuid, "the id"))
                .param(ParamSpec::optional("token", ParamKind::String, "a token"))
        })
        .secret_params(&["token"])];

        fn manifest() -> Manifest {
            Manifest::new("good", "1.0.0", "https://good.example").operations(Self::OPERATIONS)
        }
    }

    crate::standard_tests!(Good, fuzz_cases = 64);

    fn refused(check: fn()) -> String {
        let payload = std::panic::catch_unwind(check).unwrap_err();
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    }

    struct Mislisted;

    impl Provider for Mislisted {
        const OPERATIONS: &'static [Operation] = Good::OPERATIONS;

        fn manifest() -> Manifest {
            Manifest::new("mislisted", "1.0.0", "https://m.example")
                .operation(OperationSpec::new("revoke-key", OperationKind::Revoke))
                .operation(OperationSpec::new("purge", OperationKind::Revoke))
        }
    }

    struct Sloppy;

    impl Provider for Sloppy {
        fn manifest() -> Manifest {
            Manifest::new("sloppy", "1.0.0", "https://s.example").operation(
                OperationSpec::new("rotate", OperationKind::Create)
                    .idempotent(true)
                    .param(ParamSpec::required("output", ParamKind::String, "")),
            )
        }

        fn plan(_: &str, _: &Params) -> Result<HttpRequest, PluginError> {
            Ok(HttpRequest::new(Method::Post, "/rotate"))
        }

        fn interpret(_: &str, _: &Params, _: &HttpResponse) -> Result<Outcome, PluginError> {
            Ok(Outcome::new(OutcomeKind::Created))
        }
    }

    struct SecretParam;

    impl Provider for SecretParam {
        const OPERATIONS: &'static [Operation] = Good::OPERATIONS;

        fn manifest() -> Manifest {
            Good::manifest()
        }

        fn auth() -> Option<Auth> {
            Some(Auth::basic("U", "P").part_as_param("password", "token"))
        }
    }

    struct PublicParam;

    impl Provider for PublicParam {
        const OPERATIONS: &'static [Operation] = Good::OPERATIONS;

        fn manifest() -> Manifest {
            Good::manifest()
        }

        fn auth() -> Option<Auth> {
            Some(
                Auth::basic("U", "P")
                    .public_part("user")
                    .part_as_param("user", "token"),
            )
        }
    }

    #[test]
    fn what_the_host_would_refuse_is_named() {
        check_manifest::<PublicParam>();
        assert!(refused(check_manifest::<SecretParam>).contains("is secret"));
        assert!(refused(check_manifest::<Mislisted>).contains("\"purge\""));
        assert!(refused(check_manifest::<Sloppy>).contains("a create must not be idempotent"));
        assert!(refused(check_unknown_operations::<Sloppy>).contains("is planned"));
        check_every_operation::<Sloppy>();
    }

    #[test]
    fn sample_params_are_valid_for_their_kind() {
        let spec = Good::OPERATIONS[0].spec();
        let params = sample_params(&spec);
        assert_eq!(params.len(), 2);
        assert_eq!(spec.check_params(&params), Ok(()));
    }
}
