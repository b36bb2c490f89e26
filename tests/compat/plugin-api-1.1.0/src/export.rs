//! How a plugin exports itself: the [`Provider`] trait and [`export_provider!`].

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::std_types::RResult;

use crate::{HttpRequest, HttpResponse, Manifest, Outcome, Params, PluginError};

/// A provider plugin: three pure functions, no I/O, no state.
///
/// Export an implementation with [`export_provider!`](crate::export_provider).
pub trait Provider {
    /// What the plugin is and what it can do. Called once, when the host loads it.
    fn manifest() -> Manifest;

    /// Plans the request for `operation` with `params`.
    ///
    /// The host has already checked `params` against the operation's
    /// [`ParamSpec`](crate::ParamSpec)s, but `plan` must not rely on that for
    /// safety: it validates what it uses and percent-encodes path segments.
    ///
    /// # Errors
    ///
    /// An unknown operation or an invalid parameter, named in the error.
    fn plan(operation: &str, params: &Params) -> Result<HttpRequest, PluginError>;

    /// Reads the provider's response to the request [`Provider::plan`] made.
    ///
    /// Every status and body must give an [`Outcome`]; an `Err` is for a bug in
    /// the plugin, never for a response the provider sent.
    ///
    /// # Errors
    ///
    /// An unknown operation.
    fn interpret(
        operation: &str,
        params: &Params,
        response: &HttpResponse,
    ) -> Result<Outcome, PluginError>;

    /// The parameters of `operation` whose values are secrets: the host never
    /// shows, logs or records them (it writes `<redacted>` instead). Most
    /// revocation endpoints take a key's id, which is not secret; an endpoint
    /// that takes the key itself (as RFC 7009 token revocation does) declares it
    /// here. None by default.
    ///
    /// Added in plugin API 1.1: a host reading a plugin built against 1.0 sees
    /// no secret parameters.
    fn secret_params(operation: &str) -> Vec<String> {
        let _ = operation;
        Vec::new()
    }
}

/// Runs `f`, turning a panic into a [`PluginError`] of kind `Panicked`, so no
/// unwind ever crosses the `extern "C"` boundary (which would abort the host).
///
/// [`export_provider!`](crate::export_provider) wraps every exported function
/// with it.
pub fn guard<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result.into(),
        Err(payload) => RResult::RErr(PluginError::panicked(panic_message(payload.as_ref()))),
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(message) = payload.downcast_ref::<&str>() {
        message
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message
    } else {
        "(no message)"
    }
}

