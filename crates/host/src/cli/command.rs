//! The clap command: the static commands, and one subcommand per loaded provider
//! with one per operation, built from the manifests.

use clap::{Arg, ArgAction, ArgGroup, Command, value_parser};
use revoker_host::{Config, Registry};
use revoker_plugin_api::{Auth, OperationSpec, ParamKind, names};

/// The help heading of the options every command takes, apart from each
/// command's own (as gh and cargo do).
const GLOBAL: &str = "Global options";

/// `revoker --version`: the host, the commit it was built from, the plugin
/// API.
pub(crate) fn version() -> String {
    format!(
        "{} (plugin API {}, revoker-plugin-api {}), commit {}",
        env!("CARGO_PKG_VERSION"),
        revoker_plugin_api::PLUGIN_API_VERSION,
        revoker_plugin_api::PLUGIN_API_CRATE_VERSION,
        env!("REVOKER_BUILD_COMMIT"),
    )
}

/// The names the CLI keeps for itself, which no plugin may take.
pub(crate) fn reserved() -> revoker_host::Reserved {
    revoker_host::Reserved {
        providers: names::RESERVED_PROVIDER_NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        params: names::RESERVED_PARAM_NAMES
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    }
}

/// The whole `revoker` command for the plugins in `registry`, with the
/// credential variables `config` names.
pub(crate) fn build(registry: &Registry, config: &Config) -> Command {
    let mut command = Command::new("revoker")
        .version(version())
        .about("Revoke API keys across SaaS providers, fast and safely")
        .after_help(
            "Exit codes: 0 every item succeeded; 1 an item failed at the provider or network; \
             2 usage or bad input (nothing sent); 3 plugin or config error; 4 the prompt was \
             declined; 130 stopped by Ctrl-C.\n\
             Plugins (librevoker_*.so) are looked for in --plugin-dir, $REVOKER_PLUGIN_PATH, the \
             config file's plugin_dirs and the directory of the revoker binary.",
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        // An unknown provider gets revoker's own error, which lists the loaded ones.
        .allow_external_subcommands(true)
        .arg(
            Arg::new("plugin-dir")
                .long("plugin-dir")
                .value_name("DIR")
                .action(ArgAction::Append)
                .global(true)
                .help("Load plugins from DIR (before REVOKER_PLUGIN_PATH, the config file and the binary's directory)"),
        )
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .global(true)
                .help(
                    "Configuration file (TOML); default: $REVOKER_CONFIG, else \
                     $XDG_CONFIG_HOME/revoker/config.toml if it exists (`revoker config path`)",
                ),
        )
        .arg(
            Arg::new("output")
                .long("output")
                .value_name("FORMAT")
                .value_parser(["human", "json"])
                .default_value("human")
                .global(true)
                .help("How results are printed: for people, or as JSON (every command)"),
        )
        .arg(
            Arg::new("color")
                .long("color")
                .value_name("WHEN")
                .value_parser(["auto", "always", "never"])
                .default_value("auto")
                .global(true)
                .help("Colour on stderr: auto (on a terminal, unless NO_COLOR is set), always, never"),
        )
        .arg(
            Arg::new("verbose")
                .short('v')
                .long("verbose")
                .action(ArgAction::Count)
                .global(true)
                .help("Log more on stderr (-v info, -vv debug, -vvv trace; RUST_LOG overrides)"),
        )
        .arg(
            Arg::new("quiet")
                .short('q')
                .long("quiet")
                .action(ArgAction::SetTrue)
                .global(true)
                .conflicts_with("verbose")
                .help("Print only errors on stderr"),
        )
        .arg(
            Arg::new("isolate")
                .long("isolate")
                .action(ArgAction::SetTrue)
                .global(true)
                .help("Run every plugin in a child process: a crashing plugin fails one request, not the run"),
        )
        .arg(
            Arg::new("allow-insecure-http")
                .long("allow-insecure-http")
                .action(ArgAction::SetTrue)
                .global(true)
                .help("Allow http:// base URLs off loopback (credentials would cross the network in the clear)"),
        )
        .arg(
            Arg::new("audit")
                .long("audit")
                .value_name("FILE")
                .global(true)
                .help("Append a hash-chained record of every request sent to FILE"),
        )
        .arg(
            Arg::new("audit-required")
                .long("audit-required")
                .action(ArgAction::SetTrue)
                .global(true)
                .help("Send nothing that cannot be recorded in the audit log"),
        )
        .arg(
            Arg::new("credential-stdin")
                .long("credential-stdin")
                .value_name("PROVIDER[.PART]")
                .global(true)
                .help(
                    "Read PROVIDER's credential (or one PART of it, e.g. \
                     aws-iam.secret-access-key) from the first line of stdin",
                ),
        )
        .subcommand(
            Command::new("providers")
                .about("List the loaded plugins, their versions, operations and SHA-256")
                .after_help(
                    "Once any plugin is pinned in the config file, only pinned plugins load: \
                     `revoker providers --hashes --toml` prints a pin block for every plugin \
                     found, the ones beside the binary included.",
                )
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("Print JSON (same as --output json)"),
                )
                .arg(
                    Arg::new("hashes")
                        .long("hashes")
                        .action(ArgAction::SetTrue)
                        .help("Print each plugin's SHA-256, for pinning in the config file"),
                )
                .arg(
                    Arg::new("toml")
                        .long("toml")
                        .action(ArgAction::SetTrue)
                        .requires("hashes")
                        .help("With --hashes: a block to paste into the config file, pinning every plugin found"),
                ),
        )
        .subcommand(
            Command::new("audit")
                .about("Check an audit log")
                .subcommand_required(true)
                .subcommand(
                    Command::new("verify")
                        .about("Check that no entry of an audit log was edited or removed")
                        .after_help(
                            "Exit codes: 0 the log is intact; 1 it does not verify (an entry \
                             edited or removed); 5 it cannot be read.",
                        )
                        .arg(
                            Arg::new("file")
                                .required(true)
                                .value_name("FILE")
                                .help("The audit log (written with --audit FILE or the config's audit)"),
                        ),
                ),
        )
        .subcommand(super::bulk::command())
        .subcommand(super::findings::command())
        .subcommand(
            Command::new("completions")
                .about("Print shell completions, the loaded providers' operations included")
                .arg(
                    Arg::new("shell")
                        .required(true)
                        .value_name("SHELL")
                        .help("The shell to complete for")
                        .value_parser(value_parser!(clap_complete::Shell)),
                ),
        )
        .subcommand(
            Command::new("describe")
                .about("Show a provider's operations, parameters, auth, credential variable and base URL")
                .arg(
                    Arg::new("provider")
                        .required(true)
                        .value_name("PROVIDER")
                        .help("A loaded provider (`revoker providers` lists them)"),
                )
                .arg(
                    Arg::new("operation")
                        .value_name("OPERATION")
                        .help("Only this operation of the provider (default: every one)"),
                )
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("Print JSON (same as --output json), as `providers --json` does"),
                ),
        )
        .subcommand(
            Command::new("config")
                .about("The configuration file")
                .subcommand_required(true)
                .subcommand(Command::new("path").about(
                    "Print the configuration file revoker reads: --config, $REVOKER_CONFIG, else \
                     $XDG_CONFIG_HOME/revoker/config.toml (~/.config when XDG_CONFIG_HOME is unset)",
                )),
        )
        .subcommand(
            Command::new("man")
                .about("Print the man page (roff), e.g. `revoker man > revoker.1`")
                .arg(
                    Arg::new("command")
                        .value_name("COMMAND")
                        .num_args(0..)
                        .help("A command's own page, e.g. `revoker man bulk` (revoker-bulk(1)), `revoker man dolfin revoke-api-key`"),
                ),
        )
        .subcommand(super::summarize::command());
    command = command.mut_args(|arg| {
        if arg.is_global_set() {
            arg.help_heading(GLOBAL)
        } else {
            arg
        }
    });
    for plugin in registry.plugins() {
        let manifest = plugin.manifest();
        let mut provider = Command::new(manifest.provider.to_string())
            .about(manifest.description.to_string())
            .subcommand_required(true)
            .arg_required_else_help(true);
        let credential = credential_help(plugin.auth(), config, plugin.provider());
        for operation in manifest.operations.iter() {
            let secret = plugin
                .secret_params(&operation.name)
                .map_or(&[][..], |secret| &secret[..]);
            provider = provider.subcommand(
                operation_command(operation, secret, plugin.auth()).after_help(credential.clone()),
            );
        }
        command = command.subcommand(provider);
    }
    command
}

