//! Loading plugins: the bundled three side by side, and the ones that must be
//! refused without stopping the others.

use serde_json::Value;
use support::{PluginDir, fixture_file, plugin_file, revoker, stderr, stdout_json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn providers(dir: Option<&PluginDir>) -> (Value, String) {
    let mut command = revoker();
    if let Some(dir) = dir {
        command.arg("--plugin-dir").arg(dir.path());
    }
    let output = command.args(["providers", "--json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    (stdout_json(&output), stderr(&output))
}

fn operations(list: &Value, provider: &str) -> Vec<String> {
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == provider)
        .unwrap_or_else(|| panic!("{provider} not loaded: {list}"));
    entry["operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_bundled_plugins_load_side_by_side_each_with_its_own_manifest() {
    let (list, stderr) = providers(None);
    assert!(stderr.is_empty(), "{stderr}");
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(names, support::BUNDLED_PROVIDERS);
    assert_eq!(
        operations(&list, "aws-iam"),
        [
            "deactivate-access-key",
            "delete-access-key",
            "lookup-access-key-user"
        ]
    );
    assert_eq!(operations(&list, "dolfin"), ["revoke-api-key"]);
    assert_eq!(operations(&list, "langwatch"), ["revoke-virtual-key"]);
    assert_eq!(
        operations(&list, "pinata"),
        ["revoke-gateway-key", "create-gateway-key", "revoke-api-key"]
    );
    for entry in list.as_array().unwrap() {
        let file = entry["file"].as_str().unwrap();
        let provider = entry["provider"].as_str().unwrap();
        let stem = provider.replace('-', "_");
        assert!(file.ends_with(&format!("revoker_{stem}.so")), "{file}");
    }
}

#[test]
fn plugin_for_another_api_version_is_refused_naming_both_versions() {
    let dir = PluginDir::new().with(&fixture_file("wrong-version"), "future");
    let (list, stderr) = providers(Some(&dir));
    assert_eq!(
        list.as_array().unwrap().len(),
        support::BUNDLED_PROVIDERS.len(),
        "the bundled plugins still load"
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("librevoker_future.so"))
        .expect(&stderr);
    assert!(
        line.starts_with("revoker: warning: refusing plugin "),
        "{line}"
    );
    assert!(line.contains("plugin API version 2"), "{line}");
    assert!(line.contains("speaks version 1"), "{line}");
    assert!(line.contains("rebuild the plugin"), "{line}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn plugin_with_another_layout_is_refused() {
    let dir = PluginDir::new().with(&fixture_file("wrong-layout"), "odd");
    let (list, stderr) = providers(Some(&dir));
    assert_eq!(
        list.as_array().unwrap().len(),
        support::BUNDLED_PROVIDERS.len()
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("librevoker_odd.so"))
        .expect(&stderr);
    assert!(line.contains("layout does not match"), "{line}");
    // Its root module is its own type, not the plugin API's.
    assert!(
        line.contains(
            "first difference: type ProviderModule: expected ProviderModule from package \
             revoker-plugin-api, found one from fixture-wrong-layout"
        ),
        "{line}"
    );
    assert!(
        line.contains("run with -vv for the full comparison"),
        "{line}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");

    // -vv has abi_stable's whole comparison.
    let output = revoker()
        .arg("--plugin-dir")
        .arg(dir.path())
        .args(["-vv", "providers"])
        .output()
        .unwrap();
    let verbose = support::stderr(&output);
    assert!(verbose.contains("layout mismatch"), "{verbose}");
    assert!(verbose.lines().count() > 20, "{verbose}");
}

/// Replaces each `(from, to)` in the file at `path`, every `from` being there.
fn edit(path: &std::path::Path, replacements: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(path).unwrap();
    for (from, to) in replacements {
        assert!(text.contains(from), "{from:?} is not in {}", path.display());
        text = text.replace(from, to);
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_plugin_built_against_a_changed_interface_is_refused_naming_the_type_and_field() {
    // The plugin API with a variant added to `OutcomeKind`, which changes the
    // layout of `Outcome`: the breaking change a plugin author may make in a
    // copy of the crate. The template is built against that copy.
    let work = tempfile::tempdir().unwrap();
    let api = work.path().join("plugin-api");
    support::copy_dir(&support::workspace_dir().join("crates/plugin-api"), &api);
    edit(
        &api.join("src/outcome.rs"),
        &[
            (
                "    Unknown,\n}",
                "    Unknown,\n    /// Not this revoker's.\n    Extra,\n}",
            ),
            (
                "Self::Unknown => \"unknown\",",
                "Self::Unknown => \"unknown\",\n            Self::Extra => \"extra\",",
            ),
        ],
    );
    let plugin = work.path().join("plugin");
    support::copy_dir(
        &support::workspace_dir().join("examples/plugin-template"),
        &plugin,
    );
    let api_path = format!("path = {:?}", api.display().to_string());
    edit(
        &plugin.join("Cargo.toml"),
        &[
            // Not the template's own file name, which another test builds.
            ("name = \"revoker-acme\"", "name = \"revoker-skewed\""),
            ("path = \"../../crates/plugin-api\"", &api_path),
        ],
    );
    let built = support::build_out_of_tree(&plugin, false);
    let dir = PluginDir::new().with(&built.join("librevoker_skewed.so"), "skewed");

    let (list, stderr) = providers(Some(&dir));
    assert_eq!(
        list.as_array().unwrap().len(),
        support::BUNDLED_PROVIDERS.len(),
        "the others load"
    );
    let line = stderr
        .lines()
        .find(|l| l.contains("librevoker_skewed.so"))
        .expect(&stderr);
    let variants = revoker_host::OutcomeKind::ALL.len();
    let expected = format!(
        "first difference: type Outcome, field `kind`: expected OutcomeKind with {variants} \
         variants, found {}",
        variants + 1
    );
    assert!(line.contains(&expected), "{line}");
    assert!(line.contains("rebuild the plugin"), "{line}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[test]
fn a_file_that_is_not_a_plugin_and_a_duplicate_provider_are_refused() {
    let dir = PluginDir::new().with(&plugin_file("dolfin"), "dolfin-copy");
    std::fs::write(dir.path().join("librevoker_garbage.so"), b"not a library").unwrap();
    let (list, stderr) = providers(Some(&dir));
    assert_eq!(
        list.as_array().unwrap().len(),
        support::BUNDLED_PROVIDERS.len()
    );
    assert!(
        stderr.contains("librevoker_garbage.so: cannot load the library"),
        "{stderr}"
    );
    // --plugin-dir comes first, so the copy wins and the bundled one is refused.
    assert!(
        stderr.contains("librevoker_dolfin.so: provider \"dolfin\" is already provided by"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_panicking_plan_is_an_error_outcome_and_the_host_survives() {
    let dir = PluginDir::new().with(&fixture_file("panicky"), "panicky");
    let output = revoker()
        .arg("--plugin-dir")
        .arg(dir.path())
        .env("PANICKY_API_KEY", "k")
        .args(["panicky", "plan-panics", "--id", "1", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let result = stdout_json(&output);
    assert_eq!(result["outcome"], "plugin-error");
    assert_eq!(result["attempts"], 0);
    let detail = result["detail"].as_str().unwrap();
    assert!(
        detail.contains("plugin panicked: plan blew up on purpose"),
        "{detail}"
    );
    assert!(detail.contains("panicky"), "{detail}");
}

#[tokio::test]
async fn a_panicking_interpret_is_an_error_outcome_and_the_host_survives() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let dir = PluginDir::new().with(&fixture_file("panicky"), "panicky");
    let output = revoker()
        .arg("--plugin-dir")
        .arg(dir.path())
        .env("PANICKY_API_KEY", "k")
        .env("REVOKER_PANICKY_BASE_URL", server.uri())
        .args([
            "panicky",
            "interpret-panics",
            "--id",
            "1",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let result = stdout_json(&output);
    // The provider answered; its plugin failed reading the answer.
    assert_eq!(result["outcome"], "plugin-error");
    assert_eq!(result["status"], 204);
    assert!(
        result["detail"]
            .as_str()
            .unwrap()
            .contains("interpret blew up on purpose")
    );
}

/// The `revoker` binary copied alone into an empty directory.
fn binary_alone() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("revoker");
    std::fs::copy(support::revoker_bin(), &binary).unwrap();
    (dir, binary)
}

#[test]
fn a_binary_without_its_plugins_says_so_naming_where_it_looked_and_sends_nothing() {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    server.set_nonblocking(true).unwrap();
    let uri = format!("http://{}", server.local_addr().unwrap());
    let (dir, binary) = binary_alone();
    let input = dir.path().join("keys.jsonl");
    std::fs::write(
        &input,
        support::bulk_line("dolfin", "revoke-api-key", &[("id", &support::uuid(1))]) + "\n",
    )
    .unwrap();
    let runs: [&[&str]; 4] = [
        &["dolfin", "revoke-api-key", "--id", &support::uuid(1)],
        &["bulk", "--dry-run", input.to_str().unwrap()],
        &["bulk", "--yes", input.to_str().unwrap()],
        &["providers"],
    ];
    for args in runs {
        let output = std::process::Command::new(&binary)
            .env_remove("REVOKER_PLUGIN_PATH")
            .env("REVOKER_DOLFIN_BASE_URL", &uri)
            .env("DOLFIN_API_KEY", support::DOLFIN_KEY)
            .args(args)
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains("no provider plugin loaded")
                && err.contains(&dir.path().display().to_string()),
            "{args:?}: {err}"
        );
    }
    // Nothing connected.
    assert!(server.accept().is_err());
}

#[test]
fn a_missing_plugin_directory_and_settings_for_a_provider_not_loaded_are_refused() {
    let dir = support::private_dir();
    let missing = dir.path().join("no-such-dir");
    let output = revoker()
        .arg("--plugin-dir")
        .arg(&missing)
        .arg("providers")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no-such-dir: does not exist or is not a directory"),
        "{}",
        stderr(&output)
    );

    let config = dir.path().join("revoker.toml");
    std::fs::write(&config, "[providers.dolfn]\nrate = \"5/s\"\n").unwrap();
    let output = revoker()
        .arg("--config")
        .arg(&config)
        .arg("providers")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("names provider \"dolfn\", which no loaded plugin provides"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn calling_a_provider_whose_plugin_was_refused_says_why_not_that_it_is_unknown() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = PluginDir::new()
        // Refused before its manifest is read: known by its file's name.
        .with(&fixture_file("wrong-layout"), "odd")
        .with(&fixture_file("wrong-version"), "future_proof")
        .with(&fixture_file("panicky"), "panicky")
        // Refused after: known by the provider its manifest names, `needy`.
        .with(&fixture_file("needy"), "wants_more");
    let untrusted = dir.path().join("librevoker_panicky.so");
    std::fs::set_permissions(&untrusted, std::fs::Permissions::from_mode(0o666)).unwrap();
    let cases: [(&[&str], &str, &str, &str); 5] = [
        (
            &["odd", "revoke", "--id", "1"],
            "odd",
            "librevoker_odd.so",
            "its plugin interface layout does not match this revoker's",
        ),
        (
            &["future-proof", "revoke"],
            "future-proof",
            "librevoker_future_proof.so",
            "built for plugin API version 2",
        ),
        (
            &["panicky", "ok", "--id", "1", "--dry-run"],
            "panicky",
            "librevoker_panicky.so",
            "it is writable by group or others (mode 0666)",
        ),
        (
            &["needy", "revoke", "--output", "json"],
            "needy",
            "librevoker_wants_more.so",
            "it needs the host feature test:no-host-has-this",
        ),
        (
            &["describe", "needy"],
            "needy",
            "librevoker_wants_more.so",
            "it needs the host feature test:no-host-has-this",
        ),
    ];
    for (args, provider, file, why) in cases {
        let output = revoker()
            .arg("--plugin-dir")
            .arg(dir.path())
            .env("PANICKY_API_KEY", "made-up")
            .args(args)
            .output()
            .unwrap();
        let err = stderr(&output);
        // A plugin or config error, as for a binary without its plugins.
        assert_eq!(output.status.code(), Some(3), "{args:?}: {err}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let errors: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("revoker: error: "))
            .collect();
        assert_eq!(errors.len(), 1, "{args:?}: {err}");
        let expected = format!("revoker: error: provider {provider} is not loaded: its plugin ");
        assert!(errors[0].starts_with(&expected), "{args:?}: {err}");
        assert!(
            errors[0].contains(&format!("{file} was refused: {why}")),
            "{args:?}: {err}"
        );
        assert!(!err.contains("unknown"), "{args:?}: {err}");
    }

    // The manifest named `needy`: the file's name says nothing then.
    let output = revoker()
        .arg("--plugin-dir")
        .arg(dir.path())
        .args(["wants-more", "revoke"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("unknown command or provider \"wants-more\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bulk_line_for_a_provider_whose_plugin_was_refused_is_a_plugin_error_saying_why() {
    use support::fault_server::{Action, FaultServer};
    let server = FaultServer::start(|_| Action::status(204));
    let dir = PluginDir::new().with(&fixture_file("wrong-layout"), "odd");
    let work = support::private_dir();
    let input = work.path().join("keys.jsonl");
    let lines = [
        support::bulk_line("dolfin", "revoke-api-key", &[("id", &support::uuid(1))]),
        support::bulk_line("odd", "revoke", &[("id", "k2")]),
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let report = work.path().join("report.jsonl");
    let run = |extra: &[&str]| {
        revoker()
            .arg("--plugin-dir")
            .arg(dir.path())
            .env("DOLFIN_API_KEY", support::DOLFIN_KEY)
            .env("REVOKER_DOLFIN_BASE_URL", server.uri())
            .args(["bulk", "--yes"])
            .args(extra)
            .arg(&input)
            .output()
            .unwrap()
    };
    let refused = |result: &Value| {
        assert_eq!(result["line"], 2, "{result}");
        assert_eq!(result["provider"], "odd", "{result}");
        assert_eq!(result["outcome"], "plugin-error", "{result}");
        assert_eq!(result["attempts"], 0, "{result}");
        let detail = result["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("provider odd is not loaded: its plugin "),
            "{detail}"
        );
        assert!(
            detail.contains("librevoker_odd.so was refused: its plugin interface layout"),
            "{detail}"
        );
    };

    // A real run: the other line goes on; this one fails (exit 1).
    let output = run(&["--report", report.to_str().unwrap()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let results = support::read_jsonl(&report);
    let line = |n: u64| results.iter().find(|r| r["line"] == n).unwrap();
    assert_eq!(line(1)["outcome"], "revoked", "{results:?}");
    refused(line(2));
    assert!(
        err.contains("line 2: plugin-error odd revoke id=k2: provider odd is not loaded"),
        "{err}"
    );
    assert_eq!(server.received().len(), 1);

    // A dry run says the same of it.
    let output = run(&["--dry-run", "--output", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let printed: Vec<Value> = support::stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    refused(printed.iter().find(|r| r["line"] == 2).unwrap());
    assert_eq!(server.received().len(), 1, "a dry run sends nothing");
}

#[test]
fn version_names_the_host_and_plugin_api_versions() {
    for flag in ["--version", "-V"] {
        let output = revoker().arg(flag).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = support::stdout(&output);
        assert!(text.starts_with("revoker "), "{text}");
        assert!(
            text.contains("(plugin API 1, revoker-plugin-api 1."),
            "{text}"
        );
        assert!(stderr(&output).is_empty(), "{}", stderr(&output));
    }
}
