//! Security: secrets never leak, credentials go only to their provider, plugins
//! load only when trusted, crashing plugins are isolated, the audit log tells
//! edits, hostile servers cannot hang or crash a run.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use support::fault_server::{Action, FaultServer};
use support::{
    PluginDir, bulk_line, fixture_file, plugin_file, read_jsonl, revoker, stderr, stdout,
    stdout_json, uuid,
};

const CANARY_JWT: &str = "CANARY-pinata-jwt-4b1d";
const CANARY_LANGWATCH: &str = "CANARY-langwatch-key-77c2";
const CANARY_DOLFIN: &str = "CANARY-dolfin-key-e90a";
const CANARY_CREATED: &str = "CANARY-created-gateway-key-5f3e";

fn text(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

/// Answers every bundled endpoint; Dolfin keys 401, 500 and 999 fail (999 by
/// answering after the 1 s timeout).
fn canary_server() -> FaultServer {
    FaultServer::start(|request| {
        let path = request.path.as_str();
        if path.starts_with("/v3/gateways/") && request.method == "POST" {
            return Action::json(
                200,
                &format!(
                    r#"{{"data":{{"id":"k-new","value":"{CANARY_CREATED}","createdAt":"2026-01-01"}}}}"#
                ),
            );
        }
        if path.starts_with("/v3/gateways/") {
            return Action::json(200, r#"{"data":null}"#);
        }
        if path == "/users/revokeApiKey" {
            return Action::json(200, r#""Revoked""#);
        }
        if path.starts_with("/api/gateway/") {
            return Action::json(200, r#"{"virtual_key":{"status":"revoked"}}"#);
        }
        if path.contains(&uuid(401)) {
            return Action::json(401, r#"{"title":"Unauthorized"}"#);
        }
        if path.contains(&uuid(500)) {
            return Action::json(500, r#"{"title":"Boom"}"#);
        }
        if path.contains(&uuid(999)) {
            // Never within the 1 s timeout, however slow the machine.
            return Action::status(204).after(Duration::from_secs(600));
        }
        Action::status(204)
    })
}

#[test]
fn no_secret_reaches_output_logs_journal_report_or_audit() {
    let server = canary_server();
    let dir = support::private_dir();
    let config = dir.path().join("revoker.toml");
    std::fs::write(&config, "[http]\nrequest_timeout_secs = 1\n").unwrap();
    let (journal, report, audit) = (
        dir.path().join("journal"),
        dir.path().join("report.jsonl"),
        dir.path().join("audit.jsonl"),
    );
    let gateway = uuid(7);
    let lines = vec![
        bulk_line(
            "pinata",
            "revoke-gateway-key",
            &[("gateway-id", &gateway), ("key-id", &uuid(8))],
        ),
        bulk_line("pinata", "create-gateway-key", &[("gateway-id", &gateway)]),
        bulk_line("pinata", "revoke-api-key", &[("api-key", "public-1")]),
        bulk_line("langwatch", "revoke-virtual-key", &[("id", "vk1")]),
        bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(1))]),
        bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(401))]),
        bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(500))]),
        bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(999))]),
        "{not json".to_owned(),
    ];
    let input = dir.path().join("keys.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();

    let run = |args: &[&str]| -> Output {
        revoker()
            .env("RUST_LOG", "trace")
            .env("PINATA_JWT", CANARY_JWT)
            .env("LANGWATCH_API_KEY", CANARY_LANGWATCH)
            .env("DOLFIN_API_KEY", CANARY_DOLFIN)
            .env("REVOKER_PINATA_BASE_URL", server.uri())
            .env("REVOKER_LANGWATCH_BASE_URL", server.uri())
            .env("REVOKER_DOLFIN_BASE_URL", server.uri())
            .arg("-vvv")
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap()
    };
    let (input_s, journal_s, report_s, audit_s) = (
        input.to_str().unwrap(),
        journal.to_str().unwrap(),
        report.to_str().unwrap(),
        audit.to_str().unwrap(),
    );
    let k8 = uuid(8);
    let single: Vec<Vec<&str>> = vec![
        vec!["providers"],
        vec!["providers", "--json"],
        vec!["providers", "--hashes"],
        vec!["describe", "pinata"],
        vec!["describe", "dolfin", "revoke-api-key", "--output", "json"],
        vec![
            "pinata",
            "revoke-gateway-key",
            "--gateway-id",
            &gateway,
            "--key-id",
            &k8,
        ],
        vec![
            "pinata",
            "revoke-api-key",
            "--api-key",
            "public-1",
            "--output",
            "json",
        ],
        vec!["langwatch", "revoke-virtual-key", "--id", "vk1"],
        vec!["dolfin", "revoke-api-key", "--id", "not-a-uuid"],
        vec![
            "pinata",
            "create-gateway-key",
            "--gateway-id",
            &gateway,
            "--dry-run",
        ],
        vec![
            "pinata",
            "revoke-api-key",
            "--api-key",
            "p",
            "--dry-run",
            "--output",
            "json",
        ],
        vec![
            "dolfin",
            "revoke-api-key",
            "--id",
            "5eb8b151-77b3-4e46-8243-5b6282131a9e",
            "--dry-run",
        ],
        vec!["bulk", input_s, "--dry-run"],
        vec![
            "bulk",
            input_s,
            "--journal",
            journal_s,
            "--report",
            report_s,
            "--audit",
            audit_s,
            "--max-attempts",
            "2",
        ],
        vec!["audit", "verify", audit_s],
    ];
    let dolfin_failures = [uuid(401), uuid(500), uuid(999)];
    let mut outputs: Vec<(String, Output)> = single
        .iter()
        .map(|args| (args.join(" "), run(args)))
        .collect();
    for id in &dolfin_failures {
        outputs.push((
            format!("dolfin {id}"),
            run(&[
                "dolfin",
                "revoke-api-key",
                "--id",
                id,
                "--max-attempts",
                "2",
            ]),
        ));
    }
    let create = run(&["pinata", "create-gateway-key", "--gateway-id", &gateway]);
    assert_eq!(create.status.code(), Some(0), "{}", text(&create));
    assert!(
        stdout(&create).contains(CANARY_CREATED),
        "the new key is shown once"
    );

    let bulk = &outputs
        .iter()
        .find(|(name, _)| name.contains("--journal"))
        .unwrap()
        .1;
    assert_eq!(bulk.status.code(), Some(1), "{}", text(bulk));
    assert!(
        stdout(bulk).contains(CANARY_CREATED),
        "bulk shows the new key on stdout"
    );
    let report_text = std::fs::read_to_string(&report).unwrap();
    assert!(report_text.contains(CANARY_CREATED), "and in the report");
    let verify = &outputs.last_chunk::<4>().unwrap()[0].1;
    assert_eq!(verify.status.code(), Some(0), "{}", text(verify));

    let files = [
        ("journal", std::fs::read_to_string(&journal).unwrap()),
        ("report", report_text),
        ("audit", std::fs::read_to_string(&audit).unwrap()),
    ];
    assert!(
        files[2].1.lines().count() >= 8,
        "the audit log has every request"
    );
    for canary in [CANARY_JWT, CANARY_LANGWATCH, CANARY_DOLFIN] {
        for (name, output) in outputs
            .iter()
            .chain(std::iter::once(&("create".to_owned(), create.clone())))
        {
            assert!(
                !text(output).contains(canary),
                "{canary} leaked in `{name}`:\n{}",
                text(output)
            );
        }
        for (name, contents) in &files {
            assert!(!contents.contains(canary), "{canary} leaked in the {name}");
        }
    }
    for (name, output) in &outputs {
        assert!(
            !stderr(output).contains(CANARY_CREATED),
            "the new key leaked on stderr of `{name}`"
        );
    }
    assert!(!stderr(&create).contains(CANARY_CREATED));
    assert!(
        !files[0].1.contains(CANARY_CREATED),
        "the new key leaked in the journal"
    );
    assert!(
        !files[2].1.contains(CANARY_CREATED),
        "the new key leaked in the audit log"
    );
    // Trace logging was on: the test saw logs, not silence.
    assert!(
        stderr(bulk).contains("TRACE") || stderr(bulk).contains("DEBUG"),
        "{}",
        stderr(bulk)
    );
}

