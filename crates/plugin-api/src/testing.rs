//! Testing a plugin without a network: feed it what a hostile world could.
//!
//! Enable the `testing` feature in the plugin's dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! revoker-plugin-api = { version = "1", features = ["testing"] }
//! ```
//!
//! and call [`fuzz_provider`] from a test.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::{HttpResponse, Params, PluginErrorKind, Provider};

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
