//! What revoker trusts, and what it keeps from others: plugins and the config
//! file only where no one else can change them, the bytes checked are the
//! bytes loaded (an isolated plugin's process included), one credential per
//! provider, no core file and no credential left in the environment.

#![cfg(target_os = "linux")]

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::fault_server::{Action, FaultServer};
use support::{
    DOLFIN_KEY, PluginDir, bulk_line, fixture_file, private_dir, read_jsonl, revoker, stderr,
    stdout_json, uuid,
};

const CANARY: &str = "CANARY-malicious-key-a41c";

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn dll(name: &str) -> String {
    format!(
        "{}revoker_{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Copies fixture `fixture` as provider file `name` into `dir` (mode 0755).
fn put_plugin(dir: &Path, fixture: &str, name: &str) -> PathBuf {
    let dest = dir.join(dll(name));
    std::fs::copy(fixture_file(fixture), &dest).unwrap();
    chmod(&dest, 0o755);
    dest
}

/// `revoker --plugin-dir DIR providers --json`: the providers loaded, and stderr.
fn providers(dir: &Path) -> (Vec<String>, String) {
    let output = revoker()
        .arg("--plugin-dir")
        .arg(dir)
        .args(["providers", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let names = stdout_json(&output)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap().to_owned())
        .collect();
    (names, stderr(&output))
}

fn refusal<'a>(stderr: &'a str, file: &str) -> &'a str {
    stderr
        .lines()
        .find(|line| line.contains("refusing plugin") && line.contains(&format!("/{file}: ")))
        .unwrap_or_else(|| panic!("no refusal of {file}: {stderr}"))
}

#[test]
fn a_world_writable_grandparent_directory_is_refused_for_plugins_and_the_config() {
    let dir = private_dir();
    let shared = dir.path().join("shared");
    let plugins = shared.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    chmod(&plugins, 0o700);
    put_plugin(&plugins, "panicky", "panicky");
    // Private itself, so only the grandparent is at fault.
    let (names, err) = providers(&plugins);
    assert!(names.contains(&"panicky".to_owned()), "{names:?}: {err}");

    chmod(&shared, 0o777);
    let (names, err) = providers(&plugins);
    assert_eq!(names, support::BUNDLED_PROVIDERS, "{err}");
    let line = refusal(&err, &dll("panicky"));
    assert!(
        line.contains(&format!(
            "directory {} on the way to it is writable by group or others (mode 0777)",
            shared.display()
        )),
        "{line}"
    );

    // The config file decides where credentials go: under that directory it is
    // not read, and the credential goes nowhere.
    let server = FaultServer::start(|_| Action::status(204));
    let config = shared.join("conf").join("revoker.toml");
    std::fs::create_dir(config.parent().unwrap()).unwrap();
    chmod(config.parent().unwrap(), 0o700);
    std::fs::write(
        &config,
        format!("[providers.dolfin]\nbase_url = \"{}\"\n", server.uri()),
    )
    .unwrap();
    chmod(&config, 0o600);
    let output = revoker()
        .arg("--config")
        .arg(&config)
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .args(["dolfin", "revoke-api-key", "--id", &uuid(1)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("refusing config file {}", config.display()))
            && stderr(&output).contains("on the way to it is writable by group or others"),
        "{}",
        stderr(&output)
    );
    assert!(server.received().is_empty(), "nothing was sent");
    // The same file, once no one else can change its directories, is used.
    chmod(&shared, 0o755);
    let output = revoker()
        .arg("--config")
        .arg(&config)
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .args(["dolfin", "revoke-api-key", "--id", &uuid(1)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(server.received().len(), 1);
}

#[test]
fn a_plugin_or_config_under_the_shared_tmp_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    put_plugin(dir.path(), "panicky", "panicky");
    let (names, err) = providers(dir.path());
    assert_eq!(names, support::BUNDLED_PROVIDERS, "{err}");
    let line = refusal(&err, &dll("panicky"));
    assert!(line.contains("shared, like /tmp"), "{line}");

    let config = dir.path().join("revoker.toml");
    std::fs::write(&config, "").unwrap();
    let output = revoker()
        .arg("--config")
        .arg(&config)
        .arg("providers")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("refusing config file"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_symlink_to_a_plugin_in_a_writable_directory_is_refused() {
    let dir = private_dir();
    let open = dir.path().join("open");
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&open).unwrap();
    std::fs::create_dir(&plugins).unwrap();
    chmod(&open, 0o755);
    chmod(&plugins, 0o700);
    put_plugin(&open, "panicky", "real");
    let link = plugins.join(dll("panicky"));
    std::os::unix::fs::symlink(open.join(dll("real")), &link).unwrap();
    // Through a link into a private directory, it loads.
    let (names, err) = providers(&plugins);
    assert!(names.contains(&"panicky".to_owned()), "{names:?}: {err}");

    chmod(&open, 0o777);
    let (names, err) = providers(&plugins);
    assert_eq!(names, support::BUNDLED_PROVIDERS, "{err}");
    let line = refusal(&err, &dll("panicky"));
    assert!(
        line.contains(&format!("its directory {}", open.display()))
            && line.contains("mode 0777")
            && line.contains(&format!(
                "reached through the symbolic link {}",
                link.display()
            )),
        "{line}"
    );

    // A plugin directory that is itself a link into the writable directory.
    let linked_dir = dir.path().join("linked");
    std::os::unix::fs::symlink(&open, &linked_dir).unwrap();
    let (names, err) = providers(&linked_dir);
    assert_eq!(names, support::BUNDLED_PROVIDERS, "{err}");
    assert!(
        refusal(&err, &dll("real")).contains("symbolic link"),
        "{err}"
    );
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // pid (comm) state ppid …: comm may hold spaces, so after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|ppid| ppid.parse::<u32>().ok());
        if ppid == Some(pid) {
            children.push(child);
        }
    }
    children
}

/// Fails the test, with what the run said, if `run` has already ended.
fn still_running(run: &mut std::process::Child) {
    if let Ok(Some(status)) = run.try_wait() {
        let mut err = String::new();
        if let Some(mut stderr) = run.stderr.take() {
            std::io::Read::read_to_string(&mut stderr, &mut err).ok();
        }
        panic!("the run ended early ({status}): {err}");
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether process `pid` holds an in-memory file (a sealed plugin copy) of
/// `len` bytes open: the copy is complete, so the original may change now.
/// (The copy is filled from the open original; overwriting the original while
/// the copy is still being filled would change what is loaded.)
fn holds_a_complete_memfd(pid: u32, len: u64) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("/memfd:"))
                && std::fs::metadata(fd.path()).is_ok_and(|m| m.len() == len)
        })
}

