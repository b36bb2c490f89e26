//! Checks this plugin's tests share (the same in every bundled plugin): that
//! each operation's declared request agrees with what it plans, and that a
//! resolution repeats no secret.

use revoker_plugin_api::testing::sample_params_with;
use revoker_plugin_api::{Provider, Resolution, encode_path_segment};

/// Checks that every operation of `P` declares its request (method, path
/// template, success answer) and that, for the sample values `samples` (by
/// parameter name, as `standard_tests!` takes them), `plan` sends that method
/// to the template with each `{name}` filled with the encoded value.
///
/// # Panics
///
/// Naming the operation whose declaration and plan disagree.
pub(crate) fn requests_match_plan<P: Provider>(samples: &[(&str, &str)]) {
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
            expected = expected.replace(&placeholder, &encode_path_segment(&param.value));
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
pub(crate) fn strings(resolution: &Resolution) -> Vec<String> {
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
pub(crate) fn assert_no_secret(resolution: &Resolution, secrets: &[&str]) {
    let mut texts = strings(resolution);
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
