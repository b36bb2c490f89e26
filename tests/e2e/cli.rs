//! The command line as people meet it: installing (the binary without its
//! plugins, pinning every plugin), help, `describe`, one voice on stderr,
//! colour, the man page, `--version`'s commit, the default config file, JSON
//! everywhere, the confirmation prompt on a terminal, and the small traps
//! (an empty credential variable, a misspelt `REVOKER_*` variable, a dry
//! run's summary).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::fault_server::{Action, FaultServer};
use support::{DOLFIN_KEY, PINATA_JWT, bulk_line, revoker, stderr, stdout, uuid};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn run(args: &[&str]) -> std::process::Output {
    revoker().args(args).output().unwrap()
}

/// The section of a help text that starts at the line `heading` and ends at
/// the next heading (a line that ends with `:` and starts in column 0).
fn section<'a>(help: &'a str, heading: &str) -> &'a str {
    let start = help
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading:?} section in:\n{help}"));
    let rest = &help[start + heading.len() + 2..];
    let end = rest
        .lines()
        .scan(0, |offset, line| {
            let at = *offset;
            *offset += line.len() + 1;
            Some((at, line))
        })
        .find(|(_, line)| !line.starts_with(' ') && line.ends_with(':'))
        .map_or(rest.len(), |(at, _)| at);
    &rest[..end]
}

