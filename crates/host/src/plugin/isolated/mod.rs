//! Running a plugin in a child process, so that a plugin that segfaults, aborts
//! or loops costs one request, not the run.
//!
//! The child is `revoker` itself in a hidden mode (`revoker __plugin-runner
//! fd:N`, see [`serve`]); it inherits descriptor N, the sealed copy of the
//! plugin's bytes that the host checked (Linux: never a path, which could have
//! changed since), loads it and answers the same `manifest`,
//! `plan` and `interpret` calls as a loaded plugin, one at a time, over a pipe:
//! each message a 4-byte little-endian length and a JSON body. A child that dies
//! or does not answer in time is reported (the call fails, naming the plugin),
//! killed, and replaced by a fresh one at the next call.

mod protocol;
mod runner;
mod serve;

pub(crate) use self::protocol::{Answer, Call};
pub(crate) use self::runner::Runner;
pub use self::runner::{ChildFailure, RunnerError};
pub use self::serve::serve_if_asked;
