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

            static MODULE: ::std::sync::OnceLock<$crate::ProviderModuleRef> =
                ::std::sync::OnceLock::new();
            *MODULE.get_or_init(|| {
                $crate::ProviderModule {
                    manifest,
                    plan,
                    interpret,
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

