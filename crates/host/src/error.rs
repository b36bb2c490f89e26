//! The host library's errors: what went wrong before a request could be sent.
//!
//! What happens *at* the provider is never an error: it is an
//! [`Outcome`](crate::Outcome) in a [`RequestResult`](crate::RequestResult).
//! Errors are for requests that could not be made at all, and none of them ever
//! carries a credential.

use std::path::PathBuf;

use crate::model::Outcome;

/// An error of the host library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No loaded plugin provides this provider.
    #[error("unknown provider {provider:?} (loaded providers: {loaded})")]
    UnknownProvider {
        /// The provider asked for.
        provider: String,
        /// The loaded providers, comma-separated, or `none`.
        loaded: String,
    },

    /// The provider has no such operation.
    #[error("provider {provider} has no operation {operation:?} (operations: {known})")]
    UnknownOperation {
        /// The provider.
        provider: String,
        /// The operation asked for.
        operation: String,
        /// The provider's operations, comma-separated.
        known: String,
    },

    /// A parameter is missing, empty, unknown or malformed.
    #[error("invalid request for {provider} {operation}: {message}")]
    InvalidParams {
        /// The provider.
        provider: String,
        /// The operation.
        operation: String,
        /// The parameter at fault, if one is.
        param: Option<String>,
        /// What is wrong, naming the parameter.
        message: String,
    },

    /// The credential for a provider is not set.
    #[error(
        "no credential for provider {provider}: {expected}{}",
        lines.map_or(String::new(), |n| format!("; {n} lines of the input need it"))
    )]
    MissingCredential {
        /// The provider.
        provider: String,
        /// Where it was looked for (the builder, a variable, a file), and what
        /// to do.
        expected: String,
        /// How many lines of a bulk input need it.
        lines: Option<u64>,
    },

    /// The configuration is invalid.
    #[error("{source_name}: {message}")]
    Config {
        /// Where the bad setting came from: a file path, a variable or a flag.
        source_name: String,
        /// What is wrong with it.
        message: String,
    },

    /// A configuration file could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },

    /// The configuration file could be changed by someone else than this user
    /// or root: it decides where credentials go, so it is not read.
    #[error("refusing config file {}: {source}", path.display())]
    ConfigUntrusted {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        source: Box<crate::trusted::Untrusted>,
    },

    /// The provider's plugin failed, or planned a request the host refuses to send.
    #[error("{message}")]
    PluginFailed {
        /// The provider.
        provider: String,
        /// What happened, naming the plugin.
        message: String,
    },

    /// The provider's plugin file was refused at load (another interface, a
    /// host feature missing, an untrusted file, …).
    #[error("provider {provider} is not loaded: its plugin {} was refused: {reason}", path.display())]
    PluginRefused {
        /// The provider.
        provider: String,
        /// The plugin file.
        path: PathBuf,
        /// Why it was refused, in one line.
        reason: String,
    },

    /// No plugin was loaded from any of the directories searched.
    #[error(
        "no provider plugin loaded (searched: {}{}): put the plugin files (librevoker_*.so) \
         beside the revoker binary or in one of these directories",
        searched_list(searched),
        match refused {
            0 => String::new(),
            n => format!("; {n} plugin files refused, see the warnings"),
        }
    )]
    NoPlugins {
        /// The directories searched, in order.
        searched: Vec<PathBuf>,
        /// How many plugin files were found but refused.
        refused: usize,
    },

    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    HttpClient(String),

    /// The bulk input could not be read.
    #[error("{0}")]
    Input(String),

    /// The journal cannot be used for this run (another run holds it, it
    /// belongs to another input, it is not a journal): nothing was sent.
    #[error("{0}")]
    JournalRefused(String),

    /// The report or the journal could not record what the run must record
    /// before it goes on: nothing more is sent.
    #[error("{0}: nothing more is sent")]
    Record(#[from] RecordError),

    /// The audit log is required and could not record an attempt: nothing more
    /// is sent.
    #[error("{0}: nothing more is sent (the audit log is required)")]
    Audit(#[from] AuditError),

    /// Two files of a run (input, journal, report, audit log) are one file:
    /// nothing was written or sent.
    #[error(transparent)]
    SameFile(#[from] crate::files::SameFile),

    /// A file the run would write is a symbolic link, not a regular file, or
    /// another user's: nothing was written or sent.
    #[error("cannot write the {role}: {source}")]
    UnsafeFile {
        /// What the file is for: `journal`, `report`, `audit log`.
        role: &'static str,
        /// What is wrong with it.
        source: crate::files::UnsafeFile,
    },
}

/// Which file of a bulk run a [`RecordError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordFile {
    /// The report: every line's result, created keys' values included.
    Report,
    /// The journal: every line's final outcome, for resuming.
    Journal,
}

impl std::fmt::Display for RecordFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Report => "report",
            Self::Journal => "journal",
        })
    }
}

