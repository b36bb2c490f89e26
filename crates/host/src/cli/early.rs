//! The few options needed before the full command line can be parsed: the CLI's
//! subcommands come from the plugins, and where plugins are comes from options.
//!
//! This scan only looks; clap parses everything again, and reports errors.

use std::ffi::OsString;
use std::path::PathBuf;

use tracing_subscriber::EnvFilter;

/// Options read before plugins are loaded.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct EarlyArgs {
    pub plugin_dirs: Vec<PathBuf>,
    pub config: Option<PathBuf>,
    pub verbosity: u8,
    pub quiet: bool,
    pub isolate: bool,
}

impl EarlyArgs {
    /// Scans `args` (program name first) up to a `--`.
    pub(crate) fn scan(args: &[OsString]) -> Self {
        let mut early = Self::default();
        let mut iter = args.iter().skip(1);
        while let Some(arg) = iter.next() {
            let Some(arg) = arg.to_str() else { continue };
            let mut value_of = |flag: &str| -> Option<PathBuf> {
                if arg == flag {
                    iter.next().map(PathBuf::from)
                } else {
                    arg.strip_prefix(flag)
                        .and_then(|rest| rest.strip_prefix('='))
                        .map(PathBuf::from)
                }
            };
            if arg == "--" {
                break;
            } else if let Some(dir) = value_of("--plugin-dir") {
                early.plugin_dirs.push(dir);
            } else if let Some(path) = value_of("--config") {
                early.config = Some(path);
            } else if arg == "--verbose" {
                early.verbosity = early.verbosity.saturating_add(1);
            } else if arg == "--quiet" {
                early.quiet = true;
            } else if arg == "--isolate" {
                early.isolate = true;
            } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| {
                !s.starts_with('-') && !s.is_empty() && s.chars().all(|c| c == 'v' || c == 'q')
            }) {
                for c in shorts.chars() {
                    match c {
                        'v' => early.verbosity = early.verbosity.saturating_add(1),
                        _ => early.quiet = true,
                    }
                }
            }
        }
        early
    }

    /// The configuration file: `--config`, else `REVOKER_CONFIG`.
    pub(crate) fn config_path(&self) -> Option<PathBuf> {
        self.config.clone().or_else(|| {
            std::env::var_os("REVOKER_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
    }
}

/// Logs to stderr: `RUST_LOG` if set, else warnings, more with each `-v`, only
/// errors with `-q`.
pub(crate) fn init_tracing(early: &EarlyArgs) {
    let default = match (early.quiet, early.verbosity) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(args: &[&str]) -> EarlyArgs {
        let args: Vec<OsString> = std::iter::once("revoker")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        EarlyArgs::scan(&args)
    }

    #[test]
    fn finds_plugin_dirs_and_config_in_both_spellings() {
        let early = scan(&[
            "--plugin-dir",
            "/a",
            "--plugin-dir=/b",
            "--config=/c.toml",
            "pinata",
        ]);
        assert_eq!(
            early.plugin_dirs,
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(early.config, Some(PathBuf::from("/c.toml")));
    }

    #[test]
    fn counts_verbosity_and_quiet() {
        assert_eq!(scan(&["-vv", "--verbose", "providers"]).verbosity, 3);
        assert!(scan(&["-q"]).quiet);
        assert_eq!(scan(&["--value", "-vx"]).verbosity, 0);
    }

    #[test]
    fn sees_isolate() {
        assert!(scan(&["--isolate", "bulk", "x"]).isolate);
        assert!(!scan(&["bulk", "x"]).isolate);
    }

    #[test]
    fn stops_at_double_dash() {
        let early = scan(&["--", "--plugin-dir", "/a"]);
        assert_eq!(early, EarlyArgs::default());
    }
}