#[test]
fn the_isolated_child_is_given_the_checked_bytes_never_the_path() {
    use std::io::Write as _;
    let server = FaultServer::start(|_| Action::status(204));
    let plugins = PluginDir::new();
    let plugin = put_plugin(plugins.path(), "crashy", "crashy");
    let work = private_dir();
    let config = work.path().join("revoker.toml");
    std::fs::write(&config, "plugin_timeout_secs = 3\n").unwrap();
    let report = work.path().join("report.jsonl");
    // The input comes on stdin, read only after the plugins are loaded: every
    // plugin process of the run starts after the file is gone.
    let mut run = std::process::Command::new(support::revoker_bin())
        .env_clear()
        .arg("--plugin-dir")
        .arg(plugins.path())
        .arg("--config")
        .arg(&config)
        .env("CRASHY_API_KEY", "made-up")
        .env("REVOKER_CRASHY_BASE_URL", server.uri())
        .args(["--isolate", "bulk", "-", "--yes", "--concurrency", "1"])
        .arg("--report")
        .arg(&report)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let len = std::fs::metadata(&plugin).unwrap().len();
    wait_for("the plugin's sealed copy", || {
        still_running(&mut run);
        holds_a_complete_memfd(run.id(), len)
    });
    std::fs::write(&plugin, b"not the plugin any more").unwrap();
    std::fs::remove_file(&plugin).unwrap();

    // Line 1 is sent; line 2 hangs its plugin's process for 3 s; line 3 is
    // planned by another process, started after the file was replaced.
    let lines = ["ok", "hang", "ok"]
        .iter()
        .enumerate()
        .map(|(i, op)| bulk_line("crashy", op, &[("id", &i.to_string())]))
        .collect::<Vec<_>>();
    let mut stdin = run.stdin.take().unwrap();
    stdin
        .write_all((lines.join("\n") + "\n").as_bytes())
        .unwrap();
    drop(stdin);
    wait_for("line 1's request", || {
        still_running(&mut run);
        !server.received().is_empty()
    });
    let plugin_dir = plugins.path().display().to_string();
    let mut seen = 0;
    for child in children_of(run.id()) {
        let Ok(cmdline) = std::fs::read(format!("/proc/{child}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !cmdline.contains("__plugin-runner") {
            continue;
        }
        seen += 1;
        assert!(cmdline.contains(" fd:"), "given a descriptor: {cmdline}");
        assert!(!cmdline.contains(&plugin_dir), "given no path: {cmdline}");
        let maps = std::fs::read_to_string(format!("/proc/{child}/maps")).unwrap_or_default();
        assert!(
            !maps.contains(&plugin_dir),
            "the plugin file itself is not mapped"
        );
    }
    assert!(seen >= 1, "an isolated plugin's process runs");

    let output = run.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let report = read_jsonl(&report);
    let outcome = |line: u64| {
        report
            .iter()
            .find(|r| r["line"] == line)
            .map(|r| r["outcome"].as_str().unwrap().to_owned())
    };
    assert_eq!(outcome(1).as_deref(), Some("revoked"), "{err}");
    assert_eq!(outcome(2).as_deref(), Some("plugin-error"), "{err}");
    assert_eq!(outcome(3).as_deref(), Some("revoked"), "{err}");
    let mut paths: Vec<String> = server.received().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(paths, ["/keys/0/revoke", "/keys/2/revoke"]);
}

#[test]
fn a_thief_plugin_claiming_another_providers_credential_is_refused() {
    let server = FaultServer::start(|_| Action::status(204));
    let plugins = PluginDir::new().with(&fixture_file("thief"), "thief");
    let run = |args: &[&str]| {
        revoker()
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("DOLFIN_API_KEY", DOLFIN_KEY)
            .env("REVOKER_THIEF_BASE_URL", server.uri())
            .env("REVOKER_DOLFIN_BASE_URL", server.uri())
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&["providers", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let err = stderr(&output);
    let list = stdout_json(&output);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["aws-iam", "github", "langwatch", "pinata"],
        "neither thief nor dolfin: {err}"
    );
    let thief = refusal(&err, &dll("thief"));
    assert!(
        thief.contains(
            "its credential, environment variable DOLFIN_API_KEY, is claimed by provider dolfin"
        ),
        "{thief}"
    );
    let dolfin = refusal(&err, &dll("dolfin"));
    assert!(dolfin.contains("claimed by provider thief"), "{dolfin}");
    assert!(!err.contains(DOLFIN_KEY));

    // Calling either says why it is not loaded: a plugin error.
    for (args, provider) in [
        (&["thief", "steal"][..], "thief"),
        (&["dolfin", "revoke-api-key", "--id", &uuid(1)], "dolfin"),
    ] {
        let output = run(args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains(&format!(
                "revoker: error: provider {provider} is not loaded: its plugin "
            )) && err.contains(
                "was refused: its credential, environment variable DOLFIN_API_KEY, is claimed by"
            ),
            "{args:?}: {err}"
        );
        assert!(!err.contains(DOLFIN_KEY));
    }
    assert!(server.received().is_empty(), "the credential went nowhere");

    // The config naming one provider's variable for another is the same claim.
    let dir = private_dir();
    let config = dir.path().join("revoker.toml");
    std::fs::write(
        &config,
        "[providers.langwatch]\ncredential_env = \"PINATA_JWT\"\n",
    )
    .unwrap();
    let output = revoker()
        .arg("--config")
        .arg(&config)
        .env("PINATA_JWT", support::PINATA_JWT)
        .args(["providers", "--json"])
        .output()
        .unwrap();
    let err = stderr(&output);
    // Both refused; the section then names a provider not loaded (exit 3).
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(
        refusal(&err, &dll("langwatch")).contains("environment variable PINATA_JWT"),
        "{err}"
    );
    assert!(
        refusal(&err, &dll("pinata")).contains("claimed by provider langwatch"),
        "{err}"
    );
    assert!(!err.contains(support::PINATA_JWT));
}

fn core_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("core"))
        .collect()
}

