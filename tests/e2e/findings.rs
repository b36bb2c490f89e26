//! `revoker findings`: scanners' reports (written here, with made-up keys)
//! turned into a revocation plan, the AWS owner lookup sent to a local IAM
//! stand-in, the plan run by `revoker bulk` against local servers; no secret
//! of the report in any output or file but the 0600 one that is meant to hold
//! them.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Output;

use sha2::{Digest as _, Sha256};
use support::fault_server::{Action, FaultServer, Received};
use support::{private_dir, read_jsonl, revoker, stderr, stdout};

/// The host's own made-up AWS credential (signs the lookup and the calls).
const HOST_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const HOST_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// The leaked AWS key: its id (public) and its secret half (the canary).
const LEAKED_ID: &str = "AKIAZZZZZZZZZZZZZZZZ";
const CANARY: &str = "CanaryCanaryCanaryCanaryCanaryCanary0042";
/// The leaked key's owner, as the IAM stand-in answers the lookup.
const OWNER: &str = "deploy-bot";

/// A made-up LangWatch key, GitHub token and unknown secret.
const LANGWATCH: &str = "sk-lw-made-up-virtual-key-0001";
const GITHUB: &str = "ghp_made-up-test-token-not-real";
const UNKNOWN: &str = "zz-unknown-made-up-secret-0001";
/// The Pinata key's public id and its secret half.
const PINATA_KEY: &str = "made-up-key-id";
const PINATA_SECRET: &str = "made-up-scoped-key-secret-0001";

