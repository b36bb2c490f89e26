//! How a plugin exports itself: the [`Provider`] trait and [`export_provider!`].

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use abi_stable::std_types::RResult;

use crate::{
    Auth, Feature, HttpRequest, HttpResponse, Manifest, Operation, OperationDetails, Outcome,
    Params, PluginError, Resolution,
};

/// A provider plugin: three pure functions, no I/O, no state.
///
/// Most plugins list their operations in [`Provider::OPERATIONS`], build the
/// manifest's operations from it with [`Manifest::operations`], and leave
/// `plan`, `interpret` and `secret_params` to their default implementations,
/// which dispatch through it. A plugin may instead implement those three
/// itself (and leave the table empty).
///
/// Export an implementation with [`export_provider!`](crate::export_provider).
pub trait Provider {
    /// The plugin's operations: what the default [`Provider::plan`],
    /// [`Provider::interpret`] and [`Provider::secret_params`] dispatch
    /// through, and what [`Manifest::operations`] lists. If it is not empty,
    /// the exported manifest may list no other operation (the host refuses a
    /// plugin whose manifest does). Empty by default.
    ///
    /// A Rust-side helper: it does not cross the ABI, so any host of plugin API
    /// 1 loads a plugin that uses it.
    const OPERATIONS: &'static [Operation] = &[];

    /// What the plugin is and what it can do. Called once, when the host loads it.
    fn manifest() -> Manifest;

    /// Plans the request for `operation` with `params`.
    ///
    /// The host has already checked `params` against the operation's
    /// [`ParamSpec`](crate::ParamSpec)s, but `plan` must not rely on that for
    /// safety: it validates what it uses and percent-encodes path segments.
    ///
    /// By default, the plan of the operation of that name in
    /// [`Provider::OPERATIONS`].
    ///
    /// # Errors
    ///
    /// An unknown operation or an invalid parameter, named in the error.
    fn plan(operation: &str, params: &Params) -> Result<HttpRequest, PluginError> {
        Operation::find(Self::OPERATIONS, operation)?.plan(params)
    }

    /// Reads the provider's response to the request [`Provider::plan`] made.
    ///
    /// Every status and body must give an [`Outcome`]; an `Err` is for a bug in
    /// the plugin, never for a response the provider sent.
    ///
    /// By default, the interpretation of the operation of that name in
    /// [`Provider::OPERATIONS`].
    ///
    /// # Errors
    ///
    /// An unknown operation.
    fn interpret(
        operation: &str,
        params: &Params,
        response: &HttpResponse,
    ) -> Result<Outcome, PluginError> {
        Operation::find(Self::OPERATIONS, operation)?.interpret(params, response)
    }

    /// The parameters of `operation` whose values are secrets: the host never
    /// shows, logs or records them (it writes `<redacted>` instead). Most
    /// revocation endpoints take a key's id, which is not secret; an endpoint
    /// that takes the key itself (as RFC 7009 token revocation does) declares it
    /// here. By default, those its entry in [`Provider::OPERATIONS`] declares
    /// ([`Operation::secret_params`]); none for an operation not in it.
    ///
    /// Added in plugin API 1.1: a host reading a plugin built against 1.0 sees
    /// no secret parameters.
    fn secret_params(operation: &str) -> Vec<String> {
        Operation::find(Self::OPERATIONS, operation)
            .map(|op| op.secrets().iter().map(|&name| name.to_owned()).collect())
            .unwrap_or_default()
    }

    /// How the host authenticates the provider's requests: a header (the
    /// default, from the manifest's `auth` and `credential_env`), HTTP Basic,
    /// AWS SigV4, OAuth 2.0 client credentials, or none. See [`Auth`].
    ///
    /// Added in plugin API 1.2. A plugin that returns a kind other than a header
    /// needs a 1.2 host: [`export_provider!`](crate::export_provider) makes older
    /// hosts refuse it (its manifest's `auth` then names the kind, which they
    /// reject as a header name), and newer hosts read the feature it needs.
    fn auth() -> Option<Auth> {
        None
    }

    /// Host features the plugin needs besides its auth kind's (which is added
    /// on its own): a host that lacks one refuses the plugin, naming it. None by
    /// default.
    ///
    /// Added in plugin API 1.2.
    fn requires() -> Vec<Feature> {
        Vec::new()
    }