/// The flags that give a secret parameter's value other than on the command
/// line (where other users can read it in the process list).
pub(crate) const SECRET_SOURCES: [(&str, &str); 3] =
    [("env", "VAR"), ("file", "FILE"), ("stdin", "")];

/// `Credential: …`: where a provider's credential is read from (each part's
/// variable, or the file the config names), for each operation's help.
pub(crate) fn credential_help(auth: &Auth, config: &Config, provider: &str) -> String {
    let settings = config.provider(provider);
    if auth.parts.is_empty() {
        return "Credential: none (this provider takes no credential)".to_owned();
    }
    let parts: Vec<String> = auth
        .parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            let source = match settings.part_file(i, &part.name) {
                Some(file) => format!("the file {}", file.display()),
                None => format!("${}", settings.part_env(i, &part.name, &part.env)),
            };
            let optional = if part.required { "" } else { " (optional)" };
            if auth.parts.len() == 1 {
                format!("{source}{optional}")
            } else {
                format!("{} from {source}{optional}", part.name)
            }
        })
        .collect();
    let stdin = if auth.parts.len() == 1 {
        format!("--credential-stdin {provider}")
    } else {
        format!("--credential-stdin {provider}.PART")
    };
    format!(
        "Credential: {} (or {stdin}); `revoker describe {provider}` shows how it is sent ({})",
        parts.join(", "),
        auth.kind
    )
}