const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A Pinata-shaped JWT whose payload is a scoped key (made up, unsigned).
fn pinata_jwt() -> String {
    let header = base64url(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = serde_json::json!({
        "userInformation": {"id": "made-up-user", "email": "nobody@example.com"},
        "authenticationType": "scopedKey",
        "scopedKeyKey": PINATA_KEY,
        "scopedKeySecret": PINATA_SECRET,
        "exp": 1_900_000_000,
    });
    let payload = base64url(payload.to_string().as_bytes());
    format!("{header}.{payload}.made-up-signature")
}

/// The fingerprint revoker names `secret` by.
fn fingerprint(secret: &str) -> String {
    let hash = Sha256::digest(secret.as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Every secret of the reports: none may show anywhere but the secrets file
/// (the GitHub token, which is revoked by its value).
fn secrets() -> Vec<String> {
    vec![
        CANARY.to_owned(),
        format!("{LEAKED_ID}:{CANARY}"),
        pinata_jwt(),
        PINATA_SECRET.to_owned(),
        LANGWATCH.to_owned(),
        GITHUB.to_owned(),
        UNKNOWN.to_owned(),
        HOST_SECRET.to_owned(),
    ]
}

/// One TruffleHog v3 result found in `file` at `line`.
fn trufflehog(detector: &str, raw: &str, raw_v2: Option<&str>, file: &str, line: u64) -> String {
    let mut record = serde_json::json!({
        "SourceMetadata": {"Data": {"Filesystem": {"file": file, "line": line}}},
        "SourceID": 1,
        "SourceType": 15,
        "SourceName": "trufflehog - filesystem",
        "DetectorType": 2,
        "DetectorName": detector,
        "DecoderName": "PLAIN",
        "Verified": false,
        "Raw": raw,
        "Redacted": "",
        "ExtraData": {"resource_type": "Access key", "account": "123456789012"},
        "StructuredData": null,
    });
    if let Some(raw_v2) = raw_v2 {
        record["RawV2"] = raw_v2.into();
    }
    record.to_string()
}

/// The TruffleHog report: the AWS key in three files, then one of each other.
fn trufflehog_report() -> String {
    let pair = format!("{LEAKED_ID}:{CANARY}");
    [
        trufflehog("AWS", LEAKED_ID, Some(&pair), "deploy/.env", 3),
        trufflehog("JWT", &pinata_jwt(), None, "web/config.js", 12),
        trufflehog("AWS", LEAKED_ID, Some(&pair), "ci/secrets.sh", 7),
        trufflehog("LangWatch", LANGWATCH, None, "llm/.env", 1),
        trufflehog("Github", GITHUB, None, "scripts/push.sh", 40),
        trufflehog("AWS", LEAKED_ID, Some(&pair), "old/backup.env", 9),
        trufflehog("Generic", UNKNOWN, None, "notes.txt", 2),
    ]
    .join("\n")
        + "\n"
}

fn xml(status: u16, body: String) -> Action {
    Action::Respond {
        status,
        headers: vec![("Content-Type".into(), "text/xml".into())],
        body,
        delay: std::time::Duration::ZERO,
        held: None,
    }
}

/// A stand-in for IAM: the owner lookup answers `OWNER`, deactivation and
/// deletion succeed.
fn iam_server() -> FaultServer {
    FaultServer::start(|request: &Received| {
        let body = String::from_utf8_lossy(&request.body);
        let action = body
            .split('&')
            .find_map(|field| field.strip_prefix("Action="))
            .unwrap_or("")
            .to_owned();
        let meta = "<ResponseMetadata><RequestId>req-EXAMPLE</RequestId></ResponseMetadata>";
        match action.as_str() {
            "GetAccessKeyLastUsed" => xml(
                200,
                format!(
                    "<GetAccessKeyLastUsedResponse xmlns=\"{NS}\"><GetAccessKeyLastUsedResult>\
                     <AccessKeyLastUsed><Region>N/A</Region><ServiceName>N/A</ServiceName>\
                     </AccessKeyLastUsed><UserName>{OWNER}</UserName>\
                     </GetAccessKeyLastUsedResult>{meta}</GetAccessKeyLastUsedResponse>"
                ),
            ),
            "UpdateAccessKey" | "DeleteAccessKey" => xml(
                200,
                format!("<{action}Response xmlns=\"{NS}\">{meta}</{action}Response>"),
            ),
            _ => xml(400, "<ErrorResponse/>".to_owned()),
        }
    })
}

/// The bodies the IAM stand-in received, in order.
fn bodies(server: &FaultServer) -> Vec<String> {
    server
        .received()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

/// Every file under `dir`, recursively.
/// The leaked key's delete and deactivate, as IAM receives them (sorted).
fn iam_revocations() -> [String; 2] {
    [
        format!(
            "Action=DeleteAccessKey&Version=2010-05-08&AccessKeyId={LEAKED_ID}&UserName={OWNER}"
        ),
        format!(
            "Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId={LEAKED_ID}\
             &Status=Inactive&UserName={OWNER}"
        ),
    ]
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// No secret of the reports in `output`'s stdout and stderr, nor in any file
/// under `dir` but `except`, and none in the report's place (the report
/// itself holds them).
fn assert_no_secret(output: &Output, dir: &Path, except: &[&Path]) {
    for secret in secrets() {
        for (name, text) in [("stdout", stdout(output)), ("stderr", stderr(output))] {
            assert!(!text.contains(&secret), "a secret in {name}:\n{text}");
        }
        for file in files_under(dir) {
            if except.contains(&file.as_path()) {
                continue;
            }
            let bytes = std::fs::read(&file).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&secret),
                "a secret in {}",
                file.display()
            );
        }
    }
}

/// A bulk line as the plan writes it: provider, operation, then the
/// parameters in the order the plugin gave them (values here need no escape).
fn plan_line(provider: &str, operation: &str, params: &[(&str, &str)]) -> String {
    let params: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("\"{name}\":\"{value}\""))
        .collect();
    format!(
        "{{\"provider\":\"{provider}\",\"operation\":\"{operation}\",\"params\":{{{}}}}}",
        params.join(",")
    )
}

#[test]
fn a_trufflehog_report_becomes_a_plan_that_bulk_revokes() {
    let (iam, pinata, github) = stand_ins();
    let report_dir = private_dir();
    let report = report_dir.path().join("trufflehog.jsonl");
    std::fs::write(&report, trufflehog_report()).unwrap();
    // What the runs write goes here: nothing of it may hold a secret.
    let dir = private_dir();
    let secrets_file = dir.path().join("secrets.jsonl");
    let env = env_for(&iam, &pinata, &github);
    let output = revoker()
        .current_dir(dir.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["findings", "--delete", "--include-secrets"])
        .arg(&secrets_file)
        .arg(&report)
        .output()
        .unwrap();
    let err = stderr(&output);
    // LangWatch needs an id and one secret is no provider's: not success.
    assert_eq!(output.status.code(), Some(1), "{err}");

    // One secret, one revocation: deactivate, then delete, with the owner the
    // lookup found; then Pinata's key by its public id. No secret.
    let user = [("access-key-id", LEAKED_ID), ("user-name", OWNER)];
    assert_eq!(
        stdout(&output),
        [
            plan_line("aws-iam", "deactivate-access-key", &user),
            plan_line("aws-iam", "delete-access-key", &user),
            plan_line("pinata", "revoke-api-key", &[("api-key", PINATA_KEY)]),
        ]
        .join("\n")
            + "\n",
        "{err}"
    );
    // The lookup, once, signed with the host's credential; nothing revoked.
    assert_eq!(
        bodies(&iam),
        [format!(
            "Action=GetAccessKeyLastUsed&Version=2010-05-08&AccessKeyId={LEAKED_ID}"
        )]
    );
    assert!(iam.received()[0].headers["authorization"].contains(HOST_KEY_ID));
    assert!(pinata.received().is_empty() && github.received().is_empty());

    // The table: counts by provider, then each finding.
    for row in [
        "  aws-iam               1            0            0            0",
        "  github                1            0            0            0",
        "  langwatch             0            1            0            0",
        "  pinata                1            0            0            0",
        "  (no plugin)           0            0            0            1",
        "  total                 3            1            0            1",
    ] {
        assert!(err.contains(&format!("{row}\n")), "no row {row:?}:\n{err}");
    }
    assert!(
        err.contains("5 distinct secrets in 7 locations, 0 problems"),
        "{err}"
    );
    assert!(err.contains("revoker: 3 plan lines on stdout"), "{err}");
    let aws = format!(
        "  {}  aws-iam  resolved (deactivate-access-key, delete-access-key): ",
        fingerprint(&format!("{LEAKED_ID}:{CANARY}"))
    );
    let at = err.find(&aws).unwrap_or_else(|| panic!("{aws:?}:\n{err}"));
    let rest = &err[at..];
    assert!(
        rest.contains(&format!("the lookup found its user-name: {OWNER}")),
        "{rest}"
    );
    assert!(
        rest.contains(
            "      found in 3 locations:\n        deploy/.env:3 (report line 1)\n        \
             ci/secrets.sh:7 (report line 3)\n        old/backup.env:9 (report line 6)\n"
        ),
        "{rest}"
    );
    assert!(
        err.contains(&format!(
            "  {}  langwatch  needs-id: a LangWatch key (sk-lw-…): revoke-virtual-key takes the \
             virtual key's id",
            fingerprint(LANGWATCH)
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  {}  -  unrecognised: no loaded plugin recognises it (the scanner calls it \
             Generic) [scanner type: Generic]\n      found in 1 location:\n        \
             notes.txt:2 (report line 7)\n",
            fingerprint(UNKNOWN)
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  {}  github  resolved (revoke-credential): GitHub token",
            fingerprint(GITHUB)
        )),
        "{err}"
    );
    assert!(
        err.contains("revoker: 1 plan lines that hold secrets")
            && err.contains("that file holds secrets"),
        "{err}"
    );

    // The token's line is in the private file only.
    let mode = std::fs::metadata(&secrets_file)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        std::fs::read_to_string(&secrets_file).unwrap(),
        plan_line("github", "revoke-credential", &[("credential", GITHUB)]) + "\n"
    );
    assert_no_secret(&output, dir.path(), &[&secrets_file]);

    // The plan, run: the servers receive the ids.
    let plan = dir.path().join("plan.jsonl");
    std::fs::write(&plan, &output.stdout).unwrap();
    let bulk_report = dir.path().join("report.jsonl");
    let run = revoker()
        .current_dir(dir.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["bulk", "--yes", "--report"])
        .arg(&bulk_report)
        .arg(&plan)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let outcomes: Vec<String> = read_jsonl(&bulk_report)
        .iter()
        .map(|line| line["outcome"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(outcomes, ["revoked", "revoked", "revoked"]);
    let mut sent = bodies(&iam)[1..].to_vec();
    sent.sort();
    assert_eq!(sent, iam_revocations());
    let pinata_got = pinata.received();
    assert_eq!(pinata_got.len(), 1);
    assert_eq!(
        (pinata_got[0].method.as_str(), pinata_got[0].path.as_str()),
        ("PUT", "/users/revokeApiKey")
    );
    let body: serde_json::Value = serde_json::from_slice(&pinata_got[0].body).unwrap();
    assert_eq!(body, serde_json::json!({"apiKey": PINATA_KEY}));
    assert_no_secret(&run, dir.path(), &[&secrets_file]);

    // And the secrets file, run: GitHub receives the token.
    let run = revoker()
        .current_dir(dir.path())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["bulk", "--yes"])
        .arg(&secrets_file)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let github_got = github.received();
    assert_eq!(github_got.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&github_got[0].body).unwrap();
    assert_eq!(body["credentials"], serde_json::json!([GITHUB]));
    assert_no_secret(&run, dir.path(), &[&secrets_file]);
}

#[test]
fn without_the_aws_credential_a_key_needs_its_owner_and_a_token_is_named_only() {
    let iam = iam_server();
    // gitleaks: the key id alone, and a GitHub token.
    let report = serde_json::json!([
        {"RuleID": "aws-access-token", "Description": "AWS", "Secret": LEAKED_ID,
         "File": "a.env", "StartLine": 1, "Commit": "", "Fingerprint": "a.env:aws-access-token:1"},
        {"RuleID": "github-pat", "Secret": GITHUB, "File": "b.sh", "StartLine": 2,
         "Commit": "", "Fingerprint": "b.sh:github-pat:2"},
    ]);
    let dir = private_dir();
    let path = dir.path().join("gitleaks.json");
    std::fs::write(&path, report.to_string()).unwrap();
    let output = revoker()
        .current_dir(dir.path())
        .env("REVOKER_AWS_IAM_BASE_URL", iam.uri())
        .args(["findings"])
        .arg(&path)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_eq!(stdout(&output), "", "nothing is resolved all the way");
    assert!(
        iam.received().is_empty(),
        "no lookup without the credential"
    );
    assert!(
        err.contains(&format!(
            "  {}  aws-iam  needs-user-name: its calls need the owner's user-name",
            fingerprint(LEAKED_ID)
        )),
        "{err}"
    );
    for text in [
        "the lookup was not sent: no credential for provider aws-iam",
        "AWS_SECRET_ACCESS_KEY",
        &format!(
            "give the owner's user-name yourself: revoker aws-iam deactivate-access-key \
             --access-key-id {LEAKED_ID} --user-name NAME"
        ),
        "  aws-iam               0            1            0            0",
        "        a.env:1 [a.env:aws-access-token:1] (report element 1 (line 1, byte 1))",
    ] {
        assert!(err.contains(text), "no {text:?}:\n{err}");
    }
    // The token: resolved, left out of the plan, named by its fingerprint.
    assert!(
        err.contains(&format!(
            "are not on stdout:\n  {}  github\nrevoker: use --include-secrets FILE",
            fingerprint(GITHUB)
        )),
        "{err}"
    );
    assert_no_secret(&output, dir.path(), &[&path]);
}

#[test]
fn a_failed_lookup_is_reported_with_its_outcome() {
    let iam = FaultServer::start(|_| {
        xml(
            403,
            format!(
                "<ErrorResponse xmlns=\"{NS}\"><Error><Type>Sender</Type>\
                 <Code>AccessDenied</Code><Message>not allowed</Message></Error>\
                 <RequestId>r-EXAMPLE</RequestId></ErrorResponse>"
            ),
        )
    });
    let dir = private_dir();
    let output = revoker()
        .current_dir(dir.path())
        .env("REVOKER_AWS_IAM_BASE_URL", iam.uri())
        .env("AWS_ACCESS_KEY_ID", HOST_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", HOST_SECRET)
        .arg("--audit")
        .arg(dir.path().join("audit.log"))
        .args(["findings", "-"])
        .write_stdin(format!("{LEAKED_ID}\n{CANARY}\n"))
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_eq!(stdout(&output), "");
    assert_eq!(iam.received().len(), 1, "a refusal is not retried");
    // The lookup is in the audit log, as any request; no secret is.
    let audit = std::fs::read_to_string(dir.path().join("audit.log")).unwrap();
    assert!(audit.contains("lookup-access-key-user"), "{audit}");
    assert_no_secret(&output, dir.path(), &[]);
    assert!(
        err.contains("needs-user-name") && err.contains("the lookup gave forbidden, HTTP 403"),
        "{err}"
    );
    assert!(
        err.contains("resolve it again once the lookup can succeed")
            && err.contains("--user-name NAME"),
        "{err}"
    );
}

#[test]
fn a_report_on_stdin_that_resolves_whole_exits_0() {
    // A GitHub alert list holding a Pinata key.
    let alerts = serde_json::json!([{
        "number": 7, "state": "open", "secret_type": "pinata_jwt",
        "secret_type_display_name": "Pinata JWT", "secret": pinata_jwt(),
        "html_url": "https://github.com/o/r/security/secret-scanning/7",
        "repository": {"full_name": "o/r"},
    }]);
    let dir = private_dir();
    let output = revoker()
        .current_dir(dir.path())
        .args(["findings", "-", "--from", "github"])
        .write_stdin(alerts.to_string())
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert_eq!(
        stdout(&output),
        plan_line("pinata", "revoke-api-key", &[("api-key", PINATA_KEY)]) + "\n"
    );
    assert!(err.contains("report stdin (github)"), "{err}");
    // Isolated plugins resolve the same.
    let isolated = revoker()
        .current_dir(dir.path())
        .args(["--isolate", "findings", "-", "--from", "github"])
        .write_stdin(alerts.to_string())
        .output()
        .unwrap();
    assert_eq!(isolated.status.code(), Some(0), "{}", stderr(&isolated));
    assert_eq!(isolated.stdout, output.stdout);
    assert_no_secret(&isolated, dir.path(), &[]);
    assert!(
        err.contains("<https://github.com/o/r/security/secret-scanning/7> [7]"),
        "{err}"
    );
    assert_no_secret(&output, dir.path(), &[]);
}

#[test]
fn a_bad_record_is_reported_with_its_position_and_the_rest_goes_on() {
    let dir = private_dir();
    let path = dir.path().join("report.jsonl");
    let broken = format!("{{\"DetectorName\": \"Github\", \"Raw\": \"{GITHUB}\"");
    let lines = [
        trufflehog("LangWatch", LANGWATCH, None, "x\u{1b}[2J.env", 1),
        broken,
        "{\"level\":\"info-0\",\"msg\":\"running source\"}".to_owned(),
        trufflehog("Generic", UNKNOWN, None, "y.env", 4),
    ];
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let output = revoker()
        .current_dir(dir.path())
        .args(["findings"])
        .arg(&path)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("revoker: problem in the report at line 2: not valid JSON"),
        "{err}"
    );
    assert!(
        err.contains("revoker: problem in the report at line 3: a log line, not a finding"),
        "{err}"
    );
    assert!(
        err.contains("2 distinct secrets in 2 locations, 2 problems"),
        "{err}"
    );
    assert!(err.contains("y.env:4 (report line 4)"), "{err}");
    // Text from the report is data: no control character reaches the terminal.
    assert!(!err.contains('\u{1b}'), "{err}");
    assert!(err.contains("[2J.env:1 (report line 1)"), "{err}");
    assert_no_secret(&output, dir.path(), &[&path]);

    // A format forced on a report of another: each record a problem, named
    // by its position; no finding at all is bad input.
    let output = revoker()
        .current_dir(dir.path())
        .args(["findings", "--from", "gitleaks"])
        .arg(&path)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("revoker: problem in the report at line 1: `RuleID` is missing"),
        "{err}"
    );
    assert!(
        err.contains("revoker: error: no finding could be read from the report")
            && err.contains("is --from right?"),
        "{err}"
    );
    assert_eq!(stdout(&output), "");
    assert_no_secret(&output, dir.path(), &[&path]);

    // The secrets file may not be the report itself, which stays as it was.
    let before = std::fs::read(&path).unwrap();
    let output = revoker()
        .args(["findings", "--include-secrets"])
        .arg(&path)
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("names the report itself"));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // An unknown format name, and a report that cannot be read.
    let output = revoker()
        .args(["findings", "--from", "nessus"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let output = revoker().arg("findings").arg(dir.path()).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("revoker: error: cannot read the report"),
        "{err}"
    );
    let missing = dir.path().join("missing.json");
    let output = revoker().arg("findings").arg(&missing).output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(
        err.contains("revoker: error: cannot read the report") && err.contains("missing.json"),
        "{err}"
    );
}

#[test]
fn a_misbehaving_resolver_costs_its_findings_only() {
    // Beside the bundled plugins, one whose resolver claims GitHub's tokens
    // too, gives a secret back as a parameter, and panics with the secret in
    // its message.
    let plugins = support::PluginDir::new().with(&support::fixture_file("panicky"), "panicky");
    let leak = "leak-made-up-secret-0001";
    let panic = "panic-made-up-secret-0001";
    let dir = private_dir();
    for isolate in [false, true] {
        let mut command = revoker();
        command
            .current_dir(dir.path())
            .arg("--plugin-dir")
            .arg(plugins.path());
        if isolate {
            command.arg("--isolate");
        }
        let output = command
            .args(["findings", "-", "--include-secrets"])
            .arg(dir.path().join("secrets.jsonl"))
            .write_stdin(format!("{GITHUB}\n{leak}\n{panic}\n{}\n", pinata_jwt()))
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        // The others resolve as ever.
        assert_eq!(
            stdout(&output),
            plan_line("pinata", "revoke-api-key", &[("api-key", PINATA_KEY)]) + "\n",
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "  {}  github  resolved (revoke-credential): GitHub token: personal access token \
                 (classic) (ghp_…), revoked by its value (also claimed by panicky; the first \
                 claim is used)",
                fingerprint(GITHUB)
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "  {}  panicky  unresolvable: the panicky plugin's resolution repeats the secret \
                 (a bug in the plugin): refused",
                fingerprint(leak)
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "  {}  panicky  unresolvable: the panicky plugin failed to resolve it: ",
                fingerprint(panic)
            )),
            "{err}"
        );
        assert!(
            err.contains("  panicky               0            0            2            0"),
            "{err}"
        );
        for secret in [leak, panic] {
            assert!(!err.contains(secret), "{secret} in stderr:\n{err}");
        }
        assert_no_secret(&output, dir.path(), &[&dir.path().join("secrets.jsonl")]);
    }
}