#[test]
fn a_crashing_plugin_leaves_no_core_file() {
    let plugins = PluginDir::new().with(&fixture_file("crashy"), "crashy");
    let cwd = private_dir();
    for isolate in [false, true] {
        let mut command = std::process::Command::new(support::revoker_bin());
        command
            .env_clear()
            .current_dir(cwd.path())
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("CRASHY_API_KEY", CANARY)
            .args(isolate.then_some("--isolate"))
            .args(["crashy", "segfault", "--id", "1"]);
        // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
        unsafe {
            command.pre_exec(|| {
                // `ulimit -c unlimited`, as far as this system allows.
                let mut limit = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                limit.rlim_cur = limit.rlim_max;
                if libc::setrlimit(libc::RLIMIT_CORE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let output = command.output().unwrap();
        if isolate {
            // The child crashed; the run reports it.
            assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
            assert!(stderr(&output).contains("SIGSEGV") || !output.stdout.is_empty());
        } else {
            assert_eq!(output.status.signal(), Some(libc::SIGSEGV), "{output:?}");
            assert!(!output.status.core_dumped(), "the kernel dumped core");
        }
        assert_eq!(core_files(cwd.path()), Vec::<String>::new());
    }
}

/// The bytes a `steal-env` body says a read gave, or its error.
fn loot(body: &Value, key: &str) -> String {
    let unhex = |text: &str| {
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let value = &body[key];
    match (
        value.as_str(),
        value["read"].as_str(),
        value["error"].as_str(),
    ) {
        (Some(hex), _, _) => unhex(hex),
        (None, Some(hex), _) => unhex(hex),
        (None, None, Some(hex)) => format!("error: {}", unhex(hex)),
        _ => panic!("{key}: {body}"),
    }
}

#[test]
fn no_plugin_finds_the_credential_in_an_environment_isolated_or_not() {
    let server = FaultServer::start(|_| Action::status(204));
    let plugins = PluginDir::new().with(&fixture_file("malicious"), "malicious");
    for isolate in [true, false] {
        let output = revoker()
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("MALICIOUS_API_KEY", CANARY)
            .env("REVOKER_MALICIOUS_BASE_URL", server.uri())
            .args(isolate.then_some("--isolate"))
            .args(["malicious", "steal-env", "--output", "json"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let received = server.received();
        let last = received.last().expect("the request went out");
        // The credential goes where it belongs, in its header…
        assert_eq!(last.headers["x-malicious-key"], CANARY);
        // …and the plugin found it nowhere.
        let body: Value = serde_json::from_slice(&last.body).unwrap();
        for key in ["parent_environ", "own_environ", "var"] {
            let found = loot(&body, key);
            assert!(
                !found.contains(CANARY),
                "isolate {isolate}: {key} holds the credential"
            );
        }
        // What was read is what there was: the reads happened (or were
        // refused by the kernel), the environment with the variable's name in
        // it, its value gone.
        if isolate {
            let parent = loot(&body, "parent_environ");
            assert!(
                parent.starts_with("error: ") || parent.contains("MALICIOUS_API_KEY="),
                "{parent:?}"
            );
        } else {
            assert!(
                loot(&body, "own_environ").contains("MALICIOUS_API_KEY="),
                "the variable's name is still in the environment's first block"
            );
        }
        assert_eq!(loot(&body, "var"), "");
    }
    assert_eq!(server.received().len(), 2);
}

#[test]
fn a_plugin_claiming_another_providers_secret_as_its_second_part_is_refused() {
    const SECRET: &str = "aws-secret-made-up/for+the/test";
    let server = FaultServer::start(|_| Action::status(204));
    let plugins = PluginDir::new().with(&fixture_file("part-thief"), "part-thief");
    let output = revoker()
        .arg("--plugin-dir")
        .arg(plugins.path())
        .env("PART_THIEF_USER", "u")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("REVOKER_PART_THIEF_BASE_URL", server.uri())
        .args(["providers", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let err = stderr(&output);
    let names: Vec<String> = stdout_json(&output)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["dolfin", "github", "langwatch", "pinata"],
        "neither part-thief nor aws-iam: {err}"
    );
    assert!(
        err.contains("environment variable AWS_SECRET_ACCESS_KEY, is claimed by provider aws-iam"),
        "{err}"
    );
    assert!(!err.contains(SECRET));
    let output = revoker()
        .arg("--plugin-dir")
        .arg(plugins.path())
        .env("PART_THIEF_USER", "u")
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("REVOKER_PART_THIEF_BASE_URL", server.uri())
        .args(["part-thief", "steal"])
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0));
    assert!(
        server.received().is_empty(),
        "nothing reached the thief's server"
    );
}
