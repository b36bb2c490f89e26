//! The `revoker` command line: parse, resolve, call the library, print, exit.

mod bulk;
mod command;
mod early;
mod findings;
mod output;
mod summarize;
mod voice;

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::ArgMatches;
use revoker_host::audit::AuditLog;
use revoker_host::{
    Config, Error, ErrorCategory, Host, HostBuilder, Params, Registry, Request, SecretString,
};

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
    /// The confirmation prompt was declined: nothing was sent.
    Declined = 4,
    /// `audit verify`: the audit log cannot be read.
    Unreadable = 5,
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
            // Config, a record that cannot be written, and whatever comes later.
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
    // First, in the process that will hold credentials and in each isolated
    // plugin's process alike (an exec makes a process dumpable again).
    harden_process();
    // The hidden mode in which revoker serves one isolated plugin to its parent.
    if let Some(code) = revoker_host::serve_plugin_runner_if_asked() {
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    // A file that reaches the size limit (`ulimit -f`) is a write error to
    // report, not a signal that kills the run between a request and its record.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" before any thread starts.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    match try_run(args) {
        Ok(exit) => exit.into(),
        Err(fatal) => {
            voice::error(&fatal.message);
            fatal.exit.into()
        }
    }
}

fn try_run(args: Vec<OsString>) -> Result<Exit, Fatal> {
    // `revoker --version` alone needs no plugin: answered before any is
    // loaded (each costs its checks, its load and its layout check).
    if let [_, flag] = args.as_slice()
        && (flag == "--version" || flag == "-V")
    {
        print(&format!("revoker {}\n", command::version()));
        return Ok(Exit::Success);
    }
    let early = EarlyArgs::scan(&args);
    let color_choice = early.color.unwrap_or_default();
    let color = color_choice.for_stderr();
    voice::set_color(color);
    early::init_tracing(&early, color);

    let config_path = early.config_path();
    let config = match &config_path {
        // The default place is read only when there is a file there.
        Some(found) if found.source == early::ConfigSource::Default && !found.path.exists() => {
            Config::default()
        }
        Some(found) => Config::load(&found.path)?,
        None => Config::default(),
    };
    let mut builder = Host::builder()
        .with_env()
        .config(config.clone())
        .isolate_all(early.isolate)
        .reserved(command::reserved());
    if let Ok(exe) = std::env::current_exe() {
        builder = builder.plugin_runner(exe);
    }
    for dir in &early.plugin_dirs {
        builder = builder.plugin_dir(dir);
    }
    if let Some(dir) = binary_dir() {
        builder = builder.fallback_plugin_dir(dir);
    }
    let searched = builder.plugin_search_path();
    let registry = Registry::load(&searched, &builder.load_options());
    let no_plugins = registry.plugins().is_empty().then(|| Error::NoPlugins {
        searched,
        refused: registry.refusals().len(),
    });
    if !early.quiet {
        for refusal in registry.refusals() {
            voice::warning(&refusal.to_string());
        }
    }

    let cli = || command::build(&registry, &config).color(color_choice.clap(color));
    let matches = match cli().try_get_matches_from(&args) {
        Ok(matches) => matches,
        Err(error) if error.use_stderr() => {
            eprint!("{}", voice::clap_error(&error));
            return Ok(Exit::Usage);
        }
        Err(error) => {
            // Help and version, on stdout.
            let _ = error.print();
            return Ok(Exit::Success);
        }
    };
    let format = OutputFormat::from_matches(&matches);
    let json_asked = matches.value_source("output") == Some(clap::parser::ValueSource::CommandLine)
        && format == OutputFormat::Json;
    match matches.subcommand() {
        Some((name @ ("completions" | "man"), _)) if json_asked => {
            return Err(Fatal::usage(format!(
                "`revoker {name}` prints a {} for a program, not a result: --output json does not \
                 apply to it",
                if name == "man" {
                    "man page"
                } else {
                    "shell script"
                }
            )));
        }
        Some(("completions", sub)) => {
            let shell = *sub
                .get_one::<clap_complete::Shell>("shell")
                .expect("required");
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cli(), "revoker", &mut out);
            print(&String::from_utf8_lossy(&out));
            return Ok(Exit::Success);
        }
        Some(("man", sub)) => {
            let mut page = cli();
            page.build();
            let mut name = String::from("revoker");
            for word in sub.get_many::<String>("command").into_iter().flatten() {
                page = page
                    .find_subcommand(word)
                    .cloned()
                    .ok_or_else(|| Fatal::usage(format!("`revoker {word}`: no such command")))?;
                name = format!("{name}-{word}");
            }
            let mut out = Vec::new();
            clap_mangen::Man::new(page.name(name).version(command::version()))
                .render(&mut out)
                .map_err(|e| Fatal::config(format!("cannot write the man page: {e}")))?;
            print(&String::from_utf8_lossy(&out));
            return Ok(Exit::Success);
        }
        Some(("config", sub)) => return config_command(sub, config_path.as_ref(), format),
        Some(("summarize", sub)) => return summarize::run(sub, format),
        _ => {}
    }
    let loaded = registry.provider_names();
    let refused = matches
        .subcommand_name()
        .and_then(|name| registry.refused(name));
    let is_provider = |name: &str| registry.get(name).is_some();
    let is_provider = matches.subcommand_name().is_some_and(is_provider);
    let builder = security_options(builder.registry(registry), &matches)?;
    let bulk_reads_stdin = matches
        .subcommand_matches("bulk")
        .and_then(|bulk| bulk.get_one::<String>("input"))
        .is_some_and(|input| input == "-");
    let builder = match matches.get_one::<String>("credential-stdin") {
        Some(_) if bulk_reads_stdin => {
            return Err(Fatal::usage(
                "--credential-stdin and `bulk -` both read stdin: give the input as a file",
            ));
        }
        // `PROVIDER.PART` for one part of a credential in several parts.
        Some(named) => match named.split_once('.') {
            Some((provider, part)) => {
                builder.credential_part(provider, part, read_credential_from_stdin(named)?)
            }
            None => builder.credential(named, read_credential_from_stdin(named)?),
        },
        None => builder,
    };

    match matches.subcommand() {
        Some(("providers", sub)) => {
            let host = build_host(builder)?;
            let format = if sub.get_flag("json") {
                OutputFormat::Json
            } else {
                format
            };
            if sub.get_flag("hashes") {
                print(&output::hashes(&host, format, sub.get_flag("toml")));
                return Ok(Exit::Success);
            }
            print(&output::providers(&host, format));
            Ok(Exit::Success)
        }
        Some(("audit", sub)) => audit_command(sub, format),
        Some(("completions" | "man" | "config" | "summarize", _)) => {
            unreachable!("handled above")
        }
        Some(("bulk", sub)) => bulk::run(builder, sub, format, early.quiet),
        Some(("findings", sub)) => findings::run(builder, sub, format, early.quiet),
        Some(("describe", sub)) => {
            let host = build_host(builder)?;
            let provider = sub.get_one::<String>("provider").expect("required");
            let operation = sub.get_one::<String>("operation");
            let format = if sub.get_flag("json") {
                OutputFormat::Json
            } else {
                format
            };
            print(&output::describe(
                &host,
                provider,
                operation.map(String::as_str),
                format,
            )?);
            Ok(Exit::Success)
        }
        Some((provider, sub)) if is_provider => single_operation(builder, provider, sub, format),
        Some(_) if refused.is_some() => Err(refused.expect("checked").into()),
        // The binary copied without its plugins: say so, not "unknown provider".
        Some(_) if no_plugins.is_some() => Err(no_plugins.expect("checked").into()),
        Some((unknown, _)) => Err(Fatal::usage(format!(
            "unknown command or provider {unknown:?} (commands: providers, describe, bulk, \
             findings, summarize, audit, config, man, completions; loaded providers: {loaded})"
        ))),
        None => unreachable!("clap requires a subcommand"),
    }
}

