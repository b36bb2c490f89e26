//! The `revoker` command line: parse, resolve, call the library, print, exit.

mod bulk;
mod command;
mod early;
mod output;

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ArgMatches;
use revoker_host::{Config, Error, ErrorCategory, Host, HostBuilder, Params, Registry, Request};

use self::early::EarlyArgs;
use self::output::OutputFormat;

/// The process exit codes of DESIGN.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Every item succeeded.
    Success = 0,
    /// At least one item failed at the provider or the network.
    Failure = 1,
    /// Usage or bad input: nothing was sent.
    Usage = 2,
    /// Plugin or configuration error.
    Config = 3,
    /// Stopped by Ctrl-C (128 + SIGINT).
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error that ends the command, with its exit code.
#[derive(Debug)]
pub(crate) struct Fatal {
    exit: Exit,
    message: String,
}

impl Fatal {
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Config,
            message: message.into(),
        }
    }
}

impl From<Error> for Fatal {
    fn from(error: Error) -> Self {
        let exit = match error.category() {
            ErrorCategory::Usage => Exit::Usage,
            _ => Exit::Config,
        };
        Self {
            exit,
            message: error.to_string(),
        }
    }
}

/// Runs the CLI with `args` (the program name first).
pub fn run(args: Vec<OsString>) -> ExitCode {
    match try_run(args) {
        Ok(exit) => exit.into(),
        Err(fatal) => {
            eprintln!("revoker: error: {}", fatal.message);
            fatal.exit.into()
        }
    }
}

fn try_run(args: Vec<OsString>) -> Result<Exit, Fatal> {
    let early = EarlyArgs::scan(&args);
    early::init_tracing(&early);

    let config = match early.config_path() {
        Some(path) => Config::load(&path)?,
        None => Config::default(),
    };
    let mut builder = Host::builder().with_env().config(config);
    for dir in &early.plugin_dirs {
        builder = builder.plugin_dir(dir);
    }
    if let Some(dir) = binary_dir() {
        builder = builder.fallback_plugin_dir(dir);
    }
    let registry = Registry::load(&builder.plugin_search_path());
    if !early.quiet {
        for refusal in registry.refusals() {
            eprintln!("revoker: warning: {refusal}");
        }
    }

    let matches = match command::build(&registry).try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(error) => {
            let _ = error.print();
            return Ok(if error.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            });
        }
    };
    let format = OutputFormat::from_matches(&matches);
    let loaded = registry.provider_names();
    let is_provider = |name: &str| registry.get(name).is_some();
    let is_provider = matches.subcommand_name().is_some_and(is_provider);
    let builder = builder.registry(registry);

    match matches.subcommand() {
        Some(("providers", sub)) => {
            let host = builder.build()?;
            let format = if sub.get_flag("json") {
                OutputFormat::Json
            } else {
                format
            };
            print(&output::providers(&host, format));
            Ok(Exit::Success)
        }
        Some(("bulk", sub)) => bulk::run(builder, sub, format, early.quiet),
        Some(("describe", sub)) => {
            let host = builder.build()?;
            let provider = sub.get_one::<String>("provider").expect("required");
            let operation = sub.get_one::<String>("operation");
            print(&output::describe(
                &host,
                provider,
                operation.map(String::as_str),
                format,
            )?);
            Ok(Exit::Success)
        }
        Some((provider, sub)) if is_provider => single_operation(builder, provider, sub, format),
        Some((unknown, _)) => Err(Fatal::usage(format!(
            "unknown command or provider {unknown:?} (commands: providers, describe, bulk; \
             loaded providers: {loaded})"
        ))),
        None => unreachable!("clap requires a subcommand"),
    }
}

/// `revoker PROVIDER OPERATION --PARAM VALUE… [--dry-run]`
fn single_operation(
    mut builder: HostBuilder,
    provider: &str,
    matches: &ArgMatches,
    format: OutputFormat,
) -> Result<Exit, Fatal> {
    let (operation, op_matches) = matches.subcommand().expect("clap requires an operation");
    if let Some(attempts) = op_matches.get_one::<u32>("max-attempts") {
        builder = builder.max_attempts(*attempts);
    }
    let host = builder.build()?;
    let spec = host
        .provider(provider)
        .and_then(|p| p.plugin().operation(operation))
        .expect("the command was built from this manifest");
    let params = Params::from_pairs(spec.params.iter().filter_map(|param| {
        op_matches
            .get_one::<String>(&param.name)
            .map(|value| (param.name.as_str(), value.as_str()))
    }));
    let request = Request::new(provider, operation, params);

    if op_matches.get_flag("dry-run") {
        let planned = host.plan(&request)?;
        print(&output::dry_run(&planned, format));
        return Ok(Exit::Success);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::config(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(host.execute(&request))?;
    print(&output::result(&result, format));
    Ok(if result.is_success() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) is not worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// The directory of the running `revoker` binary, where bundled plugins live.
fn binary_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let exe = exe.canonicalize().unwrap_or(exe);
    exe.parent().map(PathBuf::from)
}