    /// Each operation's request as a person reads it (method, path template,
    /// success answer), and how its lines travel (batched, asynchronous). By
    /// default, from [`Provider::OPERATIONS`] ([`Operation::request`],
    /// [`Operation::batched`], [`Operation::asynchronous`]).
    ///
    /// Added in plugin API 1.3: a host reading an earlier plugin sees none of
    /// this, and sends its lines one a request.
    fn details() -> Vec<OperationDetails> {
        Self::OPERATIONS.iter().map(Operation::details).collect()
    }

    /// Plans one request for the lines `items` of a batched operation (at most
    /// its [`OperationDetails::batch`], at least one). By default, through
    /// [`Provider::OPERATIONS`].
    ///
    /// Added in plugin API 1.3.
    ///
    /// # Errors
    ///
    /// An invalid parameter (the host then plans the lines one by one, so that
    /// only the bad one fails); an operation that is not batched.
    fn plan_batch(operation: &str, items: &[Params]) -> Result<HttpRequest, PluginError> {
        Operation::find(Self::OPERATIONS, operation)?.plan_batch(items)
    }

    /// Reads the answer to a batch [`Provider::plan_batch`] planned: one
    /// outcome for every line, or one per line, in order. By default, through
    /// [`Provider::OPERATIONS`].
    ///
    /// Added in plugin API 1.3.
    ///
    /// # Errors
    ///
    /// An unknown or unbatched operation (a bug in the plugin).
    fn interpret_batch(
        operation: &str,
        items: &[Params],
        response: &HttpResponse,
    ) -> Result<Vec<Outcome>, PluginError> {
        Operation::find(Self::OPERATIONS, operation)?.interpret_batch(items, response)
    }

    /// What the plugin makes of `secret`, found by a scanner that called it
    /// `hint` (TruffleHog's detector, a gitleaks rule, GitHub's secret type;
    /// maybe empty): `None` if it is not this provider's. `context` holds what
    /// else the finding says that is not secret (e.g. `access-key-id`,
    /// `user-name`) and the run's choices (`delete` = `true`). Offline and
    /// pure: decide from the secret's shape, never guess an id, and put no
    /// secret in the [`Resolution`] (name the parameter that takes it with
    /// [`ResolvedCall::with_secret_param`](crate::ResolvedCall::with_secret_param)).
    /// `None` by default.
    ///
    /// Added in plugin API 1.3: an earlier plugin resolves nothing.
    fn resolve(secret: &str, hint: &str, context: &Params) -> Option<Resolution> {
        let _ = (secret, hint, context);
        None
    }
}

/// The manifest as exported: `manifest`'s, with its `auth` and
/// `credential_env` brought in line with `auth` (for a kind other than a
/// header, `auth.header` names the kind so that a host older than plugin API
/// 1.2, which checks it as a header name, refuses the plugin rather than send
/// the credential the old way).
#[doc(hidden)]
pub fn exported_manifest(mut manifest: Manifest, auth: Option<&Auth>) -> Manifest {
    manifest.panic_unwind = cfg!(panic = "unwind");
    let Some(auth) = auth else {
        return manifest;
    };
    if let Some(part) = auth.parts.first() {
        manifest.credential_env = part.env.clone();
    }
    if auth.kind == "header" {
        manifest.auth = crate::AuthScheme::new(
            auth.setting("header").unwrap_or("Authorization"),
            auth.setting("prefix").unwrap_or(""),
        );
    } else {
        manifest.auth.header = format!(
            "(needs a revoker host of plugin API 1.2 or later, for auth kind {})",
            auth.kind
        )
        .into();
        manifest.auth.prefix = abi_stable::std_types::RString::new();
        if manifest.credential_env.is_empty() {
            manifest.credential_env = "(none)".into();
        }
    }
    manifest
}

