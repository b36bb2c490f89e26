//! The stable ABI between the `revoker` host and its provider plugins.
//!
//! A provider plugin is a `cdylib` that teaches Revoker one SaaS provider's key
//! revocation API. It is **sans-IO**: it never opens a socket, reads a file, looks
//! at the clock or the environment, or sees a credential. It is three pure
//! functions behind this ABI, called by the host in this order:
//!
//! ```text
//!            host                                  plugin
//!  load ───────────────────────────────────► manifest()      what I am, what I can do
//!  Request{provider, operation, params} ───► plan()          ─► HttpRequest (relative path, no auth)
//!  base URL + credential + retries + I/O
//!  HttpResponse ───────────────────────────► interpret()     ─► Outcome
//! ```
//!
//! The host owns everything else: TLS, connection pooling, timeouts, retries, rate
//! limits, secrets, journals and reports. Because [`HttpRequest::path`] is relative
//! to the provider's configured base URL and the plugin never sees the credential,
//! a credential can only ever be sent to the base URL configured for its provider.
//!
//! # Writing a plugin
//!
//! A plugin crate is `crate-type = ["cdylib", "rlib"]` (the `rlib` lets its unit
//! tests and benches link it directly), depends on this crate, implements
//! [`Provider`] and exports it with [`export_provider!`]. Its operations are a
//! table ([`Provider::OPERATIONS`] of [`Operation`]s): the manifest lists them
//! ([`Manifest::operations`]) and `plan`, `interpret` and `secret_params`
//! dispatch through them, so the two cannot disagree:
//!
//! ```
//! use revoker_plugin_api::{
//!     AuthScheme, HttpRequest, HttpResponse, Manifest, Method, Operation, OperationKind,
//!     Outcome, OutcomeKind, ParamKind, ParamSpec, Params, PluginError, Provider, path,
//! };
//!
//! pub struct Acme;
//!
//! impl Provider for Acme {
//!     const OPERATIONS: &'static [Operation] = &[Operation::new(
//!         "revoke-key",
//!         OperationKind::Revoke,
//!         plan_revoke_key,
//!         read_revoke_key,
//!     )
//!     .describe(|op| {
//!         op.summary("Revoke an API key by id")
//!             .idempotent(true)
//!             .param(ParamSpec::required("id", ParamKind::String, "the key's id"))
//!     })];
//!
//!     fn manifest() -> Manifest {
//!         Manifest::new("acme", env!("CARGO_PKG_VERSION"), "https://api.acme.example")
//!             .description("Acme Cloud API keys")
//!             .auth(AuthScheme::new("Authorization", "Bearer "))
//!             .credential_env("ACME_TOKEN")
//!             .operations(Self::OPERATIONS)
//!     }
//! }
//!
//! /// `DELETE /v1/keys/{id}`: `path!` percent-encodes each segment.
//! fn plan_revoke_key(params: &Params) -> Result<HttpRequest, PluginError> {
//!     let id = params.require_kind("id", ParamKind::String)?;
//!     Ok(HttpRequest::new(Method::Delete, path!("/v1/keys/{}", id)))
//! }
//!
//! fn read_revoke_key(_params: &Params, response: &HttpResponse) -> Result<Outcome, PluginError> {
//!     Ok(match response.status {
//!         204 => Outcome::new(OutcomeKind::Revoked),
//!         404 => Outcome::new(OutcomeKind::NotFound),
//!         // The usual reading of the status, with a snippet of the body.
//!         status => Outcome::from_status(status).error_detail(response, None),
//!     })
//! }
//!
//! revoker_plugin_api::export_provider!(Acme);
//! revoker_plugin_api::standard_tests!(Acme);
//! # fn main() {
//! # let request = Acme::plan("revoke-key", &Params::from_pairs([("id", "k 1")])).unwrap();
//! # assert_eq!(request.path.as_str(), "/v1/keys/k%201");
//! # }
//! ```
//!
//! Test a plugin without a network by calling its [`Provider`] functions directly
//! with the params and [`HttpResponse`]s its provider's API documents describe;
//! [`standard_tests!`] adds, in one line, the tests every plugin needs (with the
//! `testing` feature, see the `testing` module).
//!
//! How the host authenticates the requests is the manifest's `auth` header by
//! default; [`Provider::auth`] declares another [`Auth`] kind (HTTP Basic, AWS
//! SigV4, OAuth 2.0 client credentials, none), which needs a host of plugin API
//! 1.2. The host holds every credential part and never gives a secret one to the
//! plugin.
//!
//! This crate is not published on crates.io: a plugin depends on it from the
//! Revoker repository (a git dependency pinned to a tag) or by path (it builds on
//! its own, copied anywhere).
//!
//! # What a plugin must never do
//!
//! Perform I/O, spawn threads or runtimes, keep mutable global state, read the
//! environment, or return a path that is not a plain absolute path (`/...`): the
//! host refuses such requests. It must not set `Authorization`, `Host`, `Cookie`
//! or its own credential header: the host injects the credential.
//!
//! # Compatibility
//!
//! [`PLUGIN_API_VERSION`] is the major version of this crate. The host refuses a
//! plugin built for another plugin API version with one line naming the file and
//! both versions. Within one version:
//!
//! * **Additive** (older plugins keep loading, newer plugins load in older hosts):
//!   new functions appended to [`ProviderModule`] after its last prefix field
//!   (the host sees `None` for them in older plugins and falls back to a default),
//!   with a default method on [`Provider`] so that a plugin rebuilt without
//!   change still compiles; new helper functions and methods on these types. They
//!   bump this crate's minor version. 1.1 added [`Provider::secret_params`];
//!   1.2 added [`Provider::auth`] (auth kinds the host implements) and
//!   [`Provider::requires`] (host features a plugin needs), and the Rust-side
//!   helpers that change nothing across the boundary: the operation table
//!   ([`Operation`], [`Provider::OPERATIONS`]), [`path!`], [`standard_tests!`];
//!   1.3 added [`Provider::details`] (each operation's method, path template
//!   and success answer, for `describe`; batched and asynchronous operations),
//!   [`Provider::plan_batch`] and [`Provider::interpret_batch`] (many lines in
//!   one request: [`Operation::batched`]), and [`Provider::resolve`] (a secret
//!   a scanner found, resolved offline to the calls that kill it). A plugin
//!   with a batched or asynchronous operation requires the host features
//!   `batch` and `outcome:accepted`, so an older host refuses it rather than
//!   send its lines one by one or call an accepted token revoked.
//! * **Breaking** (bumps the plugin API version and this crate's major version):
//!   any change to the fields of a type that crosses the boundary ([`Manifest`],
//!   [`OperationSpec`], [`ParamSpec`], [`HttpRequest`], [`HttpResponse`],
//!   [`Outcome`], [`PluginError`]), a new enum variant, or a change to an existing
//!   function's signature. `abi_stable` checks the layout of everything reachable
//!   from the root module at load time, so such a mismatch is refused, never
//!   misread.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod auth;
mod details;
mod error;
mod export;
mod manifest;
mod message;
pub mod module;
pub mod names;
mod operation;
mod outcome;
mod params;
mod resolve;
mod standard_tests;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use auth::{Auth, CredentialPart, Feature, Setting};
pub use details::OperationDetails;
pub use error::{PluginError, PluginErrorKind};
pub use export::{Provider, WITHHELD_PANIC, guard, guard_secret};
pub use manifest::{
    AuthScheme, Manifest, OperationKind, OperationSpec, ParamKind, ParamSpec, RateLimit,
};
pub use message::{
    Header, HttpRequest, HttpResponse, Method, encode_path_segment, form_encode, join_detail,
};
pub use module::{PLUGIN_API_CRATE_VERSION, PLUGIN_API_VERSION, ProviderModule, ProviderModuleRef};
pub use operation::{InterpretBatchFn, InterpretFn, Operation, PlanBatchFn, PlanFn};
pub use outcome::{CreatedField, Outcome, OutcomeKind};
pub use params::{Param, Params};
pub use resolve::{Lookup, Resolution, ResolutionKind, ResolvedCall};

/// Re-exported so plugins and the host name the same `abi_stable` types.
pub use abi_stable;

#[doc(hidden)]
pub mod __private {
    pub use crate::export::{ROOT_MODULE_LOADER_SYMBOL, exported_features, exported_manifest};
    pub use crate::message::check_path_template;
    pub use crate::operation::check_operation_table;
    pub use abi_stable;
}
