//! Checks this plugin's tests share (the same in every bundled plugin): that
//! each operation's declared request agrees with what it plans.

use revoker_plugin_api::testing::sample_params_with;
use revoker_plugin_api::{Provider, encode_path_segment};

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
