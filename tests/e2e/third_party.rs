//! Third parties: a plugin built out of tree from the template, a plugin built
//! against an older plugin API, and the host embedded as a library.

use support::fault_server::{Action, FaultServer};
use support::{
    PluginDir, build_out_of_tree, copy_dir, read_jsonl, revoker, stderr, stdout, stdout_json, uuid,
    workspace_dir,
};

/// The template's dependency on the plugin API: a path, which its comment
/// tells a plugin author to point at their copy (the crate is not on
/// crates.io).
const TEMPLATE_DEPENDENCY: &str = r#"path = "../../crates/plugin-api""#;

/// Copies `dir` of the workspace to a temporary directory, with its path
/// dependencies made absolute, as a plugin author's own checkout would be.
pub(crate) fn copy_out(relative: &str) -> tempfile::TempDir {
    let from = workspace_dir().join(relative);
    let to = tempfile::tempdir().unwrap();
    copy_dir(&from, to.path());
    let manifest = to.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let api = format!(
        "{:?}",
        workspace_dir()
            .join("crates/plugin-api")
            .display()
            .to_string()
    );
    let text = text
        .replace(TEMPLATE_DEPENDENCY, &format!("path = {api}"))
        .replace("\"../../crates/plugin-api\"", &api);
    std::fs::write(&manifest, text).unwrap();
    to
}