/// The global options that decide what may be sent, and where it is recorded.
fn security_options(mut builder: HostBuilder, matches: &ArgMatches) -> Result<HostBuilder, Fatal> {
    builder = builder.allow_insecure_http(matches.get_flag("allow-insecure-http"));
    if let Some(path) = matches.get_one::<String>("audit") {
        let required = matches.get_flag("audit-required");
        let audit = AuditLog::open(std::path::Path::new(path), required).map_err(|e| {
            let message = format!("cannot open the audit log {path}: {e}");
            // A path that is not safe to write is the user's to change: exit 2.
            match revoker_host::UnsafeFile::of(&e) {
                Some(_) => Fatal::usage(message),
                None => Fatal::config(message),
            }
        })?;
        builder = builder.audit(audit);
    } else if matches.get_flag("audit-required") {
        return Err(Fatal::usage("--audit-required needs --audit FILE"));
    }
    Ok(builder)
}

/// One line of stdin, for `--credential-stdin PROVIDER`.
fn read_credential_from_stdin(provider: &str) -> Result<SecretString, Fatal> {
    let line = read_secret_line(&format!("credential for {provider}: ")).map_err(|e| {
        Fatal::usage(format!(
            "cannot read the credential of {provider} from stdin: {e}"
        ))
    })?;
    let secret = line.trim_end_matches(['\r', '\n']).to_owned();
    if secret.is_empty() {
        return Err(Fatal::usage(format!(
            "--credential-stdin {provider}: stdin gave no credential"
        )));
    }
    Ok(SecretString::from(secret))
}

