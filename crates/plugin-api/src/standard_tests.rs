//! [`standard_tests!`](crate::standard_tests): the tests every plugin needs, in
//! one line.

/// The standard tests of a plugin, in one line: a `#[cfg(test)]` module of
/// five tests, on the [`Provider`](crate::Provider) `$provider`.
///
/// ```ignore
/// revoker_plugin_api::standard_tests!(Acme);
/// // or, with another number of fuzzing cases per operation (512 by default):
/// revoker_plugin_api::standard_tests!(Acme, fuzz_cases = 256);
/// // or with sample values for parameters whose form the plugin checks:
/// revoker_plugin_api::standard_tests!(Acme, samples = [("key-id", "AKIAIOSFODNN7EXAMPLE")]);
/// ```
///
/// | test | checks |
/// |------|--------|
/// | `manifest_is_one_the_host_serves` | [`testing::check_manifest`](crate::testing::check_manifest) |
/// | `every_operation_plans_and_interprets` | [`testing::check_every_operation`](crate::testing::check_every_operation) |
/// | `unknown_operations_are_refused` | [`testing::check_unknown_operations`](crate::testing::check_unknown_operations) |
/// | `no_input_or_response_makes_it_panic` | [`testing::fuzz_provider`](crate::testing::fuzz_provider) |
/// | `resolve_never_panics_nor_repeats_the_secret` | [`testing::fuzz_resolve`](crate::testing::fuzz_resolve) |
///
/// The tests need the `testing` feature, which a plugin enables in its
/// `[dev-dependencies]`; the macro itself is always there, so that the line may
/// sit anywhere in the crate. The module is called `standard_tests` and sees
/// what its parent module sees.
#[macro_export]
macro_rules! standard_tests {
    ($provider:ty) => {
        $crate::standard_tests!($provider, fuzz_cases = 512, samples = []);
    };
    ($provider:ty, fuzz_cases = $cases:expr $(,)?) => {
        $crate::standard_tests!($provider, fuzz_cases = $cases, samples = []);
    };
    ($provider:ty, samples = [$(($name:expr, $value:expr)),* $(,)?] $(,)?) => {
        $crate::standard_tests!($provider, fuzz_cases = 512, samples = [$(($name, $value)),*]);
    };
    (
        $provider:ty,
        fuzz_cases = $cases:expr,
        samples = [$(($name:expr, $value:expr)),* $(,)?] $(,)?
    ) => {
        #[cfg(test)]
        mod standard_tests {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn manifest_is_one_the_host_serves() {
                $crate::testing::check_manifest::<$provider>();
            }

            #[test]
            fn every_operation_plans_and_interprets() {
                $crate::testing::check_every_operation_with::<$provider>(&[
                    $(($name, $value)),*
                ]);
            }

            #[test]
            fn unknown_operations_are_refused() {
                $crate::testing::check_unknown_operations::<$provider>();
            }

            #[test]
            fn no_input_or_response_makes_it_panic() {
                $crate::testing::fuzz_provider::<$provider>($cases);
            }

            #[test]
            fn resolve_never_panics_nor_repeats_the_secret() {
                $crate::testing::fuzz_resolve::<$provider>($cases);
            }
        }
    };
}