#[test]
fn the_template_builds_out_of_tree_and_revokes_keeping_its_secret_param_secret() {
    const TOKEN: &str = "SECRET-oauth-token-2c9d";
    let template =
        std::fs::read_to_string(workspace_dir().join("examples/plugin-template/Cargo.toml"))
            .unwrap();
    assert_eq!(
        template.matches(TEMPLATE_DEPENDENCY).count(),
        2,
        "the template's dependency and dev-dependency are the guide's:\n{template}"
    );
    let crate_dir = copy_out("examples/plugin-template");
    let built = build_out_of_tree(crate_dir.path(), true);
    let plugins = PluginDir::new().with(&built.join("librevoker_acme.so"), "acme");

    let server = FaultServer::start(|request| match request.path.as_str() {
        "/oauth/revoke" => Action::status(200),
        _ => Action::status(204),
    });
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("keys.jsonl");
    std::fs::write(
        &input,
        format!(
            "{}\n{}\n",
            support::bulk_line("acme", "revoke-key", &[("id", "k1")]),
            support::bulk_line("acme", "revoke-token", &[("token", TOKEN)])
        ),
    )
    .unwrap();
    let (report, journal) = (
        work.path().join("report.jsonl"),
        work.path().join("journal"),
    );
    let run = |args: &[&str]| {
        revoker()
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("ACME_TOKEN", "acme-admin-made-up")
            .env("REVOKER_ACME_BASE_URL", server.uri())
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&["acme", "revoke-key", "--id", "k1", "--output", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout_json(&output)["outcome"], "revoked");

    let output = run(&["acme", "revoke-token", "--token", TOKEN, "--dry-run"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("token=<redacted sha256:"),
        "{}",
        stdout(&output)
    );
    // No dry run shows the secret, in its params, URL, headers or body.
    let token_file = work.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    for args in [
        &["acme", "revoke-token", "--token", TOKEN, "--dry-run"][..],
        &[
            "acme",
            "revoke-token",
            "--token",
            TOKEN,
            "--dry-run",
            "--output",
            "json",
        ],
        &["bulk", input.to_str().unwrap(), "--dry-run"],
        &[
            "bulk",
            input.to_str().unwrap(),
            "--dry-run",
            "--output",
            "json",
        ],
    ] {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        let shown = stdout(&output) + &stderr(&output);
        assert!(!shown.contains(TOKEN), "{args:?} shows the secret: {shown}");
        assert!(shown.contains("<redacted"), "{args:?}: {shown}");
    }
    // A secret parameter can come from a variable, a file or stdin, never
    // having to be on the command line.
    let received = server.received().len();
    for args in [
        &["acme", "revoke-token", "--token-env", "THE_TOKEN"][..],
        &[
            "acme",
            "revoke-token",
            "--token-file",
            token_file.to_str().unwrap(),
        ],
    ] {
        let output = revoker()
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("ACME_TOKEN", "acme-admin-made-up")
            .env("REVOKER_ACME_BASE_URL", server.uri())
            .env("THE_TOKEN", TOKEN)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!(stdout(&output) + &stderr(&output)).contains(TOKEN));
    }
    let output = revoker()
        .arg("--plugin-dir")
        .arg(plugins.path())
        .env("ACME_TOKEN", "acme-admin-made-up")
        .env("REVOKER_ACME_BASE_URL", server.uri())
        .args(["acme", "revoke-token", "--token-stdin"])
        .write_stdin(format!("{TOKEN}\n"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let bodies: Vec<String> = server.received()[received..]
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(bodies, vec![format!("{{\"token\":\"{TOKEN}\"}}"); 3]);
    // Two sources at once, or none, is a usage error and sends nothing.
    for args in [
        &[
            "acme",
            "revoke-token",
            "--token",
            TOKEN,
            "--token-env",
            "THE_TOKEN",
        ][..],
        &["acme", "revoke-token"],
    ] {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(server.received().len(), received + 3);

    let output = run(&[
        "bulk",
        input.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = read_jsonl(&report);
    assert!(
        results.iter().all(|r| r["outcome"] == "revoked"),
        "{results:?}"
    );
    let token_request = server
        .received()
        .into_iter()
        .find(|r| r.path == "/oauth/revoke")
        .unwrap();
    assert_eq!(
        String::from_utf8(token_request.body).unwrap(),
        format!("{{\"token\":\"{TOKEN}\"}}")
    );
    for text in [
        stdout(&output),
        stderr(&output),
        std::fs::read_to_string(&report).unwrap(),
        std::fs::read_to_string(&journal).unwrap(),
    ] {
        assert!(!text.contains(TOKEN), "the secret param leaked: {text}");
    }
}

/// Runs `cargo <args>` on the crate at `dir`, offline (the workspace's lock
/// file goes along, so every dependency is one the workspace's build fetched),
/// into the target directory the out-of-tree builds share.
fn cargo_offline(dir: &std::path::Path, args: &[&str]) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    std::fs::copy(workspace_dir().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let output = std::process::Command::new(cargo)
        .args(args)
        .arg("--offline")
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(workspace_dir().join("target").join("out-of-tree"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo {args:?} of {} failed:\n{}",
        dir.display(),
        stderr(&output)
    );
}

#[test]
fn the_plugin_api_crate_builds_and_tests_alone_outside_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let sdk = dir.path().join("revoker-plugin-api");
    copy_dir(&workspace_dir().join("crates/plugin-api"), &sdk);
    // No `key.workspace = true`, `[lints] workspace = true` or the like.
    fn inherited(value: &toml::Value, at: &str) -> Vec<String> {
        let Some(table) = value.as_table() else {
            return Vec::new();
        };
        table
            .iter()
            .flat_map(|(key, value)| {
                let at = format!("{at}.{key}");
                if key == "workspace" {
                    vec![at]
                } else {
                    inherited(value, &at)
                }
            })
            .collect()
    }
    let manifest: toml::Table = std::fs::read_to_string(sdk.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        inherited(&toml::Value::Table(manifest), ""),
        Vec::<String>::new(),
        "the plugin API inherits nothing from a workspace"
    );
    cargo_offline(&sdk, &["build"]);
    cargo_offline(&sdk, &["test", "--lib", "--features", "testing"]);
}

#[test]
fn the_plugin_api_crate_names_what_the_workspace_does() {
    let read = |path: &str| -> toml::Table {
        std::fs::read_to_string(workspace_dir().join(path))
            .unwrap()
            .parse()
            .unwrap()
    };
    let (root, api) = (read("Cargo.toml"), read("crates/plugin-api/Cargo.toml"));
    let workspace = &root["workspace"];
    for key in ["edition", "rust-version", "license", "repository"] {
        assert_eq!(
            api["package"][key], workspace["package"][key],
            "package.{key} of crates/plugin-api"
        );
    }
    assert_eq!(
        workspace["dependencies"]["revoker-plugin-api"]["version"].as_str(),
        api["package"]["version"].as_str(),
        "the workspace's revoker-plugin-api version"
    );
    let mut compared = 0;
    for table in ["dependencies", "dev-dependencies"] {
        for (name, spec) in api[table].as_table().unwrap() {
            let Some(theirs) = workspace["dependencies"].get(name) else {
                continue;
            };
            let field = |spec: &toml::Value, key: &str| match spec {
                toml::Value::String(version) if key == "version" => {
                    Some(toml::Value::String(version.clone()))
                }
                spec => spec.get(key).cloned(),
            };
            for key in ["version", "default-features"] {
                assert_eq!(
                    field(spec, key),
                    field(theirs, key),
                    "{key} of {name} in crates/plugin-api's {table} and the workspace's"
                );
            }
            compared += 1;
        }
    }
    assert_eq!(compared, 4, "abi_stable, serde, proptest, serde_json");
    assert_eq!(
        api["lints"], workspace["lints"],
        "crates/plugin-api's lints and the workspace's"
    );
}

/// Builds the compatibility plugin in `tests/compat/<plugin>` out of tree,
/// against the plugin API snapshot `tests/compat/<snapshot>` beside it.
fn build_compat(plugin: &str, snapshot: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let crate_dir = copy_out(&format!("tests/compat/{plugin}"));
    let manifest = crate_dir.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        &format!("\"../{snapshot}\""),
        &format!(
            "{:?}",
            workspace_dir()
                .join("tests/compat")
                .join(snapshot)
                .display()
                .to_string()
        ),
    );
    std::fs::write(&manifest, text).unwrap();
    let built = build_out_of_tree(crate_dir.path(), false);
    (crate_dir, built)
}

/// `provider`'s entry in `revoker providers --json` with `plugins`, which must
/// load with nothing said on stderr.
fn loaded_quietly(plugins: &PluginDir, provider: &str) -> serde_json::Value {
    let output = revoker()
        .arg("--plugin-dir")
        .arg(plugins.path())
        .args(["providers", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    stdout_json(&output)
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == provider)
        .unwrap_or_else(|| panic!("{provider} loads"))
        .clone()
}

#[test]
fn a_plugin_built_against_plugin_api_1_1_keeps_loading_with_its_secret_params() {
    const TOKEN: &str = "tok-1.1-SECRET-made-up";
    let (_crate_dir, built) = build_compat("plugin-v1-1", "plugin-api-1.1.0");
    let plugins = PluginDir::new().with(&built.join("librevoker_secretive.so"), "secretive");
    let secretive = loaded_quietly(&plugins, "secretive");
    assert_eq!(secretive["plugin_api"], "1.1.0");
    assert_eq!(
        secretive["auth"]["kind"], "header",
        "1.1's auth is its manifest's"
    );

    let server = FaultServer::start(|_| Action::status(200));
    for dry_run in [true, false] {
        let mut command = revoker();
        command
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("SECRETIVE_API_KEY", "made-up")
            .env("REVOKER_SECRETIVE_BASE_URL", server.uri())
            .args([
                "--output",
                "json",
                "secretive",
                "revoke-token",
                "--token",
                TOKEN,
            ]);
        if dry_run {
            command.arg("--dry-run");
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let shown = stdout(&output) + &stderr(&output);
        assert!(
            !shown.contains(TOKEN),
            "its 1.1 secret param is kept secret: {shown}"
        );
        assert!(shown.contains("<redacted sha256:"), "{shown}");
    }
    let received = server.received();
    assert_eq!(received.len(), 1, "the dry run sent nothing");
    assert_eq!(received[0].headers["x-secretive-key"], "made-up");
    assert!(String::from_utf8_lossy(&received[0].body).contains(TOKEN));
}

#[test]
fn a_plugin_built_against_plugin_api_1_2_keeps_loading_with_its_auth_kind() {
    let (_crate_dir, built) = build_compat("plugin-v1-2", "plugin-api-1.2.0");
    let plugins = PluginDir::new().with(&built.join("librevoker_basicold.so"), "basicold");
    let basicold = loaded_quietly(&plugins, "basicold");
    assert_eq!(basicold["plugin_api"], "1.2.0");
    assert_eq!(basicold["auth"]["kind"], "basic");

    let server = FaultServer::start(|_| Action::status(204));
    let output = revoker()
        .arg("--plugin-dir")
        .arg(plugins.path())
        .env("BASICOLD_USER", "ann")
        .env("BASICOLD_PASSWORD", "made-up")
        .env("REVOKER_BASICOLD_BASE_URL", server.uri())
        .args(["basicold", "revoke", "--id", "k7", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout_json(&output)["outcome"], "revoked");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/keys/k7");
    // "ann:made-up", as HTTP Basic.
    assert_eq!(
        received[0].headers["authorization"],
        "Basic YW5uOm1hZGUtdXA="
    );
}

#[test]
fn a_plugin_built_against_plugin_api_1_0_keeps_loading() {
    let (_crate_dir, built) = build_compat("plugin-v1-0", "plugin-api-1.0.0");
    let plugins = PluginDir::new().with(&built.join("librevoker_oldtimer.so"), "oldtimer");
    let oldtimer = loaded_quietly(&plugins, "oldtimer");
    assert_eq!(oldtimer["plugin_api"], "1.0.0");

    let server = FaultServer::start(|_| Action::status(204));
    let output = revoker()
        .arg("--plugin-dir")
        .arg(plugins.path())
        .env("OLDTIMER_API_KEY", "made-up")
        .env("REVOKER_OLDTIMER_BASE_URL", server.uri())
        .args(["oldtimer", "revoke", "--id", "k9", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout_json(&output)["outcome"], "revoked");
    assert_eq!(server.received()[0].path, "/keys/k9/revoke");
}

#[test]
fn the_embed_example_revokes_against_a_local_server() {
    let example = support::target_dir().join("examples").join("embed");
    assert!(
        example.exists(),
        "{} is missing: `cargo build --workspace --examples`",
        example.display()
    );
    let server = FaultServer::start(|_| Action::status(204).header("X-Request-Id", "req-embed"));
    let output = std::process::Command::new(&example)
        .env_clear()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", "made-up")
        .arg(uuid(42))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let result = stdout_json(&output);
    assert_eq!(result["outcome"], "revoked");
    assert_eq!(result["request_id"], "req-embed");
    assert_eq!(
        server.received()[0].path,
        format!("/api-keys/{}/revoke", uuid(42))
    );
}

#[test]
fn an_embedder_is_told_where_a_missing_credential_was_looked_for() {
    let server = FaultServer::start(|_| Action::status(204));
    let request = revoker_host::Request::new(
        "dolfin",
        "revoke-api-key",
        revoker_host::Params::from_pairs([("id", uuid(1))]),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Even with the variable set: a host that does not read the environment
    // says so, and where else the credential could come from.
    let host = revoker_host::Host::builder()
        .plugin_dir(support::target_dir())
        .base_url("dolfin", &server.uri())
        .build()
        .unwrap();
    let error = runtime.block_on(host.execute(&request)).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, revoker_host::Error::MissingCredential { .. }),
        "{message}"
    );
    assert!(
        message.contains("does not read the environment")
            && message.contains("HostBuilder::credential")
            && message.contains("credential_file"),
        "{message}"
    );
    assert!(server.received().is_empty());
}

#[test]
fn an_embedder_sees_each_retry_of_a_bulk_line_before_it_finishes() {
    use futures_util::StreamExt as _;
    use revoker_host::bulk::{BulkJob, InputSource, JobEvent, JobSpec};
    // Key 2 gets a server error, then its answer.
    let server = FaultServer::start(|request| {
        if request.path.contains(&uuid(2)) && request.attempt == 0 {
            Action::json(503, "{}")
        } else {
            Action::status(204)
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("keys.jsonl");
    std::fs::write(
        &input,
        (1..=3)
            .map(|n| support::bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(n))]) + "\n")
            .collect::<String>(),
    )
    .unwrap();
    let host = revoker_host::Host::builder()
        .plugin_dir(support::target_dir())
        .base_url("dolfin", &server.uri())
        .credential("dolfin", support::DOLFIN_KEY.to_owned().into())
        .retry_policy(revoker_host::RetryPolicy {
            base_delay: std::time::Duration::from_millis(1),
            ..revoker_host::RetryPolicy::default()
        })
        .build()
        .unwrap();
    let job = BulkJob::prepare(&host, JobSpec::new(InputSource::File(input))).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let events: Vec<String> = runtime.block_on(async {
        let mut seen = Vec::new();
        let mut events = std::pin::pin!(job.run());
        while let Some(event) = events.next().await {
            match event {
                JobEvent::Retrying { line, retry } => {
                    seen.push(format!("retry {line} {:?} {}", retry.status, retry.sends));
                }
                JobEvent::Finished { line, success, .. } => {
                    seen.push(format!("finished {line} {success}"));
                }
                _ => {}
            }
        }
        seen
    });
    let retry = events.iter().position(|e| e == "retry 2 Some(503) 1");
    let finished = events.iter().position(|e| e == "finished 2 true");
    assert!(
        retry.is_some() && retry < finished,
        "the retry is told before the line finishes: {events:?}"
    );
    assert_eq!(events.iter().filter(|e| e.starts_with("retry")).count(), 1);
    assert_eq!(server.received().len(), 4);
}
