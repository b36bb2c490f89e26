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
pub mod bulk;
pub mod config;
mod error;
mod executor;
mod host;
pub mod isolate;
pub mod loader;
pub mod outbound;
mod plugin;
mod provider;
mod registry;
mod result;
pub mod retry;
pub mod trust;

pub use config::{Config, Rate};
pub use error::{Error, ErrorCategory, Result};
pub use executor::HttpOptions;
pub use host::{Host, HostBuilder, PlannedJson, PlannedRequest};
pub use plugin::{Plugin, PluginCallError};
pub use provider::ProviderRuntime;
pub use registry::{Refusal, Registry};
pub use result::{FieldValue, Request, RequestResult, ResultJson};
pub use retry::RetryPolicy;

pub use revoker_plugin_api::{OutcomeKind, Params};
pub use secrecy::SecretString;
