//! Bad input: a clear error naming what is wrong, exit code 2 (3 for a missing
//! credential or bad configuration), and nothing sent.

use support::{DOLFIN_KEY, revoker, stderr};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "5eb8b151-77b3-4e46-8243-5b6282131a9e";

/// A server that must receive nothing.
async fn silent_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .named("nothing may be sent")
        .mount(&server)
        .await;
    server
}

fn run(server: &MockServer, with_credential: bool, args: &[&str]) -> (i32, String) {
    let mut command = revoker();
    command.env("REVOKER_DOLFIN_BASE_URL", server.uri());
    if with_credential {
        command.env("DOLFIN_API_KEY", DOLFIN_KEY);
    }
    let output = command.args(args).output().unwrap();
    (output.status.code().unwrap(), stderr(&output))
}

#[tokio::test]
async fn usage_errors_exit_2_naming_the_problem() {
    let server = silent_server().await;
    let cases: &[(&[&str], &[&str])] = &[
        (&["nosuch", "revoke", "--id", ID], &["nosuch"]),
        (&["dolfin", "delete-key", "--id", ID], &["delete-key"]),
        (&["dolfin", "revoke-api-key"], &["--id"]),
        (
            &["dolfin", "revoke-api-key", "--id", ""],
            &["\"id\"", "must not be empty"],
        ),
        (
            &["dolfin", "revoke-api-key", "--id", "not-a-uuid"],
            &["\"id\"", "UUID", "not-a-uuid"],
        ),
        (
            &["dolfin", "revoke-api-key", "--id", ID, "--key", "x"],
            &["--key"],
        ),
        (
            &[
                "dolfin",
                "revoke-api-key",
                "--id",
                ID,
                "--max-attempts",
                "0",
            ],
            &["--max-attempts"],
        ),
        (&["describe", "nosuch"], &["unknown provider \"nosuch\""]),
        (
            &["describe", "dolfin", "nosuch"],
            &["no operation \"nosuch\""],
        ),
        (&["--output", "yaml", "providers"], &["yaml"]),
    ];
    for (args, expected) in cases {
        let (code, stderr) = run(&server, true, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        for needle in *expected {
            assert!(
                stderr.contains(needle),
                "{args:?}: {stderr:?} should name {needle:?}"
            );
        }
    }
}

#[tokio::test]
async fn missing_credential_exits_3_naming_the_variable() {
    let server = silent_server().await;
    let (code, stderr) = run(&server, false, &["dolfin", "revoke-api-key", "--id", ID]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("DOLFIN_API_KEY"), "{stderr}");
    assert!(stderr.contains("dolfin"), "{stderr}");
}

#[tokio::test]
async fn bad_configuration_exits_3() {
    let output = revoker()
        .env("REVOKER_DOLFIN_BASE_URL", "ftp://example.invalid")
        .args(["dolfin", "revoke-api-key", "--id", ID])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("REVOKER_DOLFIN_BASE_URL"),
        "{}",
        stderr(&output)
    );

    let dir = support::private_dir();
    let config = dir.path().join("revoker.toml");
    std::fs::write(&config, "[providers.dolfin]\nrate = \"lots\"\n").unwrap();
    let output = revoker()
        .args(["--config", config.to_str().unwrap(), "providers"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    // The line and the problem, not the value (it may be a pasted secret).
    assert!(
        stderr(&output).contains("revoker.toml: line 2: invalid rate"),
        "{}",
        stderr(&output)
    );
    assert!(!stderr(&output).contains("lots"), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("revoker.toml"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn dry_run_needs_no_credential_and_sends_nothing() {
    let server = silent_server().await;
    let output = revoker()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .args(["dolfin", "revoke-api-key", "--id", ID, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let stdout = support::stdout(&output);
    assert!(
        stdout.contains(&format!("POST {}/api-keys/{ID}/revoke", server.uri())),
        "{stdout}"
    );
    assert!(stdout.contains("x-dolfin-api-key: <redacted>"), "{stdout}");
}

#[tokio::test]
async fn dry_run_redacts_a_set_credential() {
    let server = silent_server().await;
    let output = revoker()
        .env("REVOKER_PINATA_BASE_URL", server.uri())
        .env("PINATA_JWT", "canary-jwt-must-not-print")
        .args([
            "pinata",
            "revoke-api-key",
            "--api-key",
            "pk1",
            "--dry-run",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let result = support::stdout_json(&output);
    assert_eq!(result["request"]["method"], "PUT");
    assert_eq!(result["request"]["body"], "{\"apiKey\":\"pk1\"}");
    assert_eq!(
        result["request"]["headers"],
        serde_json::json!([
            ["authorization", "Bearer <redacted>"],
            ["content-type", "application/json"]
        ])
    );
    let all = format!("{}{}", support::stdout(&output), stderr(&output));
    assert!(!all.contains("canary-jwt-must-not-print"));
}

#[tokio::test]
async fn absurd_numbers_are_usage_errors_not_panics() {
    let server = silent_server().await;
    let dir = support::private_dir();
    let input = dir.path().join("keys.jsonl");
    std::fs::write(
        &input,
        support::bulk_line("dolfin", "revoke-api-key", &[("id", ID)]) + "\n",
    )
    .unwrap();
    let input = input.to_str().unwrap();
    let config = dir.path().join("revoker.toml");
    std::fs::write(
        &config,
        "[providers.dolfin]\nconcurrency = 18446744073709551615\n",
    )
    .unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["bulk", input, "--yes", "--rate", "dolfin=4294967295/s"],
            "at most 100000 requests a second",
        ),
        (
            &["bulk", input, "--yes", "--rate", "dolfin=99999999999/s"],
            "--rate",
        ),
        (
            &["bulk", input, "--yes", "--rate", "dolfin=0/s"],
            "at least 1 request",
        ),
        (
            &["bulk", input, "--yes", "--concurrency", "0"],
            "--concurrency",
        ),
        (
            &["bulk", input, "--yes", "--concurrency", "4294967296"],
            "--concurrency",
        ),
        (
            &["bulk", input, "--yes", "--max-attempts", "0"],
            "--max-attempts",
        ),
        (&["bulk", input, "--yes", "--max-attempts", "-1"], "'-1'"),
        (
            &[
                "dolfin",
                "revoke-api-key",
                "--id",
                ID,
                "--max-attempts",
                "1000",
            ],
            "--max-attempts",
        ),
    ];
    for (args, expected) in cases {
        let (code, stderr) = run(&server, true, args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let (code, stderr) = run(
        &server,
        true,
        &["--config", config.to_str().unwrap(), "bulk", input, "--yes"],
    );
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("concurrency must be at most 4096"),
        "{stderr}"
    );
}