#[test]
fn report_and_journal_are_private_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("keys.jsonl");
    std::fs::write(
        &input,
        bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(1))]) + "\n",
    )
    .unwrap();
    let (journal, report, audit) = (
        dir.path().join("j"),
        dir.path().join("r"),
        dir.path().join("a"),
    );
    let output = revoker()
        .env("DOLFIN_API_KEY", "k")
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .args(["--audit", audit.to_str().unwrap(), "bulk"])
        .arg(&input)
        .arg("--journal")
        .arg(&journal)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    for file in [&journal, &report, &audit] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
}

/// A plugin dir with the malicious fixture as provider `malicious`.
fn malicious_dir() -> PluginDir {
    PluginDir::new().with(&fixture_file("malicious"), "malicious")
}

#[test]
fn a_plugin_cannot_send_the_credential_elsewhere_or_forge_headers() {
    let base = FaultServer::start(|_| Action::status(204));
    let elsewhere = FaultServer::start(|_| Action::status(204));
    let target = elsewhere.uri().trim_start_matches("http://").to_owned();
    let dir = malicious_dir();
    let attack = |kind: &str, extra: &[&str]| {
        revoker()
            .arg("--plugin-dir")
            .arg(dir.path())
            .env("MALICIOUS_API_KEY", CANARY_DOLFIN)
            .env("REVOKER_MALICIOUS_BASE_URL", base.uri())
            .args(["malicious", "attack", "--kind", kind, "--target", &target])
            .args(extra)
            .output()
            .unwrap()
    };
    let kinds = [
        "absolute-url",
        "scheme-relative",
        "relative",
        "dot-dot",
        "encoded-dot-dot",
        "backslash",
        "at-sign",
        "crlf-in-path",
        "authorization",
        "host",
        "cookie",
        "own-credential",
        "crlf-in-header",
        "bad-header-name",
    ];
    for kind in kinds {
        // The plugin's fault, a failed item: the same in a real and a dry run.
        for run in [
            &["--output", "json"][..],
            &["--output", "json", "--dry-run"],
        ] {
            let output = attack(kind, run);
            assert_eq!(
                output.status.code(),
                Some(1),
                "{kind} {run:?}: {}",
                text(&output)
            );
            let result = stdout_json(&output);
            assert_eq!(result["outcome"], "plugin-error", "{kind} {run:?}");
            assert_eq!(result["attempts"], 0, "{kind}");
            let detail = result["detail"].as_str().unwrap();
            assert!(
                detail.contains("plugin malicious planned a request the host refuses to send"),
                "{kind}: {detail}"
            );
            assert!(!text(&output).contains(CANARY_DOLFIN));
        }
    }
    // For people too, on one line and its detail.
    let output = attack("host", &["--dry-run"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        stdout(&output).starts_with("plugin-error: malicious attack kind=host"),
        "{}",
        text(&output)
    );
    assert!(
        stdout(&output).contains("header host is set by the host, not by a plugin"),
        "{}",
        text(&output)
    );
    assert!(base.received().is_empty(), "nothing was sent for an attack");
    assert!(
        elsewhere.received().is_empty(),
        "nothing reached another server"
    );

    // The same plugin's honest request goes out, to its base URL, with the credential.
    let output = revoker()
        .arg("--plugin-dir")
        .arg(dir.path())
        .env("MALICIOUS_API_KEY", CANARY_DOLFIN)
        .env("REVOKER_MALICIOUS_BASE_URL", base.uri())
        .args(["malicious", "ok"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let received = base.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/honest");
    assert_eq!(received[0].headers["x-malicious-key"], CANARY_DOLFIN);
}

#[test]
fn a_bulk_line_the_host_refuses_to_send_is_a_plugin_error_in_a_dry_and_a_real_run() {
    let base = FaultServer::start(|_| Action::status(204));
    let dir = malicious_dir();
    let work = support::private_dir();
    let input = work.path().join("keys.jsonl");
    let lines = [
        bulk_line("malicious", "ok", &[]),
        bulk_line("malicious", "attack", &[("kind", "dot-dot")]),
        bulk_line("malicious", "attack", &[("kind", "authorization")]),
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let journal = work.path().join("journal.jsonl");
    let report = work.path().join("report.jsonl");
    let run = |extra: &[&str]| {
        revoker()
            .arg("--plugin-dir")
            .arg(dir.path())
            .env("MALICIOUS_API_KEY", CANARY_DOLFIN)
            .env("REVOKER_MALICIOUS_BASE_URL", base.uri())
            .args(["--output", "json", "bulk", "--yes"])
            .args(extra)
            .arg(&input)
            .output()
            .unwrap()
    };
    let refused = |result: &Value| {
        assert_eq!(result["outcome"], "plugin-error", "{result}");
        assert_eq!(result["attempts"], 0, "{result}");
        let detail = result["detail"].as_str().unwrap();
        assert!(
            detail.contains("plugin malicious planned a request the host refuses to send"),
            "{detail}"
        );
    };
    let by_line = |results: &[Value]| -> BTreeMap<u64, Value> {
        results
            .iter()
            .filter_map(|r| Some((r["line"].as_u64()?, r.clone())))
            .collect()
    };

    // A dry run plans the honest line and lists the others as a real run
    // would report them (and exits 0: it planned its input).
    let dry = run(&["--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    let printed: Vec<Value> = stdout(&dry)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let dry_lines = by_line(&printed);
    assert_eq!(dry_lines[&1]["dry_run"], true);
    refused(&dry_lines[&2]);
    refused(&dry_lines[&3]);
    let summary = &printed.last().unwrap()["summary"];
    assert_eq!(summary["outcomes"]["plugin-error"], 2, "{summary}");

    // A real run: the same outcome, a failed line each (exit 1).
    let real = run(&[
        "--journal",
        journal.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(real.status.code(), Some(1), "{}", text(&real));
    let reported = by_line(&read_jsonl(&report));
    assert_eq!(reported[&1]["outcome"], "revoked");
    refused(&reported[&2]);
    refused(&reported[&3]);
    let summary = &stdout_json_last(&real)["summary"];
    assert_eq!(summary["outcomes"]["plugin-error"], 2, "{summary}");
    assert_eq!(summary["failed"], 2, "{summary}");
    let received = base.received();
    assert_eq!(received.len(), 1, "only the honest request went out");
    assert_eq!(received[0].path, "/honest");

    // Nothing was sent for them: a re-run with the journal tries them again.
    let again = run(&["--journal", journal.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(
        stderr(&again).contains("1 lines settled by an earlier run, 2 to send again"),
        "{}",
        text(&again)
    );
    assert!(!text(&real).contains(CANARY_DOLFIN));
}

/// The last line of stdout, as JSON (a bulk run's summary).
fn stdout_json_last(output: &Output) -> Value {
    let out = stdout(output);
    serde_json::from_str(out.lines().last().expect("a line")).unwrap()
}

#[test]
fn a_redirect_is_not_followed_with_the_credential() {
    let elsewhere = FaultServer::start(|_| Action::status(204));
    let location = format!("{}/steal", elsewhere.uri());
    let base = FaultServer::start(move |_| Action::status(302).header("Location", &location));
    let output = revoker()
        .env("DOLFIN_API_KEY", CANARY_DOLFIN)
        .env("REVOKER_DOLFIN_BASE_URL", base.uri())
        .args([
            "dolfin",
            "revoke-api-key",
            "--id",
            &uuid(1),
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let result = stdout_json(&output);
    assert_eq!(result["status"], 302);
    assert_eq!(result["outcome"], "provider-error");
    assert_eq!(base.received().len(), 1);
    assert!(
        elsewhere.received().is_empty(),
        "the redirect was not followed"
    );
}

#[test]
fn http_off_loopback_needs_allow_insecure_http() {
    let run = |extra: &[&str]| {
        revoker()
            .env("REVOKER_DOLFIN_BASE_URL", "http://revoker-test.invalid")
            .args(extra)
            .args(["dolfin", "revoke-api-key", "--id", &uuid(1), "--dry-run"])
            .output()
            .unwrap()
    };
    let output = run(&[]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("is not https"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("--allow-insecure-http"),
        "{}",
        stderr(&output)
    );
    assert_eq!(run(&["--allow-insecure-http"]).status.code(), Some(0));
}

#[test]
fn credentials_from_a_private_file_or_stdin_never_from_a_loose_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = FaultServer::start(|_| Action::status(204));
    let dir = support::private_dir();
    let secret = dir.path().join("dolfin.key");
    std::fs::write(&secret, "from-the-file\n").unwrap();
    let config = dir.path().join("revoker.toml");
    std::fs::write(
        &config,
        format!(
            "[providers.dolfin]\ncredential_file = \"{}\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let run = || {
        revoker()
            .env("REVOKER_DOLFIN_BASE_URL", server.uri())
            .arg("--config")
            .arg(&config)
            .args(["dolfin", "revoke-api-key", "--id", &uuid(1)])
            .output()
            .unwrap()
    };
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = run();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(stderr(&output).contains("chmod 600"), "{}", stderr(&output));
    assert!(!text(&output).contains("from-the-file"));
    assert!(server.received().is_empty());

    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(run().status.code(), Some(0));
    assert_eq!(
        server.received()[0].headers["x-dolfin-api-key"],
        "from-the-file"
    );

    let output = revoker()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .args([
            "--credential-stdin",
            "dolfin",
            "dolfin",
            "revoke-api-key",
            "--id",
            &uuid(2),
        ])
        .write_stdin("from-stdin\n")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        server.received()[1].headers["x-dolfin-api-key"],
        "from-stdin"
    );
}

#[test]
fn crashing_plugins_under_isolate_fail_their_lines_and_the_run_goes_on() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = PluginDir::new().with(&fixture_file("crashy"), "crashy");
    let work = support::private_dir();
    let config = work.path().join("revoker.toml");
    std::fs::write(&config, "plugin_timeout_secs = 1\n").unwrap();
    let operations = ["ok", "segfault", "ok", "abort", "hang", "ok"];
    let lines: Vec<String> = operations
        .iter()
        .enumerate()
        .map(|(i, op)| bulk_line("crashy", op, &[("id", &i.to_string())]))
        .collect();
    let input = work.path().join("keys.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let report = work.path().join("report.jsonl");
    let output = revoker()
        .arg("--plugin-dir")
        .arg(dir.path())
        .arg("--config")
        .arg(&config)
        .env("CRASHY_API_KEY", "k")
        .env("REVOKER_CRASHY_BASE_URL", server.uri())
        .args(["--isolate", "bulk", "--concurrency", "1"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report = read_jsonl(&report);
    let by_line: BTreeMap<u64, &Value> = report
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r))
        .collect();
    assert_eq!(by_line.len(), 6, "every line has its outcome");
    for (line, expected) in [(1, "revoked"), (3, "revoked"), (6, "revoked")] {
        assert_eq!(by_line[&line]["outcome"], expected);
    }
    for (line, why) in [
        (2, "signal 11 SIGSEGV"),
        (4, "signal 6 SIGABRT"),
        (5, "did not answer within 1s"),
    ] {
        assert_eq!(by_line[&line]["outcome"], "plugin-error");
        let detail = by_line[&line]["detail"].as_str().unwrap();
        assert!(
            detail.contains("plugin crashy (isolated) failed"),
            "{detail}"
        );
        assert!(detail.contains(why), "{detail}");
    }
    assert_eq!(server.received().len(), 3);
}

#[test]
fn audit_verify_names_a_removed_or_edited_line() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("keys.jsonl");
    let lines: Vec<String> = (1..=5)
        .map(|n| bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(n))]))
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let audit = dir.path().join("audit.jsonl");
    let output = revoker()
        .env("DOLFIN_API_KEY", "k")
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .arg("--audit")
        .arg(&audit)
        .arg("bulk")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let verify = || {
        revoker()
            .args(["audit", "verify"])
            .arg(&audit)
            .output()
            .unwrap()
    };
    let output = verify();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        stdout(&output).contains("5 entries, intact"),
        "{}",
        stdout(&output)
    );
    let entries = read_jsonl(&audit);
    assert_eq!(entries[0]["provider"], "dolfin");
    assert_eq!(entries[0]["outcome"], "revoked");
    assert!(entries[0]["operator"].as_str().unwrap().contains('@'));
    let original = std::fs::read_to_string(&audit).unwrap();
    let lines: Vec<&str> = original.lines().collect();

    let removed: Vec<&str> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 2)
        .map(|(_, l)| *l)
        .collect();
    std::fs::write(&audit, removed.join("\n") + "\n").unwrap();
    let output = verify();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("line 3: this entry does not follow line 2"),
        "{}",
        stderr(&output)
    );

    let edited = original.replacen("\"outcome\":\"revoked\"", "\"outcome\":\"not-found\"", 2);
    let edited = edited.replacen("\"outcome\":\"not-found\"", "\"outcome\":\"revoked\"", 1);
    std::fs::write(&audit, edited).unwrap();
    let output = verify();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("line 2: this entry was edited"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn audit_required_sends_nothing_without_a_log() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let output = revoker()
        .env("DOLFIN_API_KEY", "k")
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .arg("--audit")
        // In a directory that does not exist: cannot be opened. (A path that
        // is not a regular file is refused with exit 2: `tests/e2e/files.rs`.)
        .arg(dir.path().join("missing").join("audit.jsonl"))
        .args([
            "--audit-required",
            "dolfin",
            "revoke-api-key",
            "--id",
            &uuid(1),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(
        stderr(&output).contains("cannot open the audit log"),
        "{}",
        stderr(&output)
    );
    assert!(server.received().is_empty());
}

fn providers_with(dir: &Path, config: Option<&Path>) -> (Vec<String>, String) {
    let mut command = revoker();
    command.arg("--plugin-dir").arg(dir);
    if let Some(config) = config {
        command.arg("--config").arg(config);
    }
    let output = command.args(["providers", "--json"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let names = stdout_json(&output)
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["provider"].as_str().unwrap().to_owned())
        .collect();
    (names, stderr(&output))
}

#[test]
fn untrusted_plugin_files_are_refused_and_the_others_load() {
    use std::os::unix::fs::PermissionsExt as _;
    let plugin = |dir: &PluginDir| dir.path().join("librevoker_panicky.so");

    let dir = PluginDir::new().with(&fixture_file("panicky"), "panicky");
    let (names, _) = providers_with(dir.path(), None);
    assert!(
        names.contains(&"panicky".to_owned()),
        "a private plugin loads: {names:?}"
    );

    std::fs::set_permissions(plugin(&dir), std::fs::Permissions::from_mode(0o666)).unwrap();
    let (names, err) = providers_with(dir.path(), None);
    assert_eq!(names, support::BUNDLED_PROVIDERS);
    assert!(
        err.contains("librevoker_panicky.so: it is writable by group or others (mode 0666)"),
        "{err}"
    );

    let dir = PluginDir::new().with(&fixture_file("panicky"), "panicky");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let (names, err) = providers_with(dir.path(), None);
    assert_eq!(names, support::BUNDLED_PROVIDERS);
    assert!(
        err.contains("its directory") && err.contains("mode 0777"),
        "{err}"
    );

    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        let dir = PluginDir::new().with(&fixture_file("panicky"), "panicky");
        std::os::unix::fs::chown(plugin(&dir), Some(4242), None).unwrap();
        let (names, err) = providers_with(dir.path(), None);
        assert_eq!(names, support::BUNDLED_PROVIDERS);
        assert!(err.contains("owned by uid 4242"), "{err}");
    }
}

fn sha256_of(path: &Path) -> String {
    let output = revoker().args(["providers", "--hashes"]).output().unwrap();
    let file = path.to_str().unwrap();
    stdout(&output)
        .lines()
        .find(|line| line.ends_with(file))
        .unwrap_or_else(|| panic!("no hash for {file}"))
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn the_allowlist_pins_each_provider_to_its_file() {
    let pinata = sha256_of(&plugin_file("pinata"));
    let dolfin = sha256_of(&plugin_file("dolfin"));
    assert_eq!(pinata.len(), 64);
    let dir = support::private_dir();
    let empty = PluginDir::new();
    let config = dir.path().join("revoker.toml");

    std::fs::write(
        &config,
        format!(
            "[providers.pinata]\nsha256 = \"{pinata}\"\n[providers.dolfin]\nsha256 = \"{}\"\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let (names, err) = providers_with(empty.path(), Some(&config));
    assert_eq!(names, ["pinata"], "{err}");
    assert!(
        err.contains("librevoker_dolfin.so: its SHA-256")
            && err.contains("not in the config's allowlist"),
        "{err}"
    );
    assert!(
        err.contains("librevoker_langwatch.so"),
        "unpinned plugins are refused too: {err}"
    );

    std::fs::write(
        &config,
        format!("[providers.pinata]\nsha256 = \"{dolfin}\"\n"),
    )
    .unwrap();
    // Every plugin refused: an error of its own, not an empty list.
    let output = revoker()
        .arg("--plugin-dir")
        .arg(empty.path())
        .arg("--config")
        .arg(&config)
        .args(["providers", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let err = stderr(&output);
    assert!(
        err.contains("pinned for provider pinata, but it provides dolfin"),
        "{err}"
    );
    assert!(
        err.contains("no provider plugin loaded") && err.contains("plugin files refused"),
        "{err}"
    );
}

#[test]
fn hostile_servers_get_bounded_time_and_memory_and_a_clear_outcome() {
    let dir = support::private_dir();
    let config = dir.path().join("revoker.toml");
    std::fs::write(&config, "[http]\nrequest_timeout_secs = 2\n").unwrap();
    let mut junk_headers = String::new();
    for n in 0..300 {
        junk_headers.push_str(&format!("X-Junk-{n}: {}\r\n", "y".repeat(200)));
    }
    let invalid =
        b"HTTP/1.1 404 X\r\ncontent-length: 4\r\nx-request-id: \xff\xfe\r\n\r\n\xff\xfe\xfd\xfc"
            .to_vec();
    let cases: Vec<(&str, Action, &[&str])> = vec![
        (
            "endless body",
            Action::Endless {
                head: "HTTP/1.1 404 X\r\ncontent-type: application/problem+json\r\n\r\n".into(),
            },
            &["not-found"],
        ),
        (
            "a byte a second",
            Action::Trickle {
                head: "HTTP/1.1 404 X\r\ncontent-length: 100000\r\n\r\n".into(),
                every: Duration::from_secs(1),
            },
            &["transport-error"],
        ),
        ("invalid UTF-8", Action::Raw(invalid), &["not-found"]),
        (
            "absurd headers",
            Action::Raw(
                format!("HTTP/1.1 204 X\r\n{junk_headers}content-length: 0\r\n\r\n").into_bytes(),
            ),
            &["transport-error", "revoked"],
        ),
        (
            "a huge header",
            Action::Raw(
                format!(
                    "HTTP/1.1 204 X\r\nX-Huge: {}\r\n\r\n",
                    "z".repeat(2 * 1024 * 1024)
                )
                .into_bytes(),
            ),
            &["transport-error"],
        ),
        (
            "garbage",
            Action::Raw(b"\x00\x01 not http at all\r\n\r\n".to_vec()),
            &["transport-error"],
        ),
    ];
    for (name, action, outcomes) in cases {
        let server = FaultServer::start(move |_| action.clone());
        let mut child = std::process::Command::new(support::revoker_bin())
            .env_clear()
            .env("DOLFIN_API_KEY", "k")
            .env("REVOKER_DOLFIN_BASE_URL", server.uri())
            .arg("--config")
            .arg(&config)
            .args([
                "dolfin",
                "revoke-api-key",
                "--max-attempts",
                "1",
                "--output",
                "json",
                "--id",
                &uuid(1),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pipe = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || std::io::read_to_string(pipe).unwrap());
        let (code, max_rss_kib) = support::wait_with_max_rss(child);
        let out = reader.join().unwrap();
        let result: Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}"));
        assert!(
            max_rss_kib < 64 * 1024,
            "{name}: peak RSS {max_rss_kib} KiB"
        );
        assert!(code == Some(0) || code == Some(1), "{name}: exit {code:?}");
        let outcome = result["outcome"].as_str().unwrap();
        assert!(outcomes.contains(&outcome), "{name}: {result}");
        if outcome != "revoked" {
            assert!(
                !result["detail"].as_str().unwrap_or_default().is_empty(),
                "{name}: {result}"
            );
        }
    }
}

/// Runs `args` on a terminal (script(1)), types `typed` once `prompt` is on the
/// screen, and returns the exit code and the screen.
fn typed_on_a_terminal(
    server: &FaultServer,
    args: &str,
    prompt: &str,
    typed: &str,
) -> (Option<i32>, String) {
    use std::io::Write as _;
    let (mut child, mut screen) =
        support::revoker_on_a_terminal(args, "dumb", &[("REVOKER_DOLFIN_BASE_URL", &server.uri())]);
    // Typed before the prompt, it would be echoed by the terminal itself.
    screen.wait_for(prompt);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(typed.as_bytes()).unwrap();
    let code = child.wait().unwrap().code();
    drop(stdin);
    (code, screen.finish())
}

#[test]
fn a_credential_typed_on_a_terminal_is_not_echoed() {
    const TYPED: &str = "typed-credential-made-up-7f3a";
    let server = FaultServer::start(|_| Action::status(204));
    let (code, screen) = typed_on_a_terminal(
        &server,
        &format!(
            "--credential-stdin dolfin dolfin revoke-api-key --id {}",
            uuid(1)
        ),
        "credential for dolfin: ",
        &format!("{TYPED}\n"),
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        !screen.contains(TYPED),
        "the credential was echoed: {screen}"
    );
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(
        received[0]
            .headers
            .values()
            .any(|value| value.contains(TYPED)),
        "the typed credential was not sent: {:?}",
        received[0].headers
    );
}

#[test]
fn a_password_or_query_in_a_base_url_and_a_value_in_a_bad_config_never_reach_an_error() {
    const PASSWORD: &str = "PASSWORD-made-up-91c2";
    let dir = support::private_dir();
    for url in [
        format!("https://user:{PASSWORD}@example.com:99999"),
        format!("https://user:{PASSWORD}@example.com/v1"),
        format!("https://example.com/v1?token={PASSWORD}"),
        format!("ftp://user:{PASSWORD}@example.com"),
    ] {
        let output = revoker()
            .env("REVOKER_DOLFIN_BASE_URL", &url)
            .env("DOLFIN_API_KEY", support::DOLFIN_KEY)
            .args(["dolfin", "revoke-api-key", "--id", &uuid(1), "--dry-run"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3), "{url}: {}", text(&output));
        assert!(stderr(&output).contains("base URL"), "{}", text(&output));
        assert!(
            !text(&output).contains(PASSWORD),
            "{url}: {}",
            text(&output)
        );
    }
    // A credential pasted into the wrong place of the config file.
    let config = dir.path().join("revoker.toml");
    for body in [
        format!("[providers.dolfin]\nconcurrency = \"{PASSWORD}\"\n"),
        format!("[providers.dolfin]\nrate = \"{PASSWORD}\"\n"),
        format!("[providers.dolfin]\n{PASSWORD}\n"),
    ] {
        std::fs::write(&config, &body).unwrap();
        let output = revoker()
            .arg("--config")
            .arg(&config)
            .arg("providers")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(3), "{body}: {}", text(&output));
        assert!(stderr(&output).contains("line 2"), "{}", text(&output));
        assert!(
            !text(&output).contains(PASSWORD),
            "{body}: {}",
            text(&output)
        );
    }
}

#[test]
fn escape_sequences_from_a_provider_or_an_input_file_never_reach_the_terminal() {
    // Clear the screen, set the window title, forge a line; and a C1 CSI,
    // which a header value can carry as UTF-8.
    const HOSTILE: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7}\rFAKE: revoked ok\u{9b}31m";
    let body =
        serde_json::json!({ "title": HOSTILE, "detail": HOSTILE, "error": HOSTILE }).to_string();
    let server = FaultServer::start(move |_| {
        Action::json(400, &body).header("x-request-id", "req\u{9b}2Jid")
    });
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("keys.jsonl");
    let hostile_provider = format!("dolfin{HOSTILE}");
    std::fs::write(
        &input,
        [
            bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(1))]),
            bulk_line(&hostile_provider, "revoke-api-key", &[("id", &uuid(2))]),
            bulk_line("dolfin", &format!("revoke{HOSTILE}"), &[("id", &uuid(3))]),
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    let report = dir.path().join("report.jsonl");
    let run = |args: &[&str]| {
        revoker()
            .env("REVOKER_DOLFIN_BASE_URL", server.uri())
            .env("DOLFIN_API_KEY", "k")
            .args(args)
            .output()
            .unwrap()
    };
    let outputs = [
        run(&["dolfin", "revoke-api-key", "--id", &uuid(1)]),
        run(&["-v", "dolfin", "revoke-api-key", "--id", &uuid(1)]),
        run(&[
            "bulk",
            input.to_str().unwrap(),
            "--yes",
            "--report",
            report.to_str().unwrap(),
        ]),
        run(&["bulk", input.to_str().unwrap(), "--dry-run"]),
    ];
    for output in &outputs {
        let shown = text(output);
        assert!(
            !shown.contains('\u{1b}') && !shown.contains('\u{9b}') && !shown.contains('\u{7}'),
            "a control character reached the terminal: {shown:?}"
        );
        assert!(!shown.contains("\rFAKE"), "{shown:?}");
    }
    // Shown, made visible, not dropped: the responder still sees what was said.
    assert!(
        text(&outputs[0]).contains("FAKE: revoked ok"),
        "{}",
        text(&outputs[0])
    );
    assert!(
        text(&outputs[0]).contains(r"\x1b[2J"),
        "{}",
        text(&outputs[0])
    );
    // Files keep the exact text.
    let report = read_jsonl(&report);
    assert!(
        report
            .iter()
            .any(|r| r["detail"].as_str().is_some_and(|d| d.contains(HOSTILE))),
        "{report:?}"
    );
    assert!(server.received().len() >= 2);
}

#[test]
fn proxy_variables_of_the_environment_never_get_a_request() {
    use std::io::Read as _;
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    proxy.set_nonblocking(true).unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let server = FaultServer::start(|_| Action::status(204));
    let mut command = revoker();
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env(var, &proxy_url);
    }
    let output = command
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", support::DOLFIN_KEY)
        .args(["dolfin", "revoke-api-key", "--id", &uuid(1)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        server.received().len(),
        1,
        "the request went to the provider"
    );
    match proxy.accept() {
        Ok((mut stream, _)) => {
            let mut seen = Vec::new();
            let _ = stream.read_to_end(&mut seen);
            panic!(
                "the proxy got a connection: {}",
                String::from_utf8_lossy(&seen)
            );
        }
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
    }

    // A proxy named in the config is used; over plain http off loopback with an
    // http:// provider it is refused before anything is sent.
    let dir = support::private_dir();
    let config = dir.path().join("revoker.toml");
    std::fs::write(
        &config,
        "[http]\nproxy = \"http://proxy.example.com:3128\"\n",
    )
    .unwrap();
    let output = revoker()
        .arg("--config")
        .arg(&config)
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", support::DOLFIN_KEY)
        .args(["dolfin", "revoke-api-key", "--id", &uuid(2)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(
        stderr(&output).contains("would cross the network in the clear"),
        "{}",
        text(&output)
    );
    assert_eq!(server.received().len(), 1);
}
