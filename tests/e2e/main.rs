//! End-to-end tests: the built `revoker` binary with the built plugin files,
//! against local HTTP servers on 127.0.0.1 that each test starts and stops.
//!
//! Build the workspace first: `cargo build --workspace && cargo test --workspace`.

mod auth_kinds;
mod aws_iam;
mod bad_input;
mod bulk;
mod cli;
mod dolfin;
mod files;
mod findings;
mod github;
mod langwatch;
mod loading;
mod pinata;
mod rate_limits;
mod security;
mod third_party;
mod trust;
