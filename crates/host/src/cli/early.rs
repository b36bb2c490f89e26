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
    /// `--color`, if given and valid (clap reports an invalid one).
    pub color: Option<super::voice::ColorChoice>,
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
            } else if let Some(choice) = value_of("--color") {
                early.color = choice.to_str().and_then(super::voice::ColorChoice::parse);
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

    /// The configuration file and where its name came from: `--config`, else
    /// `REVOKER_CONFIG`, else the default place
    /// (`$XDG_CONFIG_HOME/revoker/config.toml`, `$XDG_CONFIG_HOME` being
    /// `~/.config` when unset), which need not exist.
    pub(crate) fn config_path(&self) -> Option<ConfigPath> {
        if let Some(path) = &self.config {
            return Some(ConfigPath {
                path: path.clone(),
                source: ConfigSource::Flag,
            });
        }
        if let Some(path) = std::env::var_os("REVOKER_CONFIG").filter(|v| !v.is_empty()) {
            return Some(ConfigPath {
                path: PathBuf::from(path),
                source: ConfigSource::Env,
            });
        }
        default_config_path().map(|path| ConfigPath {
            path,
            source: ConfigSource::Default,
        })
    }
}

/// The configuration file revoker reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigPath {
    pub path: PathBuf,
    pub source: ConfigSource,
}

/// Where the configuration file's name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfigSource {
    /// `--config FILE`: it must exist.
    Flag,
    /// `REVOKER_CONFIG`: it must exist.
    Env,
    /// The default place: read when it exists.
    Default,
}

impl ConfigSource {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Flag => "--config",
            Self::Env => "REVOKER_CONFIG",
            Self::Default => "default",
        }
    }
}

/// `$XDG_CONFIG_HOME/revoker/config.toml`, else `$HOME/.config/revoker/config.toml`
/// (an `XDG_CONFIG_HOME` that is not absolute is ignored, as the XDG base
/// directory specification says).
pub(crate) fn default_config_path() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| {
        let path = PathBuf::from(v);
        path.is_absolute().then_some(path)
    };
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|home| home.join(".config"))
        })?;
    Some(base.join("revoker").join("config.toml"))
}

/// What the library says on stderr. Without `-v` (or `RUST_LOG`), only its
/// warnings and errors, in the CLI's own voice (`revoker: warning: …`); only
/// errors with `-q`. With `-v` and up, logs: info, debug, trace, timestamped.
pub(crate) fn init_tracing(early: &EarlyArgs, color: bool) {
    let logs = early.verbosity > 0 || std::env::var_os("RUST_LOG").is_some();
    let default = match (early.quiet, early.verbosity) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false);
    let _ = if logs {
        subscriber.try_init()
    } else {
        subscriber
            .event_format(super::voice::PersonFormat)
            .try_init()
    };
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
    fn sees_color_in_both_spellings() {
        use super::super::voice::ColorChoice;
        assert_eq!(
            scan(&["--color", "never", "x"]).color,
            Some(ColorChoice::Never)
        );
        assert_eq!(scan(&["--color=always"]).color, Some(ColorChoice::Always));
        assert_eq!(scan(&["--color=rainbow"]).color, None);
    }

    #[test]
    fn stops_at_double_dash() {
        let early = scan(&["--", "--plugin-dir", "/a"]);
        assert_eq!(early, EarlyArgs::default());
    }
}