fn operation_command(operation: &OperationSpec, secret: &[String], auth: &Auth) -> Command {
    let kind = if operation.idempotent {
        format!("{}, retried when safe", operation.kind.as_str())
    } else {
        format!("{}, never retried", operation.kind.as_str())
    };
    let mut command = Command::new(operation.name.to_string())
        .about(format!("{} ({kind})", operation.summary))
        .arg(
            Arg::new("dry-run")
                .long("dry-run")
                .action(ArgAction::SetTrue)
                .help(
                    "Print the request that would be sent (credential redacted) and send nothing",
                ),
        );
    // A request that is not idempotent (a create) is never retried: there
    // is no number of attempts to choose.
    if operation.idempotent {
        command = command.arg(super::bulk::max_attempts_arg());
    }
    for param in operation.params.iter() {
        let value_name = match param.kind {
            ParamKind::String => "STRING",
            ParamKind::Uuid => "UUID",
        };
        let name = param.name.as_str();
        // A parameter a public credential part fills (an account id) may be
        // left out: the host fills it when the request does not give it.
        let filled = auth
            .parts
            .iter()
            .any(|p| !p.secret && p.param.as_ref().into_option().is_some_and(|p| p == name));
        let required = param.required && !filled;
        if !secret.iter().any(|s| s == name) {
            command = command.arg(
                Arg::new(name.to_owned())
                    .long(name.to_owned())
                    .value_name(value_name)
                    .required(required)
                    .help(param.help.to_string()),
            );
            continue;
        }
        // A secret: from a variable, a file or stdin, or (not recommended)
        // the command line; exactly one of them.
        command = command.arg(
            Arg::new(name.to_owned())
                .long(name.to_owned())
                .value_name(value_name)
                .help(format!(
                    "{} (a secret: prefer --{name}-env, --{name}-file or --{name}-stdin, \
                     the command line is visible to other users)",
                    param.help
                )),
        );
        let mut group = ArgGroup::new(format!("{name}-source"))
            .arg(name.to_owned())
            .required(required)
            .multiple(false);
        for (source, value) in SECRET_SOURCES {
            let id = format!("{name}-{source}");
            let arg = Arg::new(id.clone()).long(id.clone());
            let arg = match source {
                "env" => arg.value_name(value).help(format!(
                    "Read --{name} from the environment variable {value}"
                )),
                "file" => arg
                    .value_name(value)
                    .help(format!("Read --{name} from the first line of {value}")),
                _ => arg
                    .action(ArgAction::SetTrue)
                    .help(format!("Read --{name} from the first line of stdin")),
            };
            command = command.arg(arg);
            group = group.arg(id);
        }
        command = command.group(group);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_command_is_valid() {
        build(&Registry::default(), &Config::default()).debug_assert();
    }

    #[test]
    fn global_options_have_their_own_heading_and_creates_take_no_attempts() {
        let help = build(&Registry::default(), &Config::default())
            .try_get_matches_from(["revoker", "describe", "--help"])
            .expect_err("help")
            .render()
            .to_string();
        let global = help.find("Global options:").expect(&help);
        assert!(help[global..].contains("--plugin-dir"), "{help}");
        assert!(!help[..global].contains("--plugin-dir"), "{help}");
        let create = OperationSpec::new("create", revoker_plugin_api::OperationKind::Create)
            .idempotent(false);
        let command = operation_command(&create, &[], &Auth::none());
        assert!(
            command
                .get_arguments()
                .all(|a| a.get_id() != "max-attempts")
        );
    }

    #[test]
    fn a_parameter_a_public_part_fills_may_be_left_out() {
        let operation = OperationSpec::new("revoke", revoker_plugin_api::OperationKind::Revoke)
            .param(revoker_plugin_api::ParamSpec::required(
                "account-sid",
                ParamKind::String,
                "the account",
            ))
            .param(revoker_plugin_api::ParamSpec::required(
                "key-sid",
                ParamKind::String,
                "the key",
            ));
        let auth = Auth::basic("SID", "TOKEN")
            .public_part("user")
            .part_as_param("user", "account-sid");
        let command = || operation_command(&operation, &[], &auth);
        command().debug_assert();
        let matches = command()
            .try_get_matches_from(["revoke", "--key-sid", "SK1"])
            .unwrap();
        assert_eq!(matches.get_one::<String>("account-sid"), None);
        // Without the part, it is required as declared; the key always is.
        let plain = operation_command(&operation, &[], &Auth::basic("SID", "TOKEN"));
        assert!(
            plain
                .try_get_matches_from(["revoke", "--key-sid", "SK1"])
                .is_err()
        );
        assert!(command().try_get_matches_from(["revoke"]).is_err());
    }
}
