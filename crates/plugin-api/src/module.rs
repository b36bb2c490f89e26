//! The root module every plugin exports.

use abi_stable::StableAbi;
use abi_stable::library::RootModule;
use abi_stable::package_version_strings;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{ROption, RResult, RSlice, RStr, RString, RVec};

use crate::{
    Auth, Feature, HttpRequest, HttpResponse, Manifest, OperationDetails, Outcome, Params,
    PluginError, Resolution,
};

/// The plugin API version this crate defines: the major version of
/// `revoker-plugin-api`. The host refuses plugins built for another one.
///
/// It changes only for a breaking change to the ABI (see the crate docs); additive
/// changes keep it.
pub const PLUGIN_API_VERSION: u32 = 1;

/// The full version of this crate, e.g. `1.0.0`, that a plugin or host was built
/// with.
pub const PLUGIN_API_CRATE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The functions a plugin exports, as a prefix type: functions added in later
/// versions of this crate go below the last prefix field, and a host reading an
/// older plugin sees them as absent rather than misreading memory.
///
/// Plugins do not build this by hand: [`export_provider!`](crate::export_provider)
/// does, with every function wrapped by [`guard`](crate::guard).
#[repr(C)]
#[derive(StableAbi, Debug)]
#[sabi(kind(Prefix(prefix_ref = ProviderModuleRef)))]
#[sabi(missing_field(panic))]
pub struct ProviderModule {
    /// What the plugin is and what it can do.
    pub manifest: extern "C" fn() -> RResult<Manifest, PluginError>,

    /// Plans the HTTP request for `operation` with `params`.
    pub plan: for<'a> extern "C" fn(
        operation: RStr<'a>,
        params: &'a Params,
    ) -> RResult<HttpRequest, PluginError>,

    /// Interprets the response to a request `plan` made for `operation` and
    /// `params`.
    ///
    /// This is the last field of plugin API version 1: fields added later go below
    /// it and are read through `Option`-returning accessors.
    #[sabi(last_prefix_field)]
    pub interpret: for<'a> extern "C" fn(
        operation: RStr<'a>,
        params: &'a Params,
        response: &'a HttpResponse,
    ) -> RResult<Outcome, PluginError>,

    /// The parameters of `operation` whose values are secrets (e.g. the token
    /// itself, for an RFC 7009 revocation endpoint): the host never shows or
    /// records their values.
    ///
    /// Added in 1.1: `None` for a plugin built against 1.0, which has none.
    #[sabi(missing_field(option))]
    pub secret_params:
        for<'a> extern "C" fn(operation: RStr<'a>) -> RResult<RVec<RString>, PluginError>,

    /// How the host authenticates the provider's requests; `None` for the
    /// manifest's `auth` header.
    ///
    /// Added in 1.2: `None` for a plugin built against 1.0 or 1.1, whose
    /// manifest's `auth` says it all.
    #[sabi(missing_field(option))]
    pub auth: extern "C" fn() -> RResult<ROption<Auth>, PluginError>,

    /// The host features the plugin needs; a host without one refuses it.
    ///
    /// Added in 1.2: `None` for a plugin built against 1.0 or 1.1, which needs
    /// none.
    #[sabi(missing_field(option))]
    pub requires: extern "C" fn() -> RResult<RVec<Feature>, PluginError>,

    /// Each operation's request as a person reads it (method, path template,
    /// success answer) and how its lines travel (many to a request,
    /// asynchronous).
    ///
    /// Added in 1.3: `None` for an earlier plugin, whose operations say none of
    /// this and travel one line a request.
    #[sabi(missing_field(option))]
    pub details: extern "C" fn() -> RResult<RVec<OperationDetails>, PluginError>,

    /// Plans one request for the lines `items` of a batched operation.
    ///
    /// Added in 1.3, like `details`.
    #[sabi(missing_field(option))]
    pub plan_batch: for<'a> extern "C" fn(
        operation: RStr<'a>,
        items: RSlice<'a, Params>,
    ) -> RResult<HttpRequest, PluginError>,

    /// Reads the answer to a batch `plan_batch` planned: one outcome for every
    /// line, or one per line, in order.
    ///
    /// Added in 1.3, like `details`.
    #[sabi(missing_field(option))]
    pub interpret_batch: for<'a> extern "C" fn(
        operation: RStr<'a>,
        items: RSlice<'a, Params>,
        response: &'a HttpResponse,
    ) -> RResult<RVec<Outcome>, PluginError>,

    /// What the plugin makes of a secret a scanner found, given the scanner's
    /// type hint and what else the finding says (`context`): `None` if it is
    /// not its provider's.
    ///
    /// Added in 1.3: `None` for an earlier plugin, which resolves nothing.
    #[sabi(missing_field(option))]
    pub resolve: for<'a> extern "C" fn(
        secret: RStr<'a>,
        hint: RStr<'a>,
        context: &'a Params,
    ) -> RResult<ROption<Resolution>, PluginError>,
}

impl RootModule for ProviderModuleRef {
    abi_stable::declare_root_module_statics! {ProviderModuleRef}

    const BASE_NAME: &'static str = "revoker_provider";
    const NAME: &'static str = "revoker provider plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The root module as each earlier minor version declared it, frozen: a host
/// checks a plugin built against an earlier 1.x against that version's layout,
/// then reads it through [`ProviderModuleRef`], whose accessors for the fields
/// added since return `None` (they consult the plugin's own field count).
///
/// Each minor version that appends a function to [`ProviderModule`] adds the
/// layout it replaced here.
pub mod earlier {
    /// Plugin API 1.2: 1.1's functions, `auth` and `requires`.
    pub mod v1_2 {
        use abi_stable::StableAbi;
        use abi_stable::library::RootModule;
        use abi_stable::sabi_types::VersionStrings;
        use abi_stable::std_types::{ROption, RResult, RStr, RString, RVec};