/// The symbol under which `abi_stable` looks for a library's root module
/// (`abi_stable::library::ROOT_MODULE_LOADER_NAME`), spelled out because
/// `export_name` takes a literal.
pub const ROOT_MODULE_LOADER_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Exports a [`Provider`] implementation as this library's root module.
///
/// Use it once, in the plugin crate's `lib.rs`:
///
/// ```ignore
/// revoker_plugin_api::export_provider!(MyProvider);
/// ```
///
/// It generates the `extern "C"` shims, each wrapped by [`guard`] so that a panic
/// becomes an error value; records in the manifest whether the plugin was built
/// with `panic = "unwind"`; and exports the root module the host loads. It also
/// defines `pub fn revoker_root_module() -> ProviderModuleRef`, which tests and
/// benches may call to go through the ABI without loading the library.
///
/// The plugin crate needs no dependency besides `revoker-plugin-api`.
#[macro_export]
macro_rules! export_provider {
    ($provider:ty) => {
        /// This plugin's root module, as the host sees it after loading the library.
        #[doc(hidden)]
        pub fn revoker_root_module() -> $crate::ProviderModuleRef {
            use $crate::__private::abi_stable::prefix_type::PrefixTypeTrait as _;
            use $crate::__private::abi_stable::std_types::{RResult, RStr};

            extern "C" fn manifest() -> RResult<$crate::Manifest, $crate::PluginError> {
                $crate::guard(|| {
                    let mut manifest = <$provider as $crate::Provider>::manifest();
                    manifest.panic_unwind = cfg!(panic = "unwind");
                    Ok(manifest)
                })
            }

            extern "C" fn plan<'a>(
                operation: RStr<'a>,
                params: &'a $crate::Params,
            ) -> RResult<$crate::HttpRequest, $crate::PluginError> {
                $crate::guard(|| <$provider as $crate::Provider>::plan(operation.as_str(), params))
            }

            extern "C" fn interpret<'a>(
                operation: RStr<'a>,
                params: &'a $crate::Params,
                response: &'a $crate::HttpResponse,
            ) -> RResult<$crate::Outcome, $crate::PluginError> {
                $crate::guard(|| {
                    <$provider as $crate::Provider>::interpret(operation.as_str(), params, response)
                })
            }

            extern "C" fn secret_params<'a>(
                operation: RStr<'a>,
            ) -> RResult<
                $crate::__private::abi_stable::std_types::RVec<
                    $crate::__private::abi_stable::std_types::RString,
                >,
                $crate::PluginError,
            > {
                $crate::guard(|| {
                    Ok(
                        <$provider as $crate::Provider>::secret_params(operation.as_str())
                            .into_iter()
                            .map(Into::into)
                            .collect(),
                    )
                })
            }

            static MODULE: ::std::sync::OnceLock<$crate::ProviderModuleRef> =
                ::std::sync::OnceLock::new();
            *MODULE.get_or_init(|| {
                $crate::ProviderModule {
                    manifest,
                    plan,
                    interpret,
                    secret_params,
                }
                .leak_into_prefix()
            })
        }

        const _: () = {
            use $crate::__private::abi_stable::library as __sabi_library;

            extern "C" fn erased_root_module() -> __sabi_library::RootModuleResult {
                __sabi_library::__call_root_module_loader(revoker_root_module)
            }

            #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
            pub static REVOKER_LIB_HEADER: __sabi_library::LibHeader = unsafe {
                __sabi_library::LibHeader::from_constructor::<$crate::ProviderModuleRef>(
                    erased_root_module,
                    __sabi_library::CheckTypeLayout::Yes,
                )
            };
        };
    };
}

#[cfg(test)]
mod tests {
    use abi_stable::std_types::RStr;

    use super::*;
    use crate::{OutcomeKind, PluginErrorKind};

    #[test]
    fn root_module_symbol_matches_abi_stable() {
        assert_eq!(
            ROOT_MODULE_LOADER_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }

    mod panicky {
        use crate::*;

        pub struct Panicky;

        impl Provider for Panicky {
            fn manifest() -> Manifest {
                Manifest::new("panicky", "0.0.0", "https://panicky.example")
                    .operation(OperationSpec::new("boom", OperationKind::Revoke))
            }

            fn plan(_: &str, _: &Params) -> Result<HttpRequest, PluginError> {
                panic!("plan exploded")
            }

            fn interpret(
                _: &str,
                _: &Params,
                response: &HttpResponse,
            ) -> Result<Outcome, PluginError> {
                if response.status == 500 {
                    std::panic::panic_any(42_u32);
                }
                Ok(Outcome::new(OutcomeKind::Revoked))
            }
        }

        crate::export_provider!(Panicky);
    }

    #[test]
    fn exported_functions_turn_panics_into_errors() {
        let module = panicky::revoker_root_module();
        let params = Params::new();

        let err = module.plan()(RStr::from("boom"), &params).unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::Panicked);
        assert_eq!(err.message, "plugin panicked: plan exploded");

        let err = module.interpret()(RStr::from("boom"), &params, &HttpResponse::new(500, ""))
            .unwrap_err();
        assert_eq!(err.message, "plugin panicked: (no message)");

        let outcome =
            module.interpret()(RStr::from("boom"), &params, &HttpResponse::new(204, "")).unwrap();
        assert_eq!(outcome.kind, OutcomeKind::Revoked);
    }

    #[test]
    fn manifest_records_the_panic_strategy() {
        let manifest = panicky::revoker_root_module().manifest()().unwrap();
        assert_eq!(manifest.provider, "panicky");
        assert_eq!(manifest.panic_unwind, cfg!(panic = "unwind"));
    }
}