#[test]
fn help_puts_the_global_options_in_their_own_section_and_names_the_credential() {
    let output = run(&["dolfin", "revoke-api-key", "--help"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let help = stdout(&output);
    let own = section(&help, "Options:");
    let global = section(&help, "Global options:");
    for flag in ["--id", "--dry-run", "--max-attempts"] {
        assert!(own.contains(flag), "{flag} in its own options:\n{help}");
        assert!(!global.contains(flag), "{flag} not global:\n{help}");
    }
    for flag in [
        "--plugin-dir",
        "--config",
        "--output",
        "--color",
        "--verbose",
        "--quiet",
        "--isolate",
        "--allow-insecure-http",
        "--audit ",
        "--audit-required",
        "--credential-stdin",
    ] {
        assert!(global.contains(flag), "{flag} among the global:\n{help}");
        assert!(!own.contains(flag), "{flag} not among its own:\n{help}");
    }
    assert!(help.contains("Credential: $DOLFIN_API_KEY"), "{help}");

    // A create is never retried: it offers no --max-attempts, and refuses one.
    let help = stdout(&run(&["pinata", "create-gateway-key", "--help"]));
    assert!(!help.contains("--max-attempts"), "{help}");
    assert!(help.contains("Credential: $PINATA_JWT"), "{help}");
    let output = run(&[
        "pinata",
        "create-gateway-key",
        "--gateway-id",
        "g",
        "--max-attempts",
        "3",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("revoker: error: unexpected argument '--max-attempts'"),
        "{}",
        stderr(&output)
    );

    // A credential in parts names each part's variable.
    let help = stdout(&run(&["aws-iam", "delete-access-key", "--help"]));
    assert!(
        help.contains("access-key-id from $AWS_ACCESS_KEY_ID")
            && help.contains("$AWS_SESSION_TOKEN (optional)"),
        "{help}"
    );

    // Arguments are described.
    let help = stdout(&run(&["describe", "--help"]));
    let described = |help: &str, arg: &str, words: &str| {
        section(help, "Arguments:")
            .lines()
            .any(|line| line.contains(arg) && line.contains(words))
    };
    assert!(
        described(&help, "<PROVIDER>", "A loaded provider"),
        "{help}"
    );
    assert!(
        described(&help, "[OPERATION]", "Only this operation"),
        "{help}"
    );
    let help = stdout(&run(&["audit", "verify", "--help"]));
    assert!(described(&help, "<FILE>", "The audit log"), "{help}");
}

#[test]
fn the_help_names_the_credential_variable_the_config_file_sets() {
    let dir = support::private_dir();
    let config = write(
        dir.path(),
        "config.toml",
        "[providers.dolfin]\ncredential_env = \"MY_DOLFIN_KEY\"\n",
    );
    let output = revoker()
        .args(["--config", config.to_str().unwrap()])
        .args(["dolfin", "revoke-api-key", "--help"])
        .output()
        .unwrap();
    assert!(
        stdout(&output).contains("Credential: $MY_DOLFIN_KEY"),
        "{}",
        stdout(&output)
    );
    let output = revoker()
        .args(["--config", config.to_str().unwrap(), "describe", "dolfin"])
        .env("MY_DOLFIN_KEY", DOLFIN_KEY)
        .output()
        .unwrap();
    assert!(
        stdout(&output).contains("  credential: $MY_DOLFIN_KEY (set)"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn describe_names_the_credential_variable_and_its_json_is_what_providers_json_says() {
    let output = run(&["describe", "dolfin", "revoke-api-key"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("revoke-api-key — ")
            && text.contains("  credential: $DOLFIN_API_KEY (not set)"),
        "{text}"
    );
    assert!(text.contains("  --id <uuid> (required)"), "{text}");

    let providers = support::stdout_json(&run(&["providers", "--json"]));
    let listed = providers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "dolfin")
        .unwrap()
        .clone();
    for args in [
        &["describe", "dolfin", "--json"][..],
        &["describe", "dolfin", "--output", "json"],
        &["--output", "json", "describe", "dolfin"],
    ] {
        let described = support::stdout_json(&run(args));
        assert_eq!(described, listed, "{args:?}");
    }
    let operation = &listed["operations"][0];
    assert_eq!(operation["name"], "revoke-api-key");
    assert_eq!(
        operation["credential_vars"],
        serde_json::json!(["DOLFIN_API_KEY"])
    );
    assert_eq!(operation["params"][0]["name"], "id");
    // One operation: the provider with that operation only.
    let one = support::stdout_json(&run(&["describe", "pinata", "revoke-api-key", "--json"]));
    let names: Vec<&Value> = one["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| &op["name"])
        .collect();
    assert_eq!(names, ["revoke-api-key"]);
}

#[test]
fn the_man_page_is_roff_from_the_same_definitions_as_the_help() {
    let output = run(&["man"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let page = stdout(&output);
    assert!(page.starts_with('.'), "roff requests first: {page}");
    assert!(page.contains(".TH revoker 1"), "{page}");
    assert!(page.contains(".SH NAME"), "{page}");
    for subcommand in ["describe", "bulk", "summarize", "dolfin"] {
        assert!(page.contains(subcommand), "{subcommand}: {page}");
    }
    assert!(page.contains("plugin\\-dir"), "{page}");
    // Each command's page, as the top page names them (revoker-bulk(1)).
    let output = run(&["man", "dolfin", "revoke-api-key"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let page = stdout(&output);
    assert!(page.starts_with('.'), "{page}");
    assert!(
        page.contains(".TH revoker-dolfin-revoke-api-key 1"),
        "{page}"
    );
    assert!(page.contains(".SH \"GLOBAL OPTIONS\""), "{page}");
    assert!(
        page.contains("DOLFIN_API_KEY"),
        "the credential variable: {page}"
    );
    assert_eq!(run(&["man", "nosuch"]).status.code(), Some(2));
}

#[test]
fn the_binary_copied_alone_says_where_its_plugins_go() {
    let dir = support::private_dir();
    let binary = dir.path().join("revoker");
    std::fs::copy(support::revoker_bin(), &binary).unwrap();
    let alone = |args: &[&str]| {
        let mut command = std::process::Command::new(&binary);
        command.env_clear().args(args).output().unwrap()
    };
    for args in [
        &["dolfin", "revoke-api-key", "--id", &uuid(1)][..],
        &["providers"],
        &["bulk", "-", "--dry-run"],
    ] {
        let output = alone(args);
        assert_eq!(
            output.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&output)
        );
        let said = stderr(&output);
        assert!(
            said.starts_with("revoker: error: no provider plugin loaded (searched: ")
                && said.contains(dir.path().to_str().unwrap())
                && said.contains("librevoker_*.so")
                && !said.contains("unknown command or provider"),
            "{args:?}: {said}"
        );
    }
    // What needs no plugin still works.
    assert_eq!(alone(&["--version"]).status.code(), Some(0));
    assert_eq!(alone(&["man"]).status.code(), Some(0));
}

#[test]
fn providers_hashes_toml_pins_every_plugin_found_and_loads_them_all() {
    let dir = support::private_dir();
    let plain = stdout(&run(&["providers", "--hashes"]));
    let dolfin = plain
        .lines()
        .find(|line| line.contains("  dolfin  "))
        .and_then(|line| line.split_whitespace().next())
        .unwrap()
        .to_owned();
    // One plugin pinned: the others are refused, and still in the block.
    let one_pin = write(
        dir.path(),
        "one.toml",
        &format!("[providers.dolfin]\nsha256 = \"{dolfin}\"\n"),
    );
    let output = revoker()
        .args(["--config", one_pin.to_str().unwrap()])
        .args(["providers", "--hashes", "--toml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let block = stdout(&output);
    let parsed: toml::Table = toml::from_str(&block).unwrap_or_else(|e| panic!("{e}: {block}"));
    let pinned = parsed["providers"].as_table().unwrap();
    let mut names: Vec<&String> = pinned.keys().collect();
    names.sort();
    assert_eq!(names, support::BUNDLED_PROVIDERS, "{block}");
    assert_eq!(pinned["dolfin"]["sha256"].as_str(), Some(dolfin.as_str()));
    assert!(block.contains("not loaded now: not pinned"), "{block}");

    // The block pasted as the config: every plugin loads.
    let all = write(dir.path(), "all.toml", &block);
    let output = revoker()
        .args(["--config", all.to_str().unwrap(), "providers", "--json"])
        .output()
        .unwrap();
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    assert_eq!(
        support::stdout_json(&output).as_array().unwrap().len(),
        support::BUNDLED_PROVIDERS.len()
    );
}

#[test]
fn everything_said_to_a_person_is_in_one_voice_and_logs_need_v() {
    // clap's own errors.
    let output = run(&["dolfin", "revoke-api-key", "--idd", "x"]);
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert!(
        said.starts_with("revoker: error: unexpected argument '--idd'"),
        "{said}"
    );
    assert!(!said.lines().any(|l| l.starts_with("error:")), "{said}");

    // The library's warnings (a report file's mode tightened), as the CLI's.
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "in.jsonl",
        &format!(
            "{}\n",
            bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(1))])
        ),
    );
    let report = write(dir.path(), "report.jsonl", "");
    std::fs::set_permissions(&report, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let bulk = |extra: &[&str]| {
        revoker()
            .args(extra)
            .args(["bulk", input.to_str().unwrap(), "--dry-run", "--report"])
            .arg(&report)
            .output()
            .unwrap()
    };
    let said = stderr(&bulk(&[]));
    let warning = said
        .lines()
        .find(|l| l.contains("made it 0600"))
        .unwrap_or_else(|| panic!("no warning: {said}"));
    assert!(warning.starts_with("revoker: warning: "), "{said}");
    assert!(
        !said.contains("WARN") && !said.contains(" INFO "),
        "no log lines without -v: {said}"
    );
    std::fs::set_permissions(&report, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let said = stderr(&bulk(&["-v"]));
    assert!(
        said.contains("WARN") || said.contains("INFO"),
        "logs with -v: {said}"
    );
}

#[test]
fn color_is_chosen_with_color_and_never_without_a_terminal() {
    let error = |args: &[&str], env: &[(&str, &str)]| {
        let output = revoker()
            .envs(env.iter().copied())
            .args(args)
            .args(["dolfin", "revoke-api-key", "--idd", "x"])
            .output()
            .unwrap();
        stderr(&output)
    };
    assert!(error(&["--color", "always"], &[]).contains("\x1b["));
    assert!(error(&["--color=always"], &[("NO_COLOR", "1")]).contains("\x1b["));
    assert!(!error(&["--color", "never"], &[]).contains('\x1b'));
    // auto: not a terminal here.
    assert!(!error(&[], &[]).contains('\x1b'));
    let output = run(&["--color", "rainbow", "providers"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).starts_with("revoker: error: invalid value 'rainbow'"));
}

#[test]
fn version_names_the_commit_it_was_built_from() {
    let text = stdout(&run(&["--version"]));
    let commit = text
        .trim_end()
        .rsplit_once("commit ")
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("no commit in {text}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
    let head = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(support::workspace_dir())
        .output();
    // A packager's REVOKER_BUILD_COMMIT beats git's.
    if let Ok(head) = head
        && head.status.success()
        && std::env::var_os("REVOKER_BUILD_COMMIT").is_none()
    {
        assert_eq!(
            commit,
            String::from_utf8_lossy(&head.stdout).trim(),
            "{text}: built from another commit than HEAD? `cargo build --workspace` first"
        );
    }
}

#[test]
fn the_config_file_has_a_default_place_and_config_path_names_it() {
    let home = support::private_dir();
    let xdg = home.path().join("xdg");
    std::fs::create_dir_all(xdg.join("revoker")).unwrap();
    let file = write(
        &xdg.join("revoker"),
        "config.toml",
        "[providers.dolfin]\nbase_url = \"http://127.0.0.1:9/from-the-default-config\"\n",
    );
    let with = |env: &[(&str, &Path)], args: &[&str]| {
        revoker()
            .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .args(args)
            .output()
            .unwrap()
    };
    let xdg_env = [("XDG_CONFIG_HOME", xdg.as_path())];
    let output = with(&xdg_env, &["config", "path"]);
    assert_eq!(stdout(&output).trim_end(), file.to_str().unwrap());
    let described = stdout(&with(&xdg_env, &["describe", "dolfin"]));
    assert!(described.contains("from-the-default-config"), "{described}");
    let json = support::stdout_json(&with(&xdg_env, &["config", "path", "--output", "json"]));
    assert_eq!(json["exists"], true);
    assert_eq!(json["source"], "default");

    // No XDG_CONFIG_HOME: ~/.config; a file that is not there is no error.
    let output = with(&[("HOME", home.path())], &["config", "path"]);
    let expected = home.path().join(".config/revoker/config.toml");
    assert_eq!(stdout(&output).trim_end(), expected.to_str().unwrap());
    assert!(
        stderr(&output).contains("does not exist"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        with(&[("HOME", home.path())], &["providers"]).status.code(),
        Some(0)
    );
    // --config and REVOKER_CONFIG come first.
    let other = write(home.path(), "other.toml", "");
    let output = with(
        &[
            ("XDG_CONFIG_HOME", xdg.as_path()),
            ("REVOKER_CONFIG", other.as_path()),
        ],
        &["config", "path"],
    );
    assert_eq!(stdout(&output).trim_end(), other.to_str().unwrap());
}

#[test]
fn json_output_is_there_wherever_human_output_is() {
    let dir = support::private_dir();
    let input = write(
        dir.path(),
        "in.jsonl",
        &format!(
            "{}\n",
            bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(1))])
        ),
    );
    let audit = write(dir.path(), "audit.jsonl", "");
    let report = write(
        dir.path(),
        "report.jsonl",
        "{\"line\":1,\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{\"id\":\"x\"},\"outcome\":\"revoked\"}\n",
    );
    let (input, audit, report) = (
        input.to_str().unwrap(),
        audit.to_str().unwrap(),
        report.to_str().unwrap(),
    );
    for args in [
        &["providers"][..],
        &["providers", "--hashes"],
        &["describe", "dolfin"],
        &["config", "path"],
        &["audit", "verify", audit],
        &["summarize", report],
        &["summarize", report, "--format", "html"],
        &["dolfin", "revoke-api-key", "--id", &uuid(1), "--dry-run"],
        &["bulk", input, "--dry-run"],
    ] {
        let output = revoker()
            .env("XDG_CONFIG_HOME", dir.path())
            .args(["--output", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        let text = stdout(&output);
        assert!(!text.is_empty(), "{args:?}");
        for line in text.lines() {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|e| panic!("{args:?}: {e}: {line:?}"));
        }
    }
    // Scripts and pages for programs are not results.
    for args in [&["man"][..], &["completions", "bash"]] {
        let output = revoker()
            .args(["--output", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn a_credential_variable_set_to_nothing_is_said_to_be_empty() {
    let output = revoker()
        .env("DOLFIN_API_KEY", "")
        .args(["dolfin", "revoke-api-key", "--id", &uuid(1)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    let said = stderr(&output);
    assert!(said.contains("DOLFIN_API_KEY is set but empty"), "{said}");
    assert!(!said.contains("set the environment variable"), "{said}");
    // A part of a credential in parts, too.
    let output = revoker()
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "")
        .args([
            "aws-iam",
            "delete-access-key",
            "--access-key-id",
            "AKIAIOSFODNN7EXAMPLE",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("AWS_SECRET_ACCESS_KEY is set but empty"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_misspelt_revoker_variable_is_warned_of_and_the_hosts_own_are_not() {
    let dir = support::private_dir();
    let config = write(dir.path(), "config.toml", "");
    let plugins = support::PluginDir::new();
    let output = revoker()
        .env("REVOKER_PINNATA_BASE_URL", "http://127.0.0.1:9")
        .env("REVOKER_CONFIG", &config)
        .env("REVOKER_PLUGIN_PATH", plugins.path())
        .env("REVOKER_DOLFIN_BASE_URL", "http://127.0.0.1:9")
        .args(["describe", "pinata"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let said = stderr(&output);
    let warnings: Vec<&str> = said.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{said}");
    assert!(
        warnings[0].starts_with(
            "revoker: warning: the environment variable REVOKER_PINNATA_BASE_URL names no loaded provider"
        ) && warnings[0].contains("did you mean REVOKER_PINATA_BASE_URL?"),
        "{said}"
    );
    // The typo applied nothing: pinata keeps its default.
    assert!(stdout(&output).contains("https://api.pinata.cloud"));
}

#[test]
fn a_dry_runs_summary_is_in_dry_run_words() {
    let dir = tempfile::tempdir().unwrap();
    let only_bad = write(dir.path(), "bad.jsonl", "not json\n");
    let output = revoker()
        .args(["bulk", only_bad.to_str().unwrap(), "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(
        said.contains("0 planned, 1 invalid (dry run, nothing sent)"),
        "{said}"
    );
    assert!(
        !said.contains("succeeded") && !said.contains("failed"),
        "{said}"
    );

    let example = support::workspace_dir().join("examples/leaked-keys.jsonl");
    let said = stderr(
        &revoker()
            .arg("bulk")
            .arg(&example)
            .arg("--dry-run")
            .output()
            .unwrap(),
    );
    assert!(
        said.contains("294 planned, 6 invalid (dry run, nothing sent)"),
        "{said}"
    );
}

/// `revoker bulk INPUT --journal JOURNAL` on a terminal (script(1)); answers
/// `answer` once asked. Returns the exit code and the screen.
fn bulk_on_a_terminal(
    server: &FaultServer,
    input: &Path,
    journal: &Path,
    answer: &str,
) -> (Option<i32>, String) {
    let uri = server.uri();
    let (mut child, mut screen) = support::revoker_on_a_terminal(
        &format!("bulk {} --journal {}", input.display(), journal.display()),
        "dumb",
        &[
            ("REVOKER_DOLFIN_BASE_URL", &uri),
            ("REVOKER_PINATA_BASE_URL", &uri),
            ("DOLFIN_API_KEY", DOLFIN_KEY),
            ("PINATA_JWT", PINATA_JWT),
        ],
    );
    screen.wait_for("Proceed? [y/N]");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let status = support::wait_within(&mut child, "revoker bulk after its prompt");
    (status.code(), screen.finish())
}

#[test]
fn the_prompt_of_a_resumed_run_counts_what_is_left_and_names_each_destination() {
    // Ids 1 to 3 are revoked; 4 and 5 are not found.
    let server = FaultServer::start(|request| {
        if ["1", "2", "3"]
            .iter()
            .any(|n| request.path.contains(&format!("{:0>12}/", n)))
        {
            Action::status(204)
        } else {
            Action::json(404, r#"{"title":"Not Found","detail":"no such key"}"#)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=5)
        .map(|n| bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(n))]))
        .collect();
    let input = write(dir.path(), "keys.jsonl", &(lines.join("\n") + "\n"));
    let journal = dir.path().join("keys.journal");
    let output = revoker()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .arg("bulk")
        .arg(&input)
        .arg("--journal")
        .arg(&journal)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let sent = server.received().len();

    let (code, screen) = bulk_on_a_terminal(&server, &input, &journal, "n\n");
    assert_eq!(code, Some(4), "{screen}");
    assert!(
        screen.contains("revoker bulk will send, for 2 of the input's 5 lines:"),
        "{screen}"
    );
    assert!(
        screen.contains("3 lines settled by an earlier run with this journal are not sent again"),
        "{screen}"
    );
    let authority = server
        .uri()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    assert!(
        screen.contains(&format!("5  dolfin revoke-api-key  to {authority}")),
        "{screen}"
    );
    assert_eq!(server.received().len(), sent, "declined: nothing more sent");
}

#[test]
fn summarize_renders_a_ticket_in_markdown_and_html_without_a_created_keys_value() {
    const CANARY: &str = "CREATED-KEY-VALUE-canary-5d1e";
    const NASTY: &str = "<script>alert(1)</script> | *not bold* _x_";
    let server = FaultServer::start(|request| {
        if request.path.contains("/access_tokens") {
            Action::json(
                200,
                &format!(
                    r#"{{"data":{{"id":"gk-created-7","value":"{CANARY}","createdAt":"2026-12-01T00:00:00Z"}}}}"#
                ),
            )
        } else if request.path.contains(&uuid(2)) {
            Action::json(
                401,
                &serde_json::json!({"title": "Unauthorized", "detail": NASTY}).to_string(),
            )
        } else {
            Action::status(204)
        }
    });
    let dir = support::private_dir();
    let input = write(
        dir.path(),
        "keys.jsonl",
        &[
            bulk_line("pinata", "create-gateway-key", &[("gateway-id", "gw-1")]),
            bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(1))]),
            bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(2))]),
            "not json".to_owned(),
        ]
        .join("\n"),
    );
    let report = dir.path().join("report.jsonl");
    let output = revoker()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("REVOKER_PINATA_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .env("PINATA_JWT", PINATA_JWT)
        .arg("bulk")
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    // The report holds the value (it is where it is kept): a careless
    // summary would print it.
    assert!(std::fs::read_to_string(&report).unwrap().contains(CANARY));

    let summarize = |format: &str| {
        let output = revoker()
            .arg("summarize")
            .arg(&report)
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        stdout(&output)
    };

    let md = summarize("markdown");
    assert!(!md.contains(CANARY), "{md}");
    assert!(md.contains("gk-created-7"), "the created key's id: {md}");
    assert!(md.contains("**2 of 4 lines NOT done (2 succeeded)"), "{md}");
    // Tables: a header, its delimiter row, a row per outcome.
    assert!(
        md.contains(
            "| Outcome | dolfin | pinata | \\(none\\) | Total |\n| --- | ---: | ---: | ---: | ---: |\n"
        ),
        "{md}"
    );
    assert!(md.contains("| unauthorized | 1 | 0 | 0 | 1 |"), "{md}");
    assert!(
        md.contains("| **Total** | **2** | **1** | **1** | **4** |"),
        "{md}"
    );
    // The provider's text is data: no tag, no table break, no emphasis.
    assert!(!md.contains("<script>"), "{md}");
    assert!(
        md.contains("\\<script\\>alert\\(1\\)\\</script\\> \\| \\*not bold\\* \\_x\\_"),
        "{md}"
    );
    assert!(md.contains("## What to do next"), "{md}");
    assert!(
        md.contains("- **unauthorized** (1; line 3): fix the credential"),
        "{md}"
    );
    assert!(
        md.contains("- **invalid-request** (1; line 4): fix these input lines"),
        "{md}"
    );
    assert!(md.contains("Time span: "), "{md}");

    let html = summarize("html");
    assert!(!html.contains(CANARY), "{html}");
    let document = scraper::Html::parse_document(&html);
    assert!(document.errors.is_empty(), "{:?}", document.errors);
    let select = |css: &str| scraper::Selector::parse(css).unwrap();
    // Self-contained: no script, no external anything.
    assert_eq!(document.select(&select("script")).count(), 0);
    let external: Vec<String> = document
        .select(&select("[src], [href], link, img, iframe, object"))
        .map(|element| element.html())
        .collect();
    assert!(external.is_empty(), "external assets: {external:?}");
    assert_eq!(document.select(&select("style")).count(), 1);
    let text_of = |css: &str| -> Vec<String> {
        document
            .select(&select(css))
            .map(|e| e.text().collect::<String>())
            .collect()
    };
    let header = text_of("table#counts thead th");
    assert_eq!(header, ["Outcome", "dolfin", "pinata", "(none)", "Total"]);
    let rows: Vec<Vec<String>> = document
        .select(&select("table#counts tbody tr"))
        .map(|row| row.child_elements().map(|c| c.text().collect()).collect())
        .collect();
    assert!(
        rows.contains(&vec![
            "unauthorized".into(),
            "1".into(),
            "0".into(),
            "0".into(),
            "1".into()
        ]),
        "{rows:?}"
    );
    // The provider's text is shown as text, exactly.
    let reasons = text_of("table#failures td.reason");
    assert!(reasons.iter().any(|r| r.contains(NASTY)), "{reasons:?}");
    let created = text_of("table#created td");
    assert!(
        created.iter().any(|c| c.contains("gk-created-7")),
        "{created:?}"
    );
    assert!(!text_of("ul#next li").is_empty());
}

#[test]
fn the_progress_bar_shows_a_rate_with_one_decimal() {
    // Slow answers, so that the bar is drawn while lines are in flight.
    let server =
        FaultServer::start(|_| Action::status(204).after(std::time::Duration::from_millis(50)));
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=40)
        .map(|n| bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(n))]))
        .collect();
    let input = write(dir.path(), "keys.jsonl", &(lines.join("\n") + "\n"));
    let (mut child, screen) = support::revoker_on_a_terminal(
        &format!("bulk {} --yes --concurrency 2", input.display()),
        "xterm",
        &[
            ("REVOKER_DOLFIN_BASE_URL", &server.uri()),
            ("DOLFIN_API_KEY", DOLFIN_KEY),
        ],
    );
    let status = support::wait_within(&mut child, "revoker bulk on a terminal");
    let screen = screen.finish();
    assert_eq!(status.code(), Some(0), "{screen}");
    // The bar is `… 12/40 43.3/s ETA …`: the rate after the position, with
    // one decimal.
    let mut rates = 0;
    for (at, found) in screen.match_indices("/40 ") {
        let rate = screen[at + found.len()..]
            .split_whitespace()
            .next()
            .unwrap_or_default();
        rates += 1;
        let number = rate
            .strip_suffix("/s")
            .unwrap_or_else(|| panic!("{rate:?}: {screen:?}"));
        let (whole, decimals) = number.split_once('.').unwrap_or((number, ""));
        assert!(
            !whole.is_empty()
                && whole.chars().all(|c| c.is_ascii_digit())
                && decimals.len() == 1
                && decimals.chars().all(|c| c.is_ascii_digit()),
            "a rate of {rate}: {screen:?}"
        );
    }
    assert!(rates > 0, "no rate on the bar: {screen:?}");
}

#[test]
fn describe_shows_each_operations_request_success_answer_and_batch() {
    let output = revoker()
        .args(["describe", "dolfin", "revoke-api-key"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("request: POST /api-keys/{id}/revoke"),
        "{text}"
    );
    assert!(text.contains("success: 204 No Content"), "{text}");

    let output = revoker()
        .args(["describe", "github", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json = support::stdout_json(&output);
    let op = &json["operations"][0];
    assert_eq!(op["name"], "revoke-credential");
    assert_eq!(op["method"], "POST");
    assert_eq!(op["path"], "/credentials/revoke");
    assert_eq!(op["success"], "202 Accepted");
    assert_eq!(op["batch"], 1000);
    assert_eq!(op["asynchronous"], true);
    let text = stdout(&revoker().args(["describe", "github"]).output().unwrap());
    assert!(
        text.contains("travels: up to 1000 lines in one request"),
        "{text}"
    );
    assert!(text.contains("outcome is `accepted`"), "{text}");
    assert!(
        text.contains("rate limit: none set; the provider documents 60 requests per 3600s"),
        "{text}"
    );
}
