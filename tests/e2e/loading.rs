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
    assert_eq!(names, ["aws-iam", "dolfin", "langwatch", "pinata"]);
    assert_eq!(
        operations(&list, "aws-iam"),
        ["deactivate-access-key", "delete-access-key"]
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
        4,
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
    assert_eq!(list.as_array().unwrap().len(), 4);
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
    assert_eq!(list.as_array().unwrap().len(), 4, "the others load");
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
    assert_eq!(list.as_array().unwrap().len(), 4);
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