/// The features exported: `auth`'s, those `details` need (batched or
/// asynchronous operations), then `requires`.
#[doc(hidden)]
pub fn exported_features(
    auth: Option<&Auth>,
    details: &[OperationDetails],
    requires: Vec<Feature>,
) -> Vec<Feature> {
    let batched = details
        .iter()
        .any(OperationDetails::is_batched)
        .then(|| Feature::new(crate::names::FEATURE_BATCH, "1.3"));
    let accepted = details
        .iter()
        .any(|d| d.asynchronous)
        .then(|| Feature::new(crate::names::FEATURE_ACCEPTED, "1.3"));
    auth.and_then(Auth::feature)
        .into_iter()
        .chain(batched)
        .chain(accepted)
        .chain(requires)
        .collect()
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

/// The message of a panic in [`guard_secret`]: the panic's own is withheld.
pub const WITHHELD_PANIC: &str =
    "panicked (its message is withheld: it may hold the secret it was given)";

/// [`guard`] for a call given a secret (`resolve`): a panic's message, which
/// may hold the secret, is neither printed by the panic hook nor returned
/// ([`WITHHELD_PANIC`] instead). The hook is silenced for the call only (it is
/// process-wide: a panic elsewhere meanwhile is not printed either, though its
/// message still reaches the host).
pub fn guard_secret<T>(f: impl FnOnce() -> Result<T, PluginError>) -> RResult<T, PluginError> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    match result {
        Ok(result) => result.into(),
        Err(_) => RResult::RErr(PluginError::panicked(WITHHELD_PANIC)),
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
/// with `panic = "unwind"`; refuses (as an error from `manifest`) a manifest
/// listing an operation that [`Provider::OPERATIONS`], if not empty, lacks; and
/// exports the root module the host loads. It also
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
                    let manifest = $crate::__private::exported_manifest(
                        <$provider as $crate::Provider>::manifest(),
                        <$provider as $crate::Provider>::auth().as_ref(),
                    );
                    $crate::__private::check_operation_table(
                        &manifest,
                        <$provider as $crate::Provider>::OPERATIONS,
                    )?;
                    Ok(manifest)
                })
            }

            extern "C" fn auth() -> RResult<
                $crate::__private::abi_stable::std_types::ROption<$crate::Auth>,
                $crate::PluginError,
            > {
                $crate::guard(|| Ok(<$provider as $crate::Provider>::auth().into()))
            }

            extern "C" fn requires() -> RResult<
                $crate::__private::abi_stable::std_types::RVec<$crate::Feature>,
                $crate::PluginError,
            > {
                $crate::guard(|| {
                    Ok($crate::__private::exported_features(
                        <$provider as $crate::Provider>::auth().as_ref(),
                        &<$provider as $crate::Provider>::details(),
                        <$provider as $crate::Provider>::requires(),
                    )
                    .into())
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

            extern "C" fn details() -> RResult<
                $crate::__private::abi_stable::std_types::RVec<$crate::OperationDetails>,
                $crate::PluginError,
            > {
                $crate::guard(|| Ok(<$provider as $crate::Provider>::details().into()))
            }

            extern "C" fn plan_batch<'a>(
                operation: RStr<'a>,
                items: $crate::__private::abi_stable::std_types::RSlice<'a, $crate::Params>,
            ) -> RResult<$crate::HttpRequest, $crate::PluginError> {
                $crate::guard(|| {
                    <$provider as $crate::Provider>::plan_batch(
                        operation.as_str(),
                        items.as_slice(),
                    )
                })
            }

            extern "C" fn interpret_batch<'a>(
                operation: RStr<'a>,
                items: $crate::__private::abi_stable::std_types::RSlice<'a, $crate::Params>,
                response: &'a $crate::HttpResponse,
            ) -> RResult<
                $crate::__private::abi_stable::std_types::RVec<$crate::Outcome>,
                $crate::PluginError,
            > {
                $crate::guard(|| {
                    <$provider as $crate::Provider>::interpret_batch(
                        operation.as_str(),
                        items.as_slice(),
                        response,
                    )
                    .map(Into::into)
                })
            }

            extern "C" fn resolve<'a>(
                secret: RStr<'a>,
                hint: RStr<'a>,
                context: &'a $crate::Params,
            ) -> RResult<
                $crate::__private::abi_stable::std_types::ROption<$crate::Resolution>,
                $crate::PluginError,
            > {
                $crate::guard_secret(|| {
                    Ok(<$provider as $crate::Provider>::resolve(
                        secret.as_str(),
                        hint.as_str(),
                        context,
                    )
                    .into())
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
                    auth,
                    requires,
                    details,
                    plan_batch,
                    interpret_batch,
                    resolve,
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
    fn a_panic_given_a_secret_keeps_its_message_to_itself() {
        let result: RResult<(), PluginError> =
            guard_secret(|| panic!("blew up on the secret sk-made-up"));
        let error = result.into_result().unwrap_err();
        assert_eq!(error.kind, PluginErrorKind::Panicked);
        assert!(!error.to_string().contains("sk-made-up"), "{error}");
        assert!(error.to_string().contains(WITHHELD_PANIC), "{error}");
        let fine: RResult<u8, PluginError> = guard_secret(|| Ok(7));
        assert_eq!(fine.into_result().unwrap(), 7);
    }

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
    fn a_manifest_with_another_auth_kind_is_refused_by_older_hosts() {
        let manifest = Manifest::new("acme", "1.0.0", "https://acme.example");
        let auth = crate::Auth::aws_sigv4("iam", "us-east-1");
        let exported = exported_manifest(manifest.clone(), Some(&auth));
        // Hosts before 1.2 parse `auth.header` as a header name: a space and
        // parentheses are not token characters (RFC 9110 §5.6.2), so they refuse.
        let header = exported.auth.header.as_str();
        assert!(header.contains(' ') && header.contains('('), "{header}");
        assert!(header.contains("aws-sigv4"));
        assert_eq!(exported.credential_env, "AWS_ACCESS_KEY_ID");
        let features = exported_features(Some(&auth), &[], Vec::new());
        assert_eq!(features[0].name, "auth:aws-sigv4");

        let bearer = crate::Auth::header("X-Key", "", "ACME_KEY");
        let exported = exported_manifest(manifest.clone(), Some(&bearer));
        assert_eq!(exported.auth, crate::AuthScheme::new("X-Key", ""));
        assert_eq!(exported.credential_env, "ACME_KEY");
        assert!(exported_features(Some(&bearer), &[], Vec::new()).is_empty());
        assert_eq!(
            exported_manifest(manifest.clone(), None).auth,
            manifest.auth
        );
    }

    #[test]
    fn batched_and_asynchronous_operations_require_the_host_features() {
        let mut batched = crate::OperationDetails::new("revoke-many");
        batched.batch = 1000;
        let features = exported_features(None, &[batched.clone()], Vec::new());
        let names: Vec<_> = features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["batch"]);
        batched.asynchronous = true;
        let features = exported_features(None, &[batched], Vec::new());
        let names: Vec<_> = features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["batch", "outcome:accepted"]);
        assert!(features.iter().all(|f| f.since == "1.3"));
        // One line a request needs nothing new.
        let single = crate::OperationDetails::new("revoke");
        assert!(exported_features(None, &[single], Vec::new()).is_empty());
    }

    mod mislisted {
        use crate::*;

        pub struct Mislisted;

        impl Provider for Mislisted {
            const OPERATIONS: &'static [Operation] = &[Operation::new(
                "revoke",
                OperationKind::Revoke,
                |_| Ok(HttpRequest::new(Method::Delete, "/k")),
                |_, _| Ok(Outcome::new(OutcomeKind::Revoked)),
            )
            .secret_params(&["token"])];

            fn manifest() -> Manifest {
                Manifest::new("mislisted", "0.0.0", "https://mislisted.example")
                    .operations(Self::OPERATIONS)
                    .operation(OperationSpec::new("purge", OperationKind::Revoke))
            }
        }
    }

    #[test]
    fn the_default_dispatch_goes_through_the_table() {
        use mislisted::Mislisted;
        let params = Params::new();
        assert_eq!(Mislisted::plan("revoke", &params).unwrap().path, "/k");
        let response = HttpResponse::new(200, "");
        assert_eq!(
            Mislisted::interpret("revoke", &params, &response)
                .unwrap()
                .kind,
            OutcomeKind::Revoked
        );
        assert_eq!(Mislisted::secret_params("revoke"), ["token"]);
        assert!(Mislisted::secret_params("purge").is_empty());
        for err in [
            Mislisted::plan("purge", &params).unwrap_err(),
            Mislisted::interpret("purge", &params, &response).unwrap_err(),
        ] {
            assert_eq!(err.kind, PluginErrorKind::UnknownOperation);
            assert_eq!(err.message, "unknown operation \"purge\"");
        }
    }

    #[test]
    fn manifest_records_the_panic_strategy() {
        let manifest = panicky::revoker_root_module().manifest()().unwrap();
        assert_eq!(manifest.provider, "panicky");
        assert_eq!(manifest.panic_unwind, cfg!(panic = "unwind"));
    }
}