/// The report or journal of a bulk run could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Writing, syncing or opening the file failed.
    #[error("cannot write the {file}: {message}")]
    Write {
        /// Which file.
        file: RecordFile,
        /// What the system said.
        kind: std::io::ErrorKind,
        /// The error, in words (no secret: the system's message and a path).
        message: String,
    },
    /// The writer thread stopped before it wrote everything (it panicked).
    #[error("the writer of the report and journal stopped")]
    Stopped,
}

impl RecordError {
    pub(crate) fn write(file: RecordFile, error: &std::io::Error) -> Self {
        Self::Write {
            file,
            kind: error.kind(),
            message: error.to_string(),
        }
    }
}

/// The audit log could not record an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot write the audit log {}: {message}", path.display())]
pub struct AuditError {
    /// The log.
    pub path: PathBuf,
    /// What the system said.
    pub kind: std::io::ErrorKind,
    /// The error, in words.
    pub message: String,
}

/// The broad class of an [`Error`], which decides the CLI's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// Bad input from the user: nothing was sent (exit code 2).
    Usage,
    /// Bad configuration, a missing credential or a plugin that failed
    /// (exit code 3).
    Config,
    /// The journal, report or audit log could not be written: the run stopped
    /// so as not to do what it cannot record (exit code 3).
    Record,
}

impl Error {
    /// Which class of error this is.
    pub fn category(&self) -> ErrorCategory {
        match self {
            Self::UnknownProvider { .. }
            | Self::UnknownOperation { .. }
            | Self::InvalidParams { .. } => ErrorCategory::Usage,
            Self::MissingCredential { .. }
            | Self::Config { .. }
            | Self::ConfigRead { .. }
            | Self::ConfigUntrusted { .. }
            | Self::PluginFailed { .. }
            | Self::PluginRefused { .. }
            | Self::NoPlugins { .. }
            | Self::HttpClient(_) => ErrorCategory::Config,
            Self::Record(_) | Self::Audit(_) => ErrorCategory::Record,
            Self::Input(_)
            | Self::JournalRefused(_)
            | Self::SameFile(_)
            | Self::UnsafeFile { .. } => ErrorCategory::Usage,
        }
    }

    /// The outcome of the request this error kept from being sent, as its
    /// result reports it (a bulk line's, say): `invalid-request` for a bad
    /// request (an unknown provider or operation, a bad parameter),
    /// `plugin-error` for a plugin that failed or planned a request the host
    /// refuses to send; `None` for an error that is not about one request.
    pub fn outcome(&self) -> Option<Outcome> {
        match self {
            Self::UnknownProvider { .. }
            | Self::UnknownOperation { .. }
            | Self::InvalidParams { .. } => Some(Outcome::InvalidRequest),
            Self::PluginFailed { .. } | Self::PluginRefused { .. } => Some(Outcome::PluginError),
            _ => None,
        }
    }

    pub(crate) fn config(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            source_name: source_name.into(),
            message: message.into(),
        }
    }
}

fn searched_list(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "no directories".to_owned();
    }
    dirs.iter()
        .map(|dir| dir.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The host library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