/// `revoker config path`: the file revoker reads, whether it is there, and
/// where its name came from.
fn config_command(
    matches: &ArgMatches,
    found: Option<&early::ConfigPath>,
    format: OutputFormat,
) -> Result<Exit, Fatal> {
    let Some(("path", _)) = matches.subcommand() else {
        unreachable!("clap requires a subcommand");
    };
    let Some(found) = found else {
        return Err(Fatal::config(
            "there is no default place for the configuration file: neither XDG_CONFIG_HOME nor \
             HOME is set (give one, or --config FILE, or REVOKER_CONFIG)",
        ));
    };
    let exists = found.path.exists();
    if format == OutputFormat::Json {
        print(&output::json_line(&serde_json::json!({
            "path": found.path,
            "exists": exists,
            "source": found.source.as_str(),
        })));
        return Ok(Exit::Success);
    }
    print(&format!(
        "{}\n",
        output::terminal_safe(&found.path.display().to_string())
    ));
    if !exists {
        voice::note(&format!(
            "{} does not exist: revoker runs with the defaults (create it to configure revoker)",
            found.path.display()
        ));
    }
    Ok(Exit::Success)
}

/// `revoker audit verify FILE`.
fn audit_command(matches: &ArgMatches, format: OutputFormat) -> Result<Exit, Fatal> {
    let Some(("verify", verify)) = matches.subcommand() else {
        unreachable!("clap requires a subcommand");
    };
    let path = verify.get_one::<String>("file").expect("required");
    let json = |value: serde_json::Value| {
        if format == OutputFormat::Json {
            print(&output::json_line(&value));
        }
    };
    match revoker_host::audit::verify(std::path::Path::new(path)) {
        Ok(verified) => {
            json(serde_json::json!({
                "file": path,
                "intact": true,
                "entries": verified.entries,
                "cut_off_bytes": verified.cut_off,
            }));
            if format == OutputFormat::Human {
                print(&format!(
                    "{}: {} entries, intact\n",
                    output::terminal_safe(path),
                    verified.entries
                ));
            }
            if let Some(bytes) = verified.cut_off {
                voice::note(&format!(
                    "the last entry is cut off ({bytes} bytes without a newline): the run writing \
                     it stopped mid-write (a cut-off `sending` entry was never sent); the next run \
                     removes it before appending"
                ));
            }
            Ok(Exit::Success)
        }
        Err(error) if error.is_unreadable() => {
            json(serde_json::json!({"file": path, "intact": null, "error": error.to_string()}));
            voice::error(&format!("cannot read the audit log: {error}"));
            Ok(Exit::Unreadable)
        }
        Err(error) => {
            json(serde_json::json!({"file": path, "intact": false, "error": error.to_string()}));
            voice::error(&format!("the audit log does not verify: {error}"));
            Ok(Exit::Failure)
        }
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
    // A create has no --max-attempts: it is never retried.
    if let Ok(Some(attempts)) = op_matches.try_get_one::<u32>("max-attempts") {
        builder = builder.max_attempts(*attempts);
    }
    let host = build_host(builder)?;
    let spec = host
        .provider(provider)
        .and_then(|p| p.plugin().operation(operation))
        .expect("the command was built from this manifest");
    let mut params = Params::new();
    for param in spec.params.iter() {
        if let Some(value) = param_value(&param.name, op_matches)? {
            params.insert(&param.name, &value);
        }
    }
    let request = Request::new(provider, operation, params);

    if op_matches.get_flag("dry-run") {
        return output::dry_run_command(&host, &request, format);
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Fatal::config(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(host.execute(&request))?;
    print(&output::result(&result, format));
    if host.audit_required()
        && let Some(why) = host.audit_failure()
    {
        // The request was sent (its `sending` entry is on disk), its answer
        // printed above, and that answer is not in the log.
        return Err(Error::Audit(why.clone()).into());
    }
    Ok(if result.is_success() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

/// The value of parameter `name`: from the command line, or for a secret
/// parameter from `--NAME-env VAR`, `--NAME-file FILE` or `--NAME-stdin`.
fn param_value(name: &str, matches: &ArgMatches) -> Result<Option<String>, Fatal> {
    let flag = |source: &str| format!("{name}-{source}");
    let given = |id: &str| matches.try_get_raw(id).ok().flatten().is_some();
    if let Some(value) = matches.get_one::<String>(name) {
        return Ok(Some(value.clone()));
    }
    if given(&flag("env")) {
        let var = matches.get_one::<String>(&flag("env")).expect("given");
        return match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(Some(value)),
            _ => Err(Fatal::usage(format!(
                "--{name}-env {}: the variable is not set, is empty or is not UTF-8",
                output::terminal_safe(var)
            ))),
        };
    }
    if given(&flag("file")) {
        let path = matches.get_one::<String>(&flag("file")).expect("given");
        let text = std::fs::read_to_string(path).map_err(|e| {
            Fatal::usage(format!(
                "--{name}-file {}: cannot read it: {e}",
                output::terminal_safe(path)
            ))
        })?;
        return first_line(&text)
            .map(|value| Some(value.to_owned()))
            .ok_or_else(|| {
                Fatal::usage(format!(
                    "--{name}-file {}: the file is empty",
                    output::terminal_safe(path)
                ))
            });
    }
    if given(&flag("stdin")) && matches.get_flag(&flag("stdin")) {
        if matches.get_one::<String>("credential-stdin").is_some() {
            return Err(Fatal::usage(format!(
                "--{name}-stdin and --credential-stdin both read stdin: give one another way"
            )));
        }
        let line = read_secret_line(&format!("{name}: "))
            .map_err(|e| Fatal::usage(format!("--{name}-stdin: cannot read stdin: {e}")))?;
        return first_line(&line)
            .map(|value| Some(value.to_owned()))
            .ok_or_else(|| Fatal::usage(format!("--{name}-stdin: stdin gave no value")));
    }
    Ok(None)
}

/// One line of stdin; on a terminal, after `prompt` on stderr and without
/// echoing what is typed.
fn read_secret_line(prompt: &str) -> std::io::Result<String> {
    use std::io::IsTerminal as _;
    let stdin = std::io::stdin();
    let mut line = String::new();
    if !stdin.is_terminal() {
        stdin.read_line(&mut line)?;
        return Ok(line);
    }
    // Echo off before the prompt: what is typed (or pasted) as soon as the
    // prompt shows is never echoed.
    let echo = EchoOff::new()?;
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let read = stdin.read_line(&mut line);
    drop(echo);
    eprintln!();
    read.map(|_| line)
}

/// The terminal on stdin with echo off, until dropped.
struct EchoOff {
    #[cfg(unix)]
    saved: libc::termios,
}

impl EchoOff {
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            // SAFETY: tcgetattr/tcsetattr on fd 0 with a termios this owns.
            unsafe {
                let mut termios: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(libc::STDIN_FILENO, &mut termios) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let saved = termios;
                termios.c_lflag &= !(libc::ECHO | libc::ECHONL);
                termios.c_lflag |= libc::ICANON;
                if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &termios) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(Self { saved })
            }
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: restores the settings read in `new`.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}

/// The first line of `text` without its line ending, if it is not empty.
fn first_line(text: &str) -> Option<&str> {
    let line = text.lines().next()?;
    (!line.is_empty()).then_some(line)
}

/// This process holds credentials: it writes no core file (`RLIMIT_CORE` 0,
/// soft and hard) and, on Linux, is not dumpable (`PR_SET_DUMPABLE` 0): no core
/// dump whatever the core pattern, and no other process of this user, its own
/// isolated plugins included, may read its memory or `/proc/PID/environ`.
fn harden_process() {
    #[cfg(unix)]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: setrlimit with a valid limit; it only lowers this process's.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) };
    }
    #[cfg(target_os = "linux")]
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) changes only this process's attribute.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Builds the host, which reads each provider's credential, then removes the
/// credentials' variables from this process's environment: nothing started
/// later (a child, a reader of `/proc/PID/environ`) finds them there.
pub(crate) fn build_host(builder: HostBuilder) -> Result<Host, Fatal> {
    let host = builder.build()?;
    let names: Vec<String> = host
        .registry()
        .plugins()
        .iter()
        .filter_map(|plugin| host.provider(plugin.provider()))
        // Every part's variable: a password or client secret is rarely the
        // first part. A kind with no credential (`none`) has none.
        .flat_map(|provider| provider.credential_vars().iter().cloned())
        .collect();
    for name in names {
        // SAFETY: this runs on the main thread before any async runtime is
        // started; the only other threads revoker may have started by now read
        // isolated plugins' pipes and never touch the environment. (An
        // in-process plugin runs as this process's own code, and could read
        // the credential from memory anyway.)
        unsafe { remove_credential_var(&name) };
    }
    Ok(host)
}

/// Overwrites the value of `name` in place, then removes the variable: the
/// kernel shows a process's environment as it was at exec
/// (`/proc/PID/environ`), which removing the variable alone leaves as it was.
///
/// # Safety
///
/// No other thread may read or change the environment meanwhile.
unsafe fn remove_credential_var(name: &str) {
    // No variable can have such a name (and `remove_var` would panic).
    if name.is_empty() || name.contains(['=', '\0']) {
        return;
    }
    #[cfg(unix)]
    if let Ok(c_name) = std::ffi::CString::new(name) {
        // SAFETY: a valid C string; the caller ensures no one else uses the
        // environment, so the value stays where getenv says until removed.
        let value = unsafe { libc::getenv(c_name.as_ptr()) };
        if !value.is_null() {
            // SAFETY: `value` points to the variable's NUL-terminated value,
            // writable memory of this process (the stack block the kernel set
            // up at exec, or a copy made by setenv).
            unsafe {
                let len = libc::strlen(value);
                for i in 0..len {
                    std::ptr::write_volatile(value.add(i), 0);
                }
            }
        }
    }
    // SAFETY: the caller ensures no other thread uses the environment.
    unsafe { std::env::remove_var(name) };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_no_variable_can_have_is_left_alone() {
        // `std::env::remove_var` panics on these; auth kind `none` has "".
        for name in ["", "A=B", "A\0B"] {
            // SAFETY: each returns before touching the environment.
            unsafe { remove_credential_var(name) };
        }
    }
}