        use crate::{
            Auth, Feature, HttpRequest, HttpResponse, Manifest, Outcome, Params, PluginError,
        };

        /// [`ProviderModule`](crate::ProviderModule) as of 1.2.
        #[repr(C)]
        #[derive(StableAbi, Debug)]
        #[sabi(kind(Prefix(prefix_ref = ProviderModuleRef)))]
        #[sabi(missing_field(panic))]
        pub struct ProviderModule {
            /// As in 1.0.
            pub manifest: extern "C" fn() -> RResult<Manifest, PluginError>,
            /// As in 1.0.
            pub plan: for<'a> extern "C" fn(
                operation: RStr<'a>,
                params: &'a Params,
            ) -> RResult<HttpRequest, PluginError>,
            /// As in 1.0.
            #[sabi(last_prefix_field)]
            pub interpret: for<'a> extern "C" fn(
                operation: RStr<'a>,
                params: &'a Params,
                response: &'a HttpResponse,
            ) -> RResult<Outcome, PluginError>,
            /// As in 1.1.
            #[sabi(missing_field(option))]
            pub secret_params:
                for<'a> extern "C" fn(operation: RStr<'a>) -> RResult<RVec<RString>, PluginError>,
            /// As in 1.2.
            #[sabi(missing_field(option))]
            pub auth: extern "C" fn() -> RResult<ROption<Auth>, PluginError>,
            /// As in 1.2.
            #[sabi(missing_field(option))]
            pub requires: extern "C" fn() -> RResult<RVec<Feature>, PluginError>,
        }

        impl RootModule for ProviderModuleRef {
            abi_stable::declare_root_module_statics! {ProviderModuleRef}

            const BASE_NAME: &'static str = "revoker_provider";
            const NAME: &'static str = "revoker provider plugin";
            const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.2.0");
        }
    }

    /// Plugin API 1.1: 1.0's functions and `secret_params`.
    pub mod v1_1 {
        use abi_stable::StableAbi;
        use abi_stable::library::RootModule;
        use abi_stable::sabi_types::VersionStrings;
        use abi_stable::std_types::{RResult, RStr, RString, RVec};

        use crate::{HttpRequest, HttpResponse, Manifest, Outcome, Params, PluginError};

        /// [`ProviderModule`](crate::ProviderModule) as of 1.1.
        #[repr(C)]
        #[derive(StableAbi, Debug)]
        #[sabi(kind(Prefix(prefix_ref = ProviderModuleRef)))]
        #[sabi(missing_field(panic))]
        pub struct ProviderModule {
            /// As in 1.0.
            pub manifest: extern "C" fn() -> RResult<Manifest, PluginError>,
            /// As in 1.0.
            pub plan: for<'a> extern "C" fn(
                operation: RStr<'a>,
                params: &'a Params,
            ) -> RResult<HttpRequest, PluginError>,
            /// As in 1.0.
            #[sabi(last_prefix_field)]
            pub interpret: for<'a> extern "C" fn(
                operation: RStr<'a>,
                params: &'a Params,
                response: &'a HttpResponse,
            ) -> RResult<Outcome, PluginError>,
            /// As in 1.1.
            #[sabi(missing_field(option))]
            pub secret_params:
                for<'a> extern "C" fn(operation: RStr<'a>) -> RResult<RVec<RString>, PluginError>,
        }

        impl RootModule for ProviderModuleRef {
            abi_stable::declare_root_module_statics! {ProviderModuleRef}

            const BASE_NAME: &'static str = "revoker_provider";
            const NAME: &'static str = "revoker provider plugin";
            const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.1.0");
        }
    }

    /// Plugin API 1.0: `manifest`, `plan`, `interpret`.
    pub mod v1_0 {
        use abi_stable::StableAbi;
        use abi_stable::library::RootModule;
        use abi_stable::sabi_types::VersionStrings;
        use abi_stable::std_types::{RResult, RStr};

        use crate::{HttpRequest, HttpResponse, Manifest, Outcome, Params, PluginError};

        /// [`ProviderModule`](crate::ProviderModule) as of 1.0.
        #[repr(C)]
        #[derive(StableAbi, Debug)]
        #[sabi(kind(Prefix(prefix_ref = ProviderModuleRef)))]
        #[sabi(missing_field(panic))]
        pub struct ProviderModule {
            /// As in 1.0.
            pub manifest: extern "C" fn() -> RResult<Manifest, PluginError>,
            /// As in 1.0.
            pub plan: for<'a> extern "C" fn(
                operation: RStr<'a>,
                params: &'a Params,
            ) -> RResult<HttpRequest, PluginError>,
            /// As in 1.0.
            #[sabi(last_prefix_field)]
            pub interpret: for<'a> extern "C" fn(
                operation: RStr<'a>,
                params: &'a Params,
                response: &'a HttpResponse,
            ) -> RResult<Outcome, PluginError>,
        }

        impl RootModule for ProviderModuleRef {
            abi_stable::declare_root_module_statics! {ProviderModuleRef}

            const BASE_NAME: &'static str = "revoker_provider";
            const NAME: &'static str = "revoker provider plugin";
            const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_api_version_is_the_crate_major_version() {
        let major: u32 = env!("CARGO_PKG_VERSION_MAJOR").parse().unwrap();
        assert_eq!(major, PLUGIN_API_VERSION);
    }
}
