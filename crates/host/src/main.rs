//! `revoker`: revoke API keys across SaaS providers, one or ten thousand at a
//! time. A thin CLI over the `revoker_host` library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run(std::env::args_os().collect())
}
