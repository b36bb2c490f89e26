//! AWS IAM: access keys deactivated and deleted through the IAM Query API,
//! each request signed with SigV4 by the host, checked here by an independent
//! verifier against what the server received.

use std::collections::HashMap;

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};
use support::fault_server::{Action, FaultServer, Received};
use support::{bulk_line, read_jsonl, revoker, stderr, stdout, stdout_json};

/// Made-up credentials in the AWS formats.
const KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEXAMPLE-session-token//made/up==";
/// The leaked key being revoked (an id, not a secret).
const LEAKED: &str = "AKIAZZZZZZZZZZZZZZZZ";

const UPDATE_OK: &str = "<UpdateAccessKeyResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
    <ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata>\
    </UpdateAccessKeyResponse>";
const NO_SUCH_ENTITY: &str = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
    <Error><Type>Sender</Type><Code>NoSuchEntity</Code>\
    <Message>The Access Key with id AKIAZZZZZZZZZZZZZZZZ cannot be found.</Message></Error>\
    <RequestId>e4f3-EXAMPLE</RequestId></ErrorResponse>";

fn xml(status: u16, body: &str) -> Action {
    Action::Respond {
        status,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body: body.into(),
        delay: std::time::Duration::ZERO,
        held: None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Checks the SigV4 signature of `request` as the server received it, with an
/// implementation of the algorithm written from AWS's description, not the
/// host's: the signature must cover exactly the method, path, headers and body
/// that arrived. Returns the `Authorization` header's parts.
fn verify_sigv4(request: &Received, secret: &str) -> HashMap<String, String> {
    let authorization = &request.headers["authorization"];
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .unwrap_or_else(|| panic!("not SigV4: {authorization}"));
    let fields: HashMap<String, String> = fields
        .split(", ")
        .map(|f| {
            let (k, v) = f.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let date_time = &request.headers["x-amz-date"];
    let scope = fields["Credential"].split_once('/').unwrap().1.to_owned();
    let signed_headers = &fields["SignedHeaders"];
    let canonical_headers: String = signed_headers
        .split(';')
        .map(|name| format!("{name}:{}\n", request.headers[name].trim()))
        .collect();
    let (path, query) = request.path.split_once('?').unwrap_or((&request.path, ""));
    let canonical = format!(
        "{}\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{}",
        request.method,
        hex(&Sha256::digest(&request.body))
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{date_time}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut parts = scope.split('/');
    let (date, region, service) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let key = hmac(format!("AWS4{secret}").as_bytes(), date);
    let key = hmac(&key, region);
    let key = hmac(&key, service);
    let key = hmac(&key, "aws4_request");
    assert_eq!(
        fields["Signature"],
        hex(&hmac(&key, &to_sign)),
        "the signature covers what arrived:\n{canonical}"
    );
    fields
}

fn env<'a>(server: &'a FaultServer, uri: &'a mut String) -> Vec<(&'static str, &'a str)> {
    *uri = server.uri();
    vec![
        ("REVOKER_AWS_IAM_BASE_URL", uri.as_str()),
        ("AWS_ACCESS_KEY_ID", KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
    ]
}

#[test]
fn a_key_is_deactivated_with_a_signed_form_request() {
    let server = FaultServer::start(|_| xml(200, UPDATE_OK));
    let mut uri = String::new();
    let output = revoker()
        .envs(env(&server, &mut uri))
        .args(["--output", "json", "aws-iam", "deactivate-access-key"])
        .args([
            "--access-key-id",
            LEAKED,
            "--user-name",
            "ci+deploy@example",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let result = stdout_json(&output);
    assert_eq!(result["outcome"], "revoked", "{result}");
    assert_eq!(
        result["request_id"], "7a62c49f-347e-4fc4-9331-6e8eEXAMPLE",
        "{result}"
    );

    let received = server.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/");
    assert_eq!(
        String::from_utf8_lossy(&request.body),
        format!(
            "Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId={LEAKED}&Status=Inactive\
             &UserName=ci%2Bdeploy%40example"
        )
    );
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded; charset=utf-8"
    );
    let fields = verify_sigv4(request, SECRET);
    let credential = &fields["Credential"];
    assert!(
        credential.starts_with(&format!("{KEY_ID}/"))
            && credential.ends_with("/us-east-1/iam/aws4_request"),
        "{credential}"
    );
    assert!(
        fields["SignedHeaders"].contains("content-type")
            && fields["SignedHeaders"].contains("host"),
        "{}",
        fields["SignedHeaders"]
    );
    assert!(!request.headers.contains_key("x-amz-security-token"));
    // The secret itself never travels, and never shows.
    for (name, value) in &request.headers {
        assert!(!value.contains(SECRET), "the secret key in header {name}");
    }
    for text in [stdout(&output), stderr(&output)] {
        assert!(!text.contains(SECRET) && !text.contains(KEY_ID), "{text}");
    }
}

#[test]
fn a_session_token_is_sent_signed_and_a_missing_key_is_not_found() {
    let server = FaultServer::start(|_| xml(404, NO_SUCH_ENTITY));
    let mut uri = String::new();
    let output = revoker()
        .envs(env(&server, &mut uri))
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .args(["--output", "json", "aws-iam", "delete-access-key"])
        .args(["--access-key-id", LEAKED])
        .output()
        .unwrap();
    let result = stdout_json(&output);
    assert_eq!(result["outcome"], "not-found", "{result}");
    assert_ne!(output.status.code(), Some(0));
    let received = server.received();
    assert_eq!(received.len(), 1, "not-found is not retried");
    let request = &received[0];
    assert_eq!(
        String::from_utf8_lossy(&request.body),
        format!("Action=DeleteAccessKey&Version=2010-05-08&AccessKeyId={LEAKED}")
    );
    assert_eq!(request.headers["x-amz-security-token"], SESSION_TOKEN);
    let fields = verify_sigv4(request, SECRET);
    assert!(
        fields["SignedHeaders"].contains("x-amz-security-token"),
        "the token is signed: {}",
        fields["SignedHeaders"]
    );
    for text in [stdout(&output), stderr(&output)] {
        assert!(
            !text.contains(SESSION_TOKEN) && !text.contains(SECRET),
            "{text}"
        );
    }
}

#[test]
fn a_dry_run_shows_the_signature_redacted_and_needs_no_credential() {
    let output = revoker()
        .env("REVOKER_AWS_IAM_BASE_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .args(["--output", "json", "aws-iam", "deactivate-access-key"])
        .args(["--access-key-id", LEAKED, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("signed with SigV4 (signature redacted)"),
        "{text}"
    );
    assert!(!text.contains(SECRET) && !text.contains(KEY_ID), "{text}");
}

#[test]
fn a_missing_secret_key_is_named_and_nothing_is_sent() {
    let server = FaultServer::start(|_| xml(200, UPDATE_OK));
    let output = revoker()
        .env("REVOKER_AWS_IAM_BASE_URL", server.uri())
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .args([
            "aws-iam",
            "deactivate-access-key",
            "--access-key-id",
            LEAKED,
        ])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{err}");
    assert!(
        err.contains("secret-access-key") && err.contains("AWS_SECRET_ACCESS_KEY"),
        "{err}"
    );
    assert!(!err.contains(KEY_ID), "{err}");
    assert!(server.received().is_empty());
}

#[test]
fn aws_keys_revoke_in_bulk_and_a_bad_id_is_refused_unsent() {
    let server = FaultServer::start(|_| xml(200, UPDATE_OK));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("keys.jsonl");
    let report = dir.path().join("report.jsonl");
    let lines = [
        bulk_line(
            "aws-iam",
            "deactivate-access-key",
            &[("access-key-id", "AKIAAAAAAAAAAAAAAAAA")],
        ),
        bulk_line(
            "aws-iam",
            "deactivate-access-key",
            &[("access-key-id", "akiaaaaaaaaaaaaaaaab")],
        ),
        bulk_line(
            "aws-iam",
            "deactivate-access-key",
            &[("access-key-id", "ASIABBBBBBBBBBBBBBBB")],
        ),
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let mut uri = String::new();
    let output = revoker()
        .envs(env(&server, &mut uri))
        .args(["bulk", "--yes", "--report"])
        .arg(&report)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let mut report = read_jsonl(&report);
    report.sort_by_key(|l| l["line"].as_u64());
    let outcomes: Vec<&str> = report
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["revoked", "invalid-request", "revoked"],
        "{report:?}"
    );
    let received = server.received();
    assert_eq!(received.len(), 2, "the bad id was not sent");
    for request in &received {
        verify_sigv4(request, SECRET);
    }
}

#[test]
fn one_part_comes_from_stdin_and_no_part_stays_in_the_environment() {
    use std::io::Write as _;
    use support::fault_server::Latch;
    let latch = Latch::new();
    let server = FaultServer::start({
        let latch = latch.clone();
        move |_| xml(200, UPDATE_OK).held_until(&latch)
    });
    let mut child = std::process::Command::new(support::revoker_bin())
        .env_clear()
        .env("REVOKER_AWS_IAM_BASE_URL", server.uri())
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
        .args(["--credential-stdin", "aws-iam.secret-access-key"])
        .args([
            "aws-iam",
            "deactivate-access-key",
            "--access-key-id",
            LEAKED,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{SECRET}").unwrap();
    drop(stdin);
    support::wait_until("the request", || !server.received().is_empty());
    // While the request is held, the process's environment as the kernel
    // shows it holds none of the credential's parts.
    let environ = std::fs::read(format!("/proc/{}/environ", child.id())).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    for part in [KEY_ID, SESSION_TOKEN, SECRET] {
        assert!(!environ.contains(part), "{part} left in the environment");
    }
    latch.open();
    let output = support::wait_with_output_within(child, "a held revocation");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let fields = verify_sigv4(&server.received()[0], SECRET);
    assert!(fields["Credential"].starts_with(KEY_ID));
}

#[test]
fn a_throttling_error_in_the_body_is_a_throttle_resent_without_using_an_attempt() {
    const THROTTLING: &str = "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
        <Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>\
        <RequestId>t-EXAMPLE</RequestId></ErrorResponse>";
    // Five throttled answers, more than --max-attempts 2 would allow as
    // failed attempts, then success.
    let server = FaultServer::start(|request| {
        if request.attempt < 5 {
            xml(400, THROTTLING)
        } else {
            xml(200, UPDATE_OK)
        }
    });
    let mut uri = String::new();
    let output = revoker()
        .envs(env(&server, &mut uri))
        .args(["--output", "json", "aws-iam", "deactivate-access-key"])
        .args(["--access-key-id", LEAKED, "--max-attempts", "2"])
        .output()
        .unwrap();
    let result = stdout_json(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{result} {}",
        stderr(&output)
    );
    assert_eq!(result["outcome"], "revoked", "{result}");
    assert_eq!(result["throttled"], 5, "{result}");
    assert_eq!(server.received().len(), 6);
}
