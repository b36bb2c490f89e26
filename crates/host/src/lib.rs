//! Revoker's host: loads provider plugins, sends the requests they plan, and
//! reports what happened, one key at a time or by the thousand.
//!
//! The `revoker` binary is a thin CLI over this library; ops tooling (incident
//! bots, rotation jobs) embeds it the same way.
//!
//! ```text
//! Request{provider, operation, params}
//!   ─► Host::plan      registry: find plugin, check params, plugin.plan(), check the path
//!   ─► Host::send      base URL + credential, rate limit, retries, one shared client
//!   ─► plugin.interpret ─► RequestResult{outcome, status, request_id, attempts, detail}
//! ```
//!
//! Plugins are sans-IO `cdylib`s (see `revoker-plugin-api`): the host owns every
//! socket, timer and secret. A credential is only ever sent to the base URL
//! configured for its provider, and never appears in a log, an error or a
//! `Debug` output.
//!
//! # Revoking one key
//!
//! ```no_run
//! use revoker_host::{Host, Request};
//! use revoker_plugin_api::Params;
//! use secrecy::SecretString;
//!
//! # async fn run() -> Result<(), revoker_host::Error> {
//! let host = Host::builder()
//!     .plugin_dir("/usr/lib/revoker/plugins")
//!     .credential("dolfin", SecretString::from("my-admin-key"))
//!     .build()?;
//! let request = Request::new(
//!     "dolfin",
//!     "revoke-api-key",
//!     Params::from_pairs([("id", "5eb8b151-77b3-4e46-8243-5b6282131a9e")]),
//! );
//! let result = host.execute(&request).await?;
//! println!("{}: {}", result.outcome, result.detail.unwrap_or_default());
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

pub mod audit;
mod auth;
pub mod bulk;
pub mod civil;
mod config;
mod error;
mod files;
pub mod findings;
mod flow;
mod host;
mod interpret;
mod load;
mod model;
mod outbound;
mod plan;
mod plugin;
mod provider;
pub mod resolution;
mod send;
mod settings;
pub mod text;
mod trusted;

pub use config::{Config, Rate};
pub use error::{AuditError, Error, ErrorCategory, RecordError, RecordFile, Result};
pub use files::{Problem as FileProblem, SameFile, UnsafeFile};
pub use host::{Host, HostBuilder};
pub use load::{CredentialSource, Isolation, LoadError, LoadOptions, Refusal, Registry};
pub use model::{
    FieldValue, LineDigest, Outcome, Request, RequestResult, ResultJson, UnknownOutcome,
};
pub use plan::{PlannedJson, PlannedRequest};
pub use plugin::in_process::ModuleError;
pub use plugin::info::{ManifestError, Reserved, ReservedName};
pub use plugin::isolated::{ChildFailure, RunnerError};
pub use plugin::{Plugin, PluginCallError};
pub use provider::{FlowStatus, ProviderRuntime};
pub use send::HttpOptions;
pub use send::retry::RetryPolicy;
pub use trusted::{Fault as TrustFault, Place as TrustPlace, Untrusted};

pub use plugin::isolated::serve_if_asked as serve_plugin_runner_if_asked;

pub use revoker_plugin_api::{OutcomeKind, Params};
pub use secrecy::SecretString;