/// The environment of a run against the stand-ins, with every credential.
/// IAM (the lookup answering [`OWNER`]), Pinata and GitHub, each answering
/// its documented success.
fn stand_ins() -> (FaultServer, FaultServer, FaultServer) {
    (
        iam_server(),
        FaultServer::start(|_| Action::json(200, "\"Revoked\"")),
        FaultServer::start(|_| Action::status(202)),
    )
}

fn env_for(
    iam: &FaultServer,
    pinata: &FaultServer,
    github: &FaultServer,
) -> Vec<(&'static str, String)> {
    vec![
        ("REVOKER_AWS_IAM_BASE_URL", iam.uri()),
        ("REVOKER_PINATA_BASE_URL", pinata.uri()),
        ("REVOKER_GITHUB_BASE_URL", github.uri()),
        ("AWS_ACCESS_KEY_ID", HOST_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", HOST_SECRET.to_owned()),
        ("PINATA_JWT", support::PINATA_JWT.to_owned()),
    ]
}

/// `revoker bulk --yes --findings REPORT …` in `dir`, with `env`.
fn bulk_findings(dir: &Path, env: &[(&str, String)], report: &Path, args: &[&str]) -> Output {
    revoker()
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .args(["--audit", "audit.log", "bulk", "--yes", "--findings"])
        .arg(report)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn bulk_findings_revokes_what_resolves_and_a_resumed_run_redoes_nothing() {
    let (iam, pinata, github) = stand_ins();
    let report_dir = private_dir();
    let report = report_dir.path().join("trufflehog.jsonl");
    std::fs::write(&report, trufflehog_report()).unwrap();
    // Everything the run writes goes here: no secret may be in any of it.
    let dir = private_dir();
    let env = env_for(&iam, &pinata, &github);
    let args = [
        "--delete",
        "--journal",
        "journal.jsonl",
        "--report",
        "report.jsonl",
    ];
    // With debug logs: no secret in them either.
    let verbose: Vec<&str> = args.iter().copied().chain(["-vvv"]).collect();
    let output = bulk_findings(dir.path(), &env, &report, &verbose);
    let err = stderr(&output);
    // LangWatch needs an id and one secret is no provider's: not success,
    // "some lines not done".
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("DEBUG"), "{err}");

    // The lookup once, then the key deactivated and deleted, with the owner
    // it found, each once although it was found in three places.
    let sent = bodies(&iam);
    assert_eq!(
        sent[0],
        format!("Action=GetAccessKeyLastUsed&Version=2010-05-08&AccessKeyId={LEAKED_ID}")
    );
    let mut revoked = sent[1..].to_vec();
    revoked.sort();
    assert_eq!(revoked, iam_revocations());
    // Pinata's key by its public id; GitHub's token by its value, read from
    // the report as it was sent.
    let pinata_got = pinata.received();
    assert_eq!(pinata_got.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&pinata_got[0].body).unwrap();
    assert_eq!(body, serde_json::json!({"apiKey": PINATA_KEY}));
    let github_got = github.received();
    assert_eq!(github_got.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&github_got[0].body).unwrap();
    assert_eq!(body["credentials"], serde_json::json!([GITHUB]));

    // The report: one result per call, the token as its fingerprint.
    let (mut lines, findings): (Vec<_>, Vec<_>) = read_jsonl(&dir.path().join("report.jsonl"))
        .into_iter()
        .partition(|line| line.get("line").is_some());
    lines.sort_by_key(|line| line["line"].as_u64());
    // Then one record per finding, with its fate, for `revoker summarize`.
    let fates: Vec<&str> = findings
        .iter()
        .map(|record| record["fate"].as_str().unwrap())
        .collect();
    assert_eq!(
        fates,
        ["revoked", "revoked", "needs-id", "accepted", "unrecognised"]
    );
    assert_eq!(findings[0]["lines"], serde_json::json!([1, 2]));
    assert_eq!(findings[0]["locations_total"], 3);
    let results: Vec<(String, String)> = lines
        .iter()
        .map(|line| {
            (
                line["operation"].as_str().unwrap().to_owned(),
                line["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        results,
        [
            ("deactivate-access-key".to_owned(), "revoked".to_owned()),
            ("delete-access-key".to_owned(), "revoked".to_owned()),
            ("revoke-api-key".to_owned(), "revoked".to_owned()),
            ("revoke-credential".to_owned(), "accepted".to_owned()),
        ],
        "{err}"
    );
    assert_eq!(
        lines[3]["params"]["credential"],
        format!("<redacted {}>", fingerprint(GITHUB)),
    );

    // Stderr: the resolution's table first, then each finding's fate with
    // its locations and what to do next.
    assert!(
        err.contains("  total                 3            1            0            1\n"),
        "{err}"
    );
    assert!(
        err.contains(
            "revoker: the findings of REPORT: accepted 1, needs-id 1, revoked 2, unrecognised 1\n"
                .replace("REPORT", &report.display().to_string())
                .as_str()
        ),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  {}  aws-iam  revoked\n      at deploy/.env:3 (report line 1); ci/secrets.sh:7 \
             (report line 3); old/backup.env:9 (report line 6)\n      next: none: revoked",
            fingerprint(&format!("{LEAKED_ID}:{CANARY}"))
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  {}  github  accepted\n      at scripts/push.sh:40 (report line 5)\n      next: \
             github accepted the revocation and carries it out later",
            fingerprint(GITHUB)
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  {}  langwatch  needs-id\n      at llm/.env:1 (report line 4)\n      next: a \
             LangWatch key (sk-lw-…): revoke-virtual-key takes the virtual key's id",
            fingerprint(LANGWATCH)
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  {}  -  unrecognised\n      at notes.txt:2 (report line 7)\n      next: no plugin \
             revokes it",
            fingerprint(UNKNOWN)
        )),
        "{err}"
    );
    // The canary, and every other secret of the report: in no output and no
    // file the run wrote (journal, report, audit log).
    assert_eq!(files_under(dir.path()).len(), 3);
    assert_no_secret(&output, dir.path(), &[]);

    // Again with the same journal, against servers that would refuse it
    // all: nothing is sent, the lookup included (the journal recorded the
    // owner), and the findings' fates are as they were.
    let refusing = FaultServer::start(|_| xml(403, "<ErrorResponse/>".to_owned()));
    let env = env_for(&refusing, &refusing, &refusing);
    let again = bulk_findings(dir.path(), &env, &report, &args);
    let err = stderr(&again);
    assert_eq!(again.status.code(), Some(1), "{err}");
    assert!(refusing.received().is_empty(), "{err}");
    assert!(
        err.contains(&format!(
            "an earlier run recorded its user-name: {OWNER} (the lookup is not sent again)"
        )),
        "{err}"
    );
    assert!(
        err.contains("accepted 1, needs-id 1, revoked 2, unrecognised 1\n"),
        "{err}"
    );
    assert!(err.contains("4 settled by an earlier run"), "{err}");
    // Still one result per line, and the findings' records once, anew.
    assert_eq!(read_jsonl(&dir.path().join("report.jsonl")).len(), 4 + 5);
    assert_no_secret(&again, dir.path(), &[]);
}

#[test]
fn bulk_findings_exits_0_only_when_every_finding_is_revoked() {
    let (iam, pinata, github) = stand_ins();
    let report_dir = private_dir();
    let report = report_dir.path().join("trufflehog.jsonl");
    let pair = format!("{LEAKED_ID}:{CANARY}");
    std::fs::write(
        &report,
        [
            trufflehog("AWS", LEAKED_ID, Some(&pair), "a.env", 1),
            trufflehog("JWT", &pinata_jwt(), None, "b.js", 2),
        ]
        .join("\n"),
    )
    .unwrap();
    let dir = private_dir();
    let env = env_for(&iam, &pinata, &github);
    let args = ["--journal", "journal.jsonl"];

    // The first time, IAM refuses the owner's lookup and Pinata the key: the
    // AWS key needs its owner, Pinata's is not revoked; exit 1.
    let refusing = FaultServer::start(|_| Action::json(403, "{\"error\":\"nope\"}"));
    let mut first_env = env.clone();
    first_env[0].1 = refusing.uri();
    first_env[1].1 = refusing.uri();
    let output = bulk_findings(dir.path(), &first_env, &report, &args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_eq!(refusing.received().len(), 2, "the lookup, and Pinata's key");
    assert!(err.contains(": failed 1, needs-user-name 1\n"), "{err}");
    assert!(
        err.contains(&format!(
            "  {}  pinata  failed (forbidden)\n      at b.js:2 (report line 2)\n      next: \
             give the credential the right to revoke",
            fingerprint(&pinata_jwt())
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  {}  aws-iam  needs-user-name\n      at a.env:1 (report line 1)\n      next: its \
             calls need the owner's user-name",
            fingerprint(&pair)
        )),
        "{err}"
    );
    assert_no_secret(&output, dir.path(), &[]);

    // The same journal, and the lookup succeeds: the AWS key's line (where
    // the failed lookup left it, blank) is sent; Pinata's again. Every finding
    // is revoked: exit 0.
    let output = bulk_findings(dir.path(), &env, &report, &args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert_eq!(
        bodies(&iam),
        [
            format!("Action=GetAccessKeyLastUsed&Version=2010-05-08&AccessKeyId={LEAKED_ID}"),
            format!(
                "Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId={LEAKED_ID}\
                 &Status=Inactive&UserName={OWNER}"
            ),
        ]
    );
    assert_eq!(pinata.received().len(), 1);
    assert!(err.contains(": revoked 2\n"), "{err}");
    assert_no_secret(&output, dir.path(), &[]);

    // Once more: all settled; nothing is sent, the lookup included; exit 0.
    let output = bulk_findings(dir.path(), &first_env, &report, &args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert_eq!(refusing.received().len(), 2, "{err}");
    assert!(err.contains(": revoked 2\n"), "{err}");

    // A journal binds to its report: another report is refused, nothing sent.
    let other = report_dir.path().join("other.jsonl");
    std::fs::write(&other, trufflehog("JWT", &pinata_jwt(), None, "c.js", 3)).unwrap();
    let output = bulk_findings(dir.path(), &env, &other, &args);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("was written for input"), "{err}");
    assert_eq!(pinata.received().len(), 1);
    assert_no_secret(&output, dir.path(), &[]);
}

#[test]
fn bulk_findings_dry_run_sends_nothing_and_shows_no_secret() {
    let (iam, pinata, github) = stand_ins();
    let dir = private_dir();
    let report = dir.path().join("secrets.txt");
    std::fs::write(
        &report,
        format!("{GITHUB}\n{}\n{LEAKED_ID}\n", pinata_jwt()),
    )
    .unwrap();
    let env = env_for(&iam, &pinata, &github);
    let output = bulk_findings(dir.path(), &env, &report, &["--dry-run"]);
    let err = stderr(&output);
    // A dry run reports; it judges nothing.
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(iam.received().is_empty() && pinata.received().is_empty());
    assert!(github.received().is_empty());
    let out = stdout(&output);
    // The token's line, planned, shows its fingerprint only.
    assert!(
        out.contains(&format!("<redacted {}>", fingerprint(GITHUB))),
        "{out}"
    );
    assert!(out.contains(PINATA_KEY), "{out}");
    assert!(
        err.contains("a dry run sends nothing, the lookup included"),
        "{err}"
    );
    assert!(err.contains("needs-user-name 1, not-sent 2\n"), "{err}");
    assert_no_secret(&output, dir.path(), &[&report]);
}

#[test]
fn bulk_findings_bad_input_is_refused_with_nothing_sent() {
    let iam = iam_server();
    let dir = private_dir();
    let env = [
        ("REVOKER_AWS_IAM_BASE_URL", iam.uri()),
        ("AWS_ACCESS_KEY_ID", HOST_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", HOST_SECRET.to_owned()),
    ];
    let report = dir.path().join("keys.txt");
    std::fs::write(&report, format!("{LEAKED_ID}\n")).unwrap();
    let run = |args: &[&str]| {
        revoker()
            .current_dir(dir.path())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .arg("bulk")
            .args(args)
            .output()
            .unwrap()
    };
    let report_arg = report.display().to_string();
    std::fs::write(dir.path().join("elsewhere"), "").unwrap();
    let empty_report = dir.path().join("empty.txt");
    std::fs::write(&empty_report, "").unwrap();
    let empty_arg = empty_report.display().to_string();
    std::os::unix::fs::symlink(
        dir.path().join("elsewhere"),
        dir.path().join("link.journal"),
    )
    .unwrap();
    for (args, says) in [
        (vec!["--findings", "missing.json"], "cannot read the report"),
        (
            vec!["--findings", &report_arg, "plan.jsonl"],
            "cannot be used with",
        ),
        (
            vec!["--findings", &report_arg, "--format", "csv"],
            "cannot be used with",
        ),
        (vec!["plan.jsonl", "--from", "plain"], "--findings"),
        (vec!["plan.jsonl", "--delete"], "--findings"),
        (
            vec!["--findings", &report_arg, "--from", "nessus"],
            "nessus",
        ),
        // The report it reads is not a file it writes.
        (
            vec!["--yes", "--findings", &report_arg, "--report", &report_arg],
            "--report names the findings report itself",
        ),
        (
            vec!["--yes", "--findings", &report_arg, "--journal", &report_arg],
            "--journal names the findings report itself",
        ),
        (
            vec![
                "--yes",
                "--findings",
                &report_arg,
                "--journal",
                "link.journal",
            ],
            "symbolic link",
        ),
        // (An audit log that is not one is refused when it opens: an empty
        // report is the one it would take.)
        (
            vec!["--audit", &empty_arg, "--yes", "--findings", &empty_arg],
            "--audit names the findings report itself",
        ),
    ] {
        let output = run(&args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: no {says:?}:\n{err}");
        assert_no_secret(&output, dir.path(), &[&report]);
    }
    assert_eq!(
        std::fs::read_to_string(&report).unwrap(),
        format!("{LEAKED_ID}\n")
    );
    // Each was refused before anything was sent, the owner's lookup included.
    assert!(iam.received().is_empty(), "{:?}", bodies(&iam));
    // A report with no finding at all.
    let empty = dir.path().join("log.jsonl");
    std::fs::write(
        &empty,
        "{\"level\":\"info-0\",\"msg\":\"running source\"}\n",
    )
    .unwrap();
    let output = run(&["--yes", "--findings", &empty.display().to_string()]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{err}");
    assert!(err.contains("no finding could be read"), "{err}");
}

#[test]
fn the_summary_of_a_findings_run_shows_each_finding_with_its_fate_escaped() {
    let pinata = FaultServer::start(|_| Action::json(200, "\"Revoked\""));
    let report_dir = private_dir();
    let report = report_dir.path().join("trufflehog.jsonl");
    // A file name that is markup and moves the cursor: data, everywhere.
    let hostile = "a|b<script>x</script>\u{1b}[2J*.env";
    std::fs::write(
        &report,
        [
            trufflehog("JWT", &pinata_jwt(), None, hostile, 3),
            trufflehog("Generic", UNKNOWN, None, "notes.txt", 2),
            trufflehog("LangWatch", LANGWATCH, None, "llm/.env", 1),
        ]
        .join("\n"),
    )
    .unwrap();
    let dir = private_dir();
    let output = revoker()
        .current_dir(dir.path())
        .env("REVOKER_PINATA_BASE_URL", pinata.uri())
        .env("PINATA_JWT", support::PINATA_JWT)
        .args([
            "--output",
            "json",
            "bulk",
            "--yes",
            "--report",
            "report.jsonl",
        ])
        .arg("--findings")
        .arg(&report)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert_eq!(pinata.received().len(), 1);
    assert!(!err.contains('\u{1b}'), "{err}");
    // `--output json`: the line's result, then a record per finding with
    // its fate, then the summary.
    let out = stdout(&output);
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 5, "{out}");
    assert_eq!(records[0]["outcome"], "revoked");
    let fates: Vec<(&str, &str)> = records[1..4]
        .iter()
        .map(|r| (r["finding"].as_str().unwrap(), r["fate"].as_str().unwrap()))
        .collect();
    let (jwt, unknown, langwatch) = (
        fingerprint(&pinata_jwt()),
        fingerprint(UNKNOWN),
        fingerprint(LANGWATCH),
    );
    assert_eq!(
        fates,
        [
            (jwt.as_str(), "revoked"),
            (unknown.as_str(), "unrecognised"),
            (langwatch.as_str(), "needs-id"),
        ]
    );
    assert_eq!(records[1]["lines"], serde_json::json!([1]));
    assert_eq!(records[1]["locations"][0]["file"], hostile);
    assert!(records[4]["summary"].is_object());
    // The report ends with the same records.
    let lines = read_jsonl(&dir.path().join("report.jsonl"));
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1..], records[1..4]);
    assert_no_secret(&output, dir.path(), &[]);

    // The ticket: the findings side by side with their fates, escaped.
    let markdown = revoker()
        .current_dir(dir.path())
        .args(["summarize", "report.jsonl"])
        .output()
        .unwrap();
    assert_eq!(markdown.status.code(), Some(0), "{}", stderr(&markdown));
    let md = stdout(&markdown);
    assert!(
        md.contains(
            "**2 of 3 findings of the scanner's report NOT revoked; all 1 lines of the report \
             succeeded.**"
        ),
        "{md}"
    );
    assert!(
        md.contains("| Finding | Provider | Fate | Found at | What to do next |"),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| {jwt} | pinata | revoked | a\\|b\\<script\\>x\\</script\\>\\\\x1b\\[2J\\*.env:3 \
             \\(report line 1\\) | none: revoked; replace it wherever it is still used |"
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| {unknown} |  | unrecognised | notes.txt:2 \\(report line 2\\) | no plugin revokes \
             it: revoke it at its provider by hand |"
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| {langwatch} | langwatch | needs-id | llm/.env:1"
        )),
        "{md}"
    );
    assert!(!md.contains('\u{1b}') && !md.contains("<script>"), "{md}");
    let html = revoker()
        .current_dir(dir.path())
        .args(["summarize", "--format", "html", "report.jsonl"])
        .output()
        .unwrap();
    assert_eq!(html.status.code(), Some(0), "{}", stderr(&html));
    let page = stdout(&html);
    assert!(
        page.contains("<td>a|b&lt;script&gt;x&lt;/script&gt;\\x1b[2J*.env:3 (report line 1)</td>"),
        "{page}"
    );
    assert!(
        page.contains("<span class=\"badge other\">needs-id</span>"),
        "{page}"
    );
    assert!(
        !page.contains('\u{1b}') && !page.contains("<script>"),
        "{page}"
    );
    for text in [&md, &page] {
        for secret in secrets() {
            assert!(!text.contains(&secret), "a secret in the summary:\n{text}");
        }
    }
}

#[test]
fn findings_output_json_gives_the_table_and_the_plan_as_one_object() {
    let iam = iam_server();
    let report_dir = private_dir();
    let report = report_dir.path().join("trufflehog.jsonl");
    std::fs::write(&report, trufflehog_report()).unwrap();
    let dir = private_dir();
    let output = revoker()
        .current_dir(dir.path())
        .env("REVOKER_AWS_IAM_BASE_URL", iam.uri())
        .env("AWS_ACCESS_KEY_ID", HOST_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", HOST_SECRET)
        .args(["--output", "json", "findings"])
        .arg(&report)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let out = stdout(&output);
    assert_eq!(out.lines().count(), 1, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = &json["findings"];
    assert_eq!(findings["format"], "trufflehog");
    assert_eq!(findings["distinct"], 5);
    assert_eq!(findings["locations"], 7);
    assert_eq!(
        findings["counts"]["aws-iam"],
        serde_json::json!({"resolved": 1, "needs_id": 0, "unresolvable": 0, "unrecognised": 0})
    );
    assert_eq!(findings["counts"]["(no plugin)"]["unrecognised"], 1);
    assert_eq!(findings["counts"]["langwatch"]["needs_id"], 1);
    let aws = &findings["entries"][0];
    assert_eq!(
        aws["finding"],
        fingerprint(&format!("{LEAKED_ID}:{CANARY}"))
    );
    assert_eq!(aws["status"], "resolved");
    assert_eq!(
        aws["operations"],
        serde_json::json!(["deactivate-access-key"])
    );
    assert_eq!(aws["locations_total"], 3);
    assert_eq!(aws["locations"][1]["file"], "ci/secrets.sh");
    assert_eq!(aws["locations"][1]["line"], 7);
    assert_eq!(aws["locations"][1]["at"], "line 3");
    let unknown = &findings["entries"][4];
    assert_eq!(unknown["status"], "unrecognised");
    assert_eq!(unknown["provider"], serde_json::Value::Null);
    assert_eq!(unknown["scanner_type"], "Generic");
    // The plan, as objects: the bulk lines stdout has without --output json.
    assert_eq!(
        findings["plan"],
        serde_json::json!([
            {"provider": "aws-iam", "operation": "deactivate-access-key",
             "params": {"access-key-id": LEAKED_ID, "user-name": OWNER}},
            {"provider": "pinata", "operation": "revoke-api-key",
             "params": {"api-key": PINATA_KEY}},
        ])
    );
    // The token's line holds the secret: left out, counted, named on stderr.
    assert_eq!(findings["withheld_lines"], 1);
    assert!(err.contains("use --include-secrets FILE"), "{err}");
    assert_no_secret(&output, dir.path(), &[]);
}
