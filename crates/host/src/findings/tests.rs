//! The readers on realistic reports, generated here with fake keys.

use std::io::{self, BufReader, Read};

use base64::Engine as _;
use secrecy::ExposeSecret;
use serde_json::json;

use super::*;

// ---- fake keys ----------------------------------------------------------

const AWS_ID: &str = "AKIAQWERTYUIOP234567";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYFAKEKEY123";
const AWS_ACCOUNT: &str = "123456789012";
const LANGWATCH: &str = "sk-lw-Q2hhbmdlTWVQbGVhc2UxMjM0NTY3ODkwYWJjZGVm";
const GHP: &str = "ghp_FAKEa1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6";
const UNKNOWN: &str = "x9Kq2#unknown-vendor-token-0d6f1c";

/// A Pinata-shaped JWT: a scoped key's payload, a fake signature.
fn pinata_jwt() -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = json!({
        "userInformation": {"id": "5eb8b151-77b3-4e46-8243-5b6282131a9e", "email": "ops@example.com", "email_verified": true, "status": "ACTIVE"},
        "authenticationType": "scopedKey",
        "scopedKeyKey": "0d1e2f3a4b5c6d7e8f90",
        "scopedKeySecret": "f00dfeedfacecafebeef0123456789abcdef0123456789abcdef0123456789ab",
        "exp": 1_900_000_000u64,
        "iat": 1_700_000_000u64,
    });
    let payload = b64.encode(payload.to_string());
    format!("{header}.{payload}.ZmFrZS1zaWduYXR1cmUtbm90LXZhbGlk")
}

fn expose(finding: &Finding) -> &str {
    finding.secret.expose_secret()
}

fn read(bytes: &[u8], format: Option<Format>) -> Vec<Result<Finding, Problem>> {
    FindingsReader::new(bytes, format).collect()
}

fn ok(bytes: &[u8], format: Option<Format>) -> Vec<Finding> {
    read(bytes, format)
        .into_iter()
        .map(|item| item.unwrap_or_else(|p| panic!("{p}")))
        .collect()
}

fn problems(bytes: &[u8], format: Option<Format>) -> Vec<Problem> {
    read(bytes, format)
        .into_iter()
        .filter_map(Result::err)
        .collect()
}

// ---- TruffleHog ---------------------------------------------------------

/// A TruffleHog v3 result line as `--json` prints it (the keys and order of
/// `pkg/output/json.go`), from a git source.
fn trufflehog_aws(raw_v2: &str, verified: bool, line: u64) -> String {
    let mut extra = json!({
        "resource_type": "Access key",
        "account": AWS_ACCOUNT,
        "rotation_guide": "https://howtorotate.com/docs/tutorials/aws/",
    });
    if verified {
        extra["arn"] = json!(format!("arn:aws:iam::{AWS_ACCOUNT}:user/deploy-bot"));
        extra["user_id"] = json!("AIDAQWERTYUIOP2345678");
    }
    json!({
        "SourceMetadata": {"Data": {"Git": {
            "commit": "fbc14303ffbf8fb1c2c1914e8dda7d0121633aca",
            "file": "deploy/keys.env",
            "email": "dev <dev@example.com>",
            "repository": "https://github.com/example/app",
            "timestamp": "2026-06-16 10:17:40 -0700 PDT",
            "line": line,
        }}},
        "SourceID": 1,
        "SourceType": 16,
        "SourceName": "trufflehog - git",
        "DetectorType": 2,
        "DetectorName": "AWS",
        "DetectorDescription": "AWS (Amazon Web Services) is a comprehensive cloud computing platform",
        "DecoderName": "PLAIN",
        "Verified": verified,
        "VerificationFromCache": false,
        "Raw": AWS_ID,
        "RawV2": raw_v2,
        "Redacted": AWS_ID,
        "ExtraData": extra,
        "StructuredData": null,
    })
    .to_string()
}

#[test]
fn trufflehog_aws_reads_both_raw_v2_shapes_as_one_secret() {
    let report = format!(
        "{}\n{}\n",
        trufflehog_aws(&format!("{AWS_ID}:{AWS_SECRET}"), true, 4),
        // Versions before the colon: id and secret run together.
        trufflehog_aws(&format!("{AWS_ID}{AWS_SECRET}"), false, 9),
    );
    let found = ok(report.as_bytes(), None);
    assert_eq!(found.len(), 2);
    for finding in &found {
        assert_eq!(expose(finding), format!("{AWS_ID}:{AWS_SECRET}"));
        assert_eq!(finding.public_id.as_deref(), Some(AWS_ID));
        assert_eq!(
            finding.paired_secret.as_ref().map(|s| s.expose_secret()),
            Some(AWS_SECRET)
        );
        let hint = finding.hint.as_ref().unwrap();
        assert_eq!(
            (hint.scanner, hint.kind.as_str()),
            (Format::TruffleHog, "AWS")
        );
        assert_eq!(finding.extras["account"], AWS_ACCOUNT);
        assert_eq!(finding.extras["resource_type"], "Access key");
        assert!(!finding.extras.contains_key("rotation_guide"));
        let location = &finding.location;
        assert_eq!(location.file.as_deref(), Some("deploy/keys.env"));
        assert_eq!(
            location.commit.as_deref(),
            Some("fbc14303ffbf8fb1c2c1914e8dda7d0121633aca")
        );
        assert_eq!(
            location.repository.as_deref(),
            Some("https://github.com/example/app")
        );
    }
    assert_eq!(found[0].verdict, Verdict::Live);
    assert_eq!(
        found[0].extras["arn"],
        format!("arn:aws:iam::{AWS_ACCOUNT}:user/deploy-bot")
    );
    assert_eq!(found[0].extras["user_id"], "AIDAQWERTYUIOP2345678");
    assert_eq!(found[1].verdict, Verdict::Unverified);
    assert_eq!(found[0].location.line, Some(4));
    assert_eq!(found[1].location.at, Position::Line(2));
    assert_eq!(found[0].fingerprint, found[1].fingerprint);

    let groups = group(found);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].locations.len(), 2);
    assert_eq!(groups[0].finding.verdict, Verdict::Live);
}

#[test]
fn trufflehog_other_sources_detectors_and_verdicts() {
    let lines = [
        // A filesystem source, a single-part secret (no RawV2).
        json!({
            "SourceMetadata": {"Data": {"Filesystem": {"file": "/srv/app/.env", "line": 12}}},
            "SourceType": 15, "SourceName": "trufflehog - filesystem",
            "DetectorName": "LangWatch", "DecoderName": "PLAIN",
            "Verified": false, "VerificationError": "lookup api.langwatch.example: i/o timeout",
            "Raw": LANGWATCH, "RawV2": "", "Redacted": "",
            "ExtraData": {"token": "not kept", "rotation_guide": "https://example.com"},
        }),
        // A GitHub source with a link; the repository URL carries a token.
        json!({
            "SourceMetadata": {"Data": {"Github": {
                "link": "https://github.com/example/app/blob/abc123/config.yml#L3",
                "repository": "https://x-access-token:tok-in-url@github.com/example/app.git",
                "commit": "abc123", "file": "config.yml", "line": 3, "visibility": 0,
            }}},
            "DetectorName": "Github", "Verified": true, "Raw": GHP, "Redacted": "ghp_FA…",
            "ExtraData": null,
        }),
        // Pinata: what Raw and RawV2 hold is the detector's business.
        json!({
            "SourceMetadata": {"Data": {"Git": {"file": "app.js", "line": 1, "commit": "c0ffee"}}},
            "DetectorName": "Pinata", "Verified": false, "Raw": pinata_jwt(),
        }),
    ];
    let report: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let found = ok(report.as_bytes(), Some(Format::TruffleHog));
    assert_eq!(found.len(), 3);

    assert_eq!(expose(&found[0]), LANGWATCH);
    assert_eq!(found[0].verdict, Verdict::Unknown);
    assert!(found[0].extras.is_empty());
    assert_eq!(found[0].public_id, None);
    assert_eq!(found[0].location.file.as_deref(), Some("/srv/app/.env"));
    assert_eq!(found[0].location.line, Some(12));

    assert_eq!(expose(&found[1]), GHP);
    assert_eq!(found[1].verdict, Verdict::Live);
    assert_eq!(
        found[1].location.url.as_deref(),
        Some("https://github.com/example/app/blob/abc123/config.yml#<redacted>")
    );
    assert_eq!(
        found[1].location.repository.as_deref(),
        Some("https://<redacted>@github.com/example/app.git")
    );

    assert_eq!(expose(&found[2]), pinata_jwt());
    assert_eq!(found[2].hint.as_ref().unwrap().kind, "Pinata");
}

#[test]
fn trufflehog_records_that_are_not_findings_are_problems_that_say_why() {
    let report = [
        r#"{"level":"info-0","ts":"2026-01-01T00:00:00Z","logger":"trufflehog","msg":"running source"}"#.to_owned(),
        trufflehog_aws(&format!("{AWS_ID}:{AWS_SECRET}"), false, 1),
        r#"{"DetectorName":"Slack","Raw":"","RawV2":""}"#.to_owned(),
        r#"{"Raw":"xoxb-123"}"#.to_owned(),
        r#"{"DetectorName":"AWS","Raw":12}"#.to_owned(),
        r#"{"DetectorName":"AWS","Raw":"AKIA"#.to_owned(),
        "not json at all".to_owned(),
        "[1, 2]".to_owned(),
    ]
    .join("\n");
    let items = read(report.as_bytes(), None);
    assert_eq!(items.len(), 8);
    assert!(items[1].is_ok());
    let kinds: Vec<(Position, ProblemKind)> = items
        .into_iter()
        .filter_map(Result::err)
        .map(|p| (p.at, p.kind))
        .collect();
    assert_eq!(kinds[0], (Position::Line(1), ProblemKind::LogLine));
    assert_eq!(
        kinds[1],
        (
            Position::Line(3),
            ProblemKind::Field {
                field: "Raw",
                problem: FieldProblem::Empty
            }
        )
    );
    assert_eq!(
        kinds[2].1,
        ProblemKind::Field {
            field: "DetectorName",
            problem: FieldProblem::Missing
        }
    );
    assert_eq!(
        kinds[3].1,
        ProblemKind::Field {
            field: "Raw",
            problem: FieldProblem::WrongType {
                expected: "a string"
            }
        }
    );
    assert!(
        matches!(&kinds[4].1, ProblemKind::InvalidJson { reason, .. } if reason == "EOF while parsing a string"),
        "{:?}",
        kinds[4]
    );
    assert!(matches!(kinds[5].1, ProblemKind::InvalidJson { .. }));
    assert_eq!(kinds[6].1, ProblemKind::NotAnObject { found: "an array" });
    assert!(
        kinds
            .iter()
            .all(|(_, kind)| !Problem::new(Position::Line(1), kind.clone()).is_final())
    );
}

// ---- gitleaks -----------------------------------------------------------

/// A gitleaks v8 finding as `--report-format json` writes it.
fn gitleaks_finding(
    rule: &str,
    secret: &str,
    file: &str,
    line: u64,
    commit: &str,
) -> serde_json::Value {
    json!({
        "RuleID": rule,
        "Description": format!("Detected a {rule}"),
        "StartLine": line,
        "EndLine": line,
        "StartColumn": 7,
        "EndColumn": 7 + secret.len(),
        "Match": format!("token = \"{secret}\""),
        "Secret": secret,
        "File": file,
        "SymlinkFile": "",
        "Commit": commit,
        "Link": format!("https://github.com/example/app/blob/{commit}/{file}#L{line}"),
        "Entropy": 4.7,
        "Author": "A Developer",
        "Email": "dev@example.com",
        "Date": "2026-11-02T09:14:00Z",
        "Message": "add config",
        "Tags": [],
        "Fingerprint": format!("{commit}:{file}:{rule}:{line}"),
    })
}

/// gitleaks' own layout: `json.Encoder` with a one-space indent.
fn gitleaks_report(findings: &[serde_json::Value]) -> String {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&findings, &mut serializer).unwrap();
    out.push(b'\n');
    String::from_utf8(out).unwrap()
}

#[test]
fn gitleaks_reads_each_finding_with_its_location() {
    let report = gitleaks_report(&[
        gitleaks_finding("jwt", &pinata_jwt(), "web/app.js", 14, "9f2c1a5b7d3e"),
        gitleaks_finding("generic-api-key", LANGWATCH, "ops/.env", 2, ""),
        gitleaks_finding("github-pat", GHP, "ci.yml", 30, "aa11bb22cc33"),
        gitleaks_finding("aws-access-token", AWS_ID, "keys", 4, "aa11bb22cc33"),
    ]);
    let found = ok(report.as_bytes(), None);
    assert_eq!(found.len(), 4);
    assert_eq!(expose(&found[0]), pinata_jwt());
    let hint = found[0].hint.as_ref().unwrap();
    assert_eq!(
        (hint.scanner, hint.kind.as_str()),
        (Format::Gitleaks, "jwt")
    );
    assert_eq!(hint.display_name.as_deref(), Some("Detected a jwt"));
    assert_eq!(found[0].location.file.as_deref(), Some("web/app.js"));
    assert_eq!(found[0].location.line, Some(14));
    assert_eq!(found[0].location.commit.as_deref(), Some("9f2c1a5b7d3e"));
    assert_eq!(
        found[0].location.reference.as_deref(),
        Some("9f2c1a5b7d3e:web/app.js:jwt:14")
    );
    assert_eq!(
        found[0].location.at,
        Position::Element {
            index: 1,
            line: 2,
            byte: 3
        }
    );
    assert_eq!(found[0].verdict, Verdict::NotChecked);
    // A directory scan: no commit.
    assert_eq!(expose(&found[1]), LANGWATCH);
    assert_eq!(found[1].location.commit, None);
    assert_eq!(expose(&found[2]), GHP);
    assert_eq!(expose(&found[3]), AWS_ID);
    let Position::Element { index, line, byte } = found[3].location.at else {
        panic!("{:?}", found[3].location.at)
    };
    assert_eq!(index, 4);
    assert_eq!(&report.as_bytes()[byte as usize..][..1], b"{");
    assert_eq!(
        report[..byte as usize].matches('\n').count() as u64 + 1,
        line
    );
}

#[test]
fn gitleaks_empty_reports_are_zero_findings() {
    for report in ["", "\n", "[]", "[]\n", "\u{feff}[\n]\n", " [ ] "] {
        assert!(read(report.as_bytes(), None).is_empty(), "{report:?}");
        assert!(
            read(report.as_bytes(), Some(Format::Gitleaks)).is_empty(),
            "{report:?}"
        );
    }
}

#[test]
fn gitleaks_redacted_secrets_are_withheld_problems() {
    let report = gitleaks_report(&[
        gitleaks_finding("github-pat", "REDACTED", "a", 1, "c1"),
        gitleaks_finding("github-pat", "ghp_FAKEa1b2...", "b", 1, "c1"),
        gitleaks_finding("github-pat", GHP, "c", 1, "c1"),
    ]);
    let items = read(report.as_bytes(), None);
    assert_eq!(items.len(), 3);
    for item in &items[..2] {
        let problem = item.as_ref().unwrap_err();
        assert!(matches!(
            problem.kind,
            ProblemKind::Withheld {
                field: "Secret",
                ..
            }
        ));
        assert!(
            problem.to_string().contains("without --redact"),
            "{problem}"
        );
    }
    assert_eq!(expose(items[2].as_ref().unwrap()), GHP);
}

// ---- GitHub -------------------------------------------------------------

fn github_alert(number: u64, secret_type: &str, secret: &str) -> serde_json::Value {
    json!({
        "number": number,
        "created_at": "2026-11-02T09:14:00Z",
        "updated_at": null,
        "url": format!("https://api.github.com/repos/example/app/secret-scanning/alerts/{number}"),
        "html_url": format!("https://github.com/example/app/security/secret-scanning/{number}"),
        "locations_url": format!("https://api.github.com/repos/example/app/secret-scanning/alerts/{number}/locations"),
        "state": "open",
        "resolution": null,
        "resolved_at": null,
        "resolved_by": null,
        "resolution_comment": null,
        "secret_type": secret_type,
        "secret_type_display_name": "GitHub Personal Access Token",
        "secret": secret,
        "push_protection_bypassed": false,
        "push_protection_bypassed_by": null,
        "push_protection_bypassed_at": null,
        "validity": "active",
        "publicly_leaked": false,
        "multi_repo": false,
        "is_base64_encoded": false,
        "first_location_detected": {
            "path": "src/config.ts", "start_line": 18, "end_line": 18, "start_column": 9, "end_column": 49,
            "blob_sha": "af5626b4a114abcb82d63db7c8082c3c4756e51b",
            "blob_url": "https://api.github.com/repos/example/app/git/blobs/af5626b4a114abcb82d63db7c8082c3c4756e51b",
            "commit_sha": "f14d7debf9775f957cf4f1e8176da0786431f72b",
            "commit_url": "https://api.github.com/repos/example/app/git/commits/f14d7debf9775f957cf4f1e8176da0786431f72b",
        },
        "has_more_locations": true,
    })
}

#[test]
fn github_alerts_read_with_their_state_and_first_location() {
    let mut resolved = github_alert(3, "github_personal_access_token", GHP);
    resolved["state"] = json!("resolved");
    resolved["resolution"] = json!("revoked");
    resolved["validity"] = json!("inactive");
    let mut unknown = github_alert(4, "aws_access_key_id", AWS_ID);
    unknown["validity"] = json!("unknown");
    let mut unchecked = github_alert(5, "pinata_jwt", &pinata_jwt());
    unchecked.as_object_mut().unwrap().remove("validity");
    // An organization's list names the repository.
    unchecked["repository"] = json!({"id": 1, "full_name": "example/infra", "private": true});
    let report = serde_json::to_string_pretty(&json!([
        github_alert(2, "github_personal_access_token", GHP),
        resolved,
        unknown,
        unchecked,
    ]))
    .unwrap();
    let found = ok(report.as_bytes(), None);
    assert_eq!(found.len(), 4);
    let first = &found[0];
    assert_eq!(expose(first), GHP);
    let hint = first.hint.as_ref().unwrap();
    assert_eq!(
        (hint.scanner, hint.kind.as_str()),
        (Format::GitHub, "github_personal_access_token")
    );
    assert_eq!(
        hint.display_name.as_deref(),
        Some("GitHub Personal Access Token")
    );
    assert_eq!(first.verdict, Verdict::Live);
    assert_eq!(first.alert_state, Some(AlertState::Open));
    assert_eq!(first.location.reference.as_deref(), Some("2"));
    assert_eq!(
        first.location.url.as_deref(),
        Some("https://github.com/example/app/security/secret-scanning/2")
    );
    assert_eq!(
        first.location.more_at.as_deref(),
        Some("https://api.github.com/repos/example/app/secret-scanning/alerts/2/locations")
    );
    assert_eq!(first.location.file.as_deref(), Some("src/config.ts"));
    assert_eq!(first.location.line, Some(18));
    assert_eq!(
        first.location.commit.as_deref(),
        Some("f14d7debf9775f957cf4f1e8176da0786431f72b")
    );
    assert_eq!(found[1].verdict, Verdict::Inactive);
    assert_eq!(
        found[1].alert_state,
        Some(AlertState::Resolved(Some("revoked".into())))
    );
    assert_eq!(found[2].verdict, Verdict::Unknown);
    assert_eq!(found[3].verdict, Verdict::NotChecked);
    assert_eq!(
        found[3].location.repository.as_deref(),
        Some("example/infra")
    );
    // One secret in two alerts is one entry.
    assert_eq!(group(found).len(), 3);
}

#[test]
fn github_hidden_secrets_pages_and_slurped_pages() {
    let mut hidden = github_alert(1, "github_personal_access_token", GHP);
    hidden.as_object_mut().unwrap().remove("secret");
    let page1 = json!([hidden, github_alert(2, "github_personal_access_token", GHP)]);
    let page2 = json!([github_alert(3, "langwatch_key", LANGWATCH)]);
    // Pages written one after the other are read as one list.
    let report = format!("{page1}\n{page2}\n");
    let items = read(report.as_bytes(), None);
    assert_eq!(items.len(), 3);
    let withheld = items[0].as_ref().unwrap_err();
    assert!(
        withheld.to_string().contains("hide_secret=true"),
        "{withheld}"
    );
    assert_eq!(expose(items[1].as_ref().unwrap()), GHP);
    let third = items[2].as_ref().unwrap();
    assert_eq!(expose(third), LANGWATCH);
    assert!(matches!(
        third.location.at,
        Position::Element {
            index: 3,
            line: 2,
            ..
        }
    ));

    let slurped = format!("[{page1},{page2}]");
    let problems = problems(slurped.as_bytes(), Some(Format::GitHub));
    assert_eq!(problems.len(), 2);
    assert_eq!(
        problems[0].kind,
        ProblemKind::NotAnObject { found: "an array" }
    );
}

#[test]
fn github_alerts_one_a_line_and_unknown_shapes() {
    let report = format!(
        "{}\n{}\n{}\n",
        github_alert(1, "github_personal_access_token", GHP),
        // TruffleHog's --json-legacy (v2) shape is none of the formats.
        json!({"branch": "origin/main", "commitHash": "c1", "path": "a", "reason": "High Entropy", "stringsFound": [GHP]}),
        github_alert(2, "langwatch_key", LANGWATCH),
    );
    let items = read(report.as_bytes(), None);
    assert_eq!(items.len(), 3);
    let first = items[0].as_ref().unwrap();
    assert_eq!(first.hint.as_ref().unwrap().scanner, Format::GitHub);
    assert_eq!(first.location.at, Position::Line(1));
    // Once the format is known, a record of another shape lacks its fields.
    assert_eq!(
        items[1].as_ref().unwrap_err().kind,
        ProblemKind::Field {
            field: "secret_type",
            problem: FieldProblem::Missing
        }
    );
    assert_eq!(expose(items[2].as_ref().unwrap()), LANGWATCH);
    let legacy = json!({"branch": "origin/main", "stringsFound": [GHP]}).to_string();
    assert_eq!(
        problems(legacy.as_bytes(), None)[0].kind,
        ProblemKind::UnknownShape
    );
}

// ---- plain text ---------------------------------------------------------

#[test]
fn plain_text_is_one_secret_a_line() {
    let report = format!(
        "\u{feff}# leaked on 2026-11-30\n\n  {GHP}  \r\n{LANGWATCH}\n\t\n{UNKNOWN}\n# end\n{}",
        pinata_jwt()
    );
    let found = ok(report.as_bytes(), None);
    let secrets: Vec<&str> = found.iter().map(expose).collect();
    assert_eq!(secrets, [GHP, LANGWATCH, UNKNOWN, &pinata_jwt()]);
    let lines: Vec<Position> = found.iter().map(|f| f.location.at).collect();
    assert_eq!(
        lines,
        [
            Position::Line(3),
            Position::Line(4),
            Position::Line(6),
            Position::Line(8)
        ]
    );
    assert!(
        found
            .iter()
            .all(|f| f.hint.is_none() && f.verdict == Verdict::NotChecked)
    );
}

#[test]
fn plain_text_leading_blank_lines_count_and_bad_lines_are_problems() {
    let items = read(b"\n\n  \nsecret-one\n\xff\xfe\nsecret-two\n", None);
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].as_ref().unwrap().location.at, Position::Line(4));
    let problem = items[1].as_ref().unwrap_err();
    assert_eq!(problem.to_string(), "line 5: not valid UTF-8");
    assert_eq!(items[2].as_ref().unwrap().location.at, Position::Line(6));
}

#[test]
fn a_given_format_wins_over_detection() {
    let line = trufflehog_aws(&format!("{AWS_ID}:{AWS_SECRET}"), false, 1);
    let found = ok(line.as_bytes(), Some(Format::Plain));
    assert_eq!(expose(&found[0]), line);
    // A JSON format for text that is not JSON: every line is a problem.
    let problems = problems(b"ghp_one\nghp_two\n", Some(Format::GitHub));
    assert_eq!(problems.len(), 2);
    assert_eq!(problems[1].at, Position::Line(2));
    // gitleaks' reader on a TruffleHog line: its fields are missing.
    let problems = self::problems(line.as_bytes(), Some(Format::Gitleaks));
    assert_eq!(
        problems[0].kind,
        ProblemKind::Field {
            field: "RuleID",
            problem: FieldProblem::Missing
        }
    );
}

// ---- detection ----------------------------------------------------------

#[test]
fn detection_from_content() {
    let th = trufflehog_aws(&format!("{AWS_ID}:{AWS_SECRET}"), false, 1);
    let gl = gitleaks_report(&[gitleaks_finding("jwt", "x", "f", 1, "")]);
    let gh = json!([github_alert(1, "t", "s")]).to_string();
    let cases: [(&[u8], Option<Format>); 12] = [
        (th.as_bytes(), Some(Format::TruffleHog)),
        (
            format!("\u{feff}\n  {th}").into_bytes().leak(),
            Some(Format::TruffleHog),
        ),
        (gl.as_bytes(), Some(Format::Gitleaks)),
        (gh.as_bytes(), Some(Format::GitHub)),
        (
            b"[{\"DetectorName\":\"AWS\",\"Raw\":\"x\"}]",
            Some(Format::TruffleHog),
        ),
        (
            b"[{\"odd\":1},{\"RuleID\":\"r\",\"Secret\":\"s\"}]",
            Some(Format::Gitleaks),
        ),
        (b"ghp_x\n", Some(Format::Plain)),
        (b"\xef\xbb\xbf", None),
        (b"", None),
        (b" \r\n\t", None),
        (b"[ ]", None),
        // Cut off before the first record shows its kind.
        (b"[{\"RuleID", None),
    ];
    for (head, want) in cases {
        assert_eq!(detect(head), want, "{:?}", String::from_utf8_lossy(head));
    }
    let mut reader = FindingsReader::new(gl.as_bytes(), None);
    assert_eq!(reader.format(), None);
    reader.next();
    assert_eq!(reader.format(), Some(Format::Gitleaks));
}

#[test]
fn format_names() {
    for format in Format::ALL {
        assert_eq!(format.as_str().parse(), Ok(format));
        assert_eq!(format.to_string(), format.as_str());
    }
    assert_eq!("TruffleHog".parse(), Ok(Format::TruffleHog));
    let err = "sarif\x1b[2J".parse::<Format>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown report format \"sarif\\x1b[2J\" (expected trufflehog, gitleaks, github or plain)"
    );
}

#[test]
fn findings_and_locations_display_as_safe_text() {
    let mut finding = gitleaks_finding("github-pat\u{202e}", GHP, "a\u{1b}[31m.env", 3, "c0ffee");
    finding["Link"] = json!("https://user:pw@github.com/example/app/blob/c0ffee/a.env?plain=1#L3");
    let found = ok(json!([finding]).to_string().as_bytes(), None);
    let print = fingerprint(&SecretString::from(GHP));
    assert_eq!(
        found[0].to_string(),
        format!(
            "{print} gitleaks:github-pat\\u{{202e}} at a\\x1b[31m.env:3 commit c0ffee \
             <https://<redacted>@github.com/example/app/blob/c0ffee/a.env?<redacted>> \
             [c0ffee:a\\x1b[31m.env:github-pat\\u{{202e}}:3] (report element 1 (line 1, byte 1))"
        )
    );
    let plain = ok(b"ghp_one\n", None);
    assert_eq!(plain[0].location.to_string(), "(report line 1)");
}

// ---- fingerprints and grouping ------------------------------------------

#[test]
fn fingerprints_are_truncated_sha256() {
    let print = fingerprint(&SecretString::from("abc"));
    // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.
    assert_eq!(print.to_string(), "sha256:ba7816bf8f01cfea");
    assert_eq!(format!("{print:?}"), "Fingerprint(sha256:ba7816bf8f01cfea)");
    assert_eq!(print.to_string().parse(), Ok(print));
    assert_eq!(Fingerprint::of(b"abc"), print);
    let json = serde_json::to_string(&print).unwrap();
    assert_eq!(json, "\"sha256:ba7816bf8f01cfea\"");
    assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), print);
    for bad in [
        "",
        "ba7816bf8f01cfea",
        "sha256:ba7816bf8f01cfe",
        "sha256:ba7816bf8f01cfeaa",
        "sha256:BA7816BF8F01CFEA",
        "sha256:ba7816bf8f01cfeg",
        "sha1:ba7816bf8f01cfea",
    ] {
        assert_eq!(bad.parse::<Fingerprint>(), Err(InvalidFingerprint), "{bad}");
    }
    assert_ne!(
        fingerprint(&SecretString::from(GHP)),
        fingerprint(&SecretString::from(LANGWATCH))
    );
}

#[test]
fn one_secret_in_three_places_is_one_entry_with_three_locations() {
    let report = gitleaks_report(&[
        gitleaks_finding("github-pat", GHP, "ci.yml", 30, "c1"),
        gitleaks_finding("generic-api-key", LANGWATCH, "ops/.env", 2, "c1"),
        gitleaks_finding("github-pat", GHP, "ci.yml", 30, "c2"),
        gitleaks_finding("github-pat", GHP, "docs/setup.md", 7, "c3"),
    ]);
    let groups = group(ok(report.as_bytes(), None));
    assert_eq!(groups.len(), 2);
    assert_eq!(expose(&groups[0].finding), GHP);
    assert_eq!(expose(&groups[1].finding), LANGWATCH);
    let places: Vec<(Option<&str>, Option<&str>)> = groups[0]
        .locations
        .iter()
        .map(|l| (l.file.as_deref(), l.commit.as_deref()))
        .collect();
    assert_eq!(
        places,
        [
            (Some("ci.yml"), Some("c1")),
            (Some("ci.yml"), Some("c2")),
            (Some("docs/setup.md"), Some("c3"))
        ]
    );
    assert_eq!(groups[0].locations[0], groups[0].finding.location);
    assert_eq!(groups[1].locations.len(), 1);
}

#[test]
fn the_same_secret_from_three_scanners_is_one_entry() {
    let th = json!({"DetectorName": "Github", "Verified": false, "Raw": GHP,
        "SourceMetadata": {"Data": {"Filesystem": {"file": "a.env", "line": 1}}}})
    .to_string();
    let gl = gitleaks_report(&[gitleaks_finding("github-pat", GHP, "b.env", 2, "c")]);
    let gh = json!([github_alert(9, "github_personal_access_token", GHP)]).to_string();
    let mut grouper = Grouper::new();
    for report in [th, gl, gh] {
        for finding in ok(report.as_bytes(), None) {
            grouper.add(finding);
        }
    }
    assert_eq!(grouper.len(), 1);
    let groups = grouper.into_groups();
    let files: Vec<Option<&str>> = groups[0]
        .locations
        .iter()
        .map(|l| l.file.as_deref())
        .collect();
    assert_eq!(files, [Some("a.env"), Some("b.env"), Some("src/config.ts")]);
    // The first finding's hint stays; GitHub's "active" is the strongest verdict.
    assert_eq!(
        groups[0].finding.hint.as_ref().unwrap().scanner,
        Format::TruffleHog
    );
    assert_eq!(groups[0].finding.verdict, Verdict::Live);
    assert_eq!(groups[0].finding.alert_state, Some(AlertState::Open));
}

// ---- problems -----------------------------------------------------------

#[test]
fn broken_records_are_problems_and_reading_goes_on() {
    let good = gitleaks_finding("github-pat", GHP, "x", 1, "c").to_string();
    let report = format!(
        "[{{\"RuleID\": }}, 12, \"str\", {good}, {{\"RuleID\":\"r\",\"Secret\":\"\\xff\"}}, {good}]"
    );
    let items = read(report.as_bytes(), None);
    assert_eq!(items.len(), 6, "{items:?}");
    let describe: Vec<String> = items
        .iter()
        .map(|item| match item {
            Ok(f) => format!("ok {:?}", f.location.at),
            Err(p) => p.kind.to_string(),
        })
        .collect();
    assert!(
        describe[0].starts_with("not valid JSON: expected value"),
        "{describe:?}"
    );
    assert_eq!(describe[1], "a number, not a finding object");
    assert_eq!(describe[2], "a string, not a finding object");
    assert!(
        describe[3].starts_with("ok Element { index: 4"),
        "{describe:?}"
    );
    assert!(
        describe[4].starts_with("not valid JSON: invalid escape"),
        "{describe:?}"
    );
    assert!(
        describe[5].starts_with("ok Element { index: 6"),
        "{describe:?}"
    );
}

#[test]
fn invalid_utf8_is_a_problem_at_its_record() {
    let good = gitleaks_finding("github-pat", GHP, "x", 1, "c").to_string();
    let mut report = b"[\n".to_vec();
    report.extend_from_slice(b"{\"RuleID\":\"r\",\"Secret\":\"\xff\xfe\"},\n");
    report.extend_from_slice(good.as_bytes());
    report.extend_from_slice(b"]");
    let items = read(&report, None);
    assert_eq!(items.len(), 2);
    let problem = items[0].as_ref().unwrap_err();
    assert_eq!(
        problem.to_string(),
        "element 1 (line 2, byte 2): not valid UTF-8"
    );
    assert!(items[1].is_ok());

    let mut lines = format!("{}\n", json!({"DetectorName": "X", "Raw": GHP})).into_bytes();
    lines.extend_from_slice(b"{\"DetectorName\":\"X\",\"Raw\":\"\xc3\"}\n");
    lines.extend_from_slice(
        format!("{}\n", json!({"DetectorName": "X", "Raw": LANGWATCH})).as_bytes(),
    );
    let items = read(&lines, None);
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[1].as_ref().unwrap_err().to_string(),
        "line 2: not valid UTF-8"
    );
    assert_eq!(expose(items[2].as_ref().unwrap()), LANGWATCH);
}

#[test]
fn a_broken_array_stops_with_one_final_problem() {
    let good = gitleaks_finding("github-pat", GHP, "x", 1, "c").to_string();
    let cases = [
        (format!("[{good}"), ProblemKind::Truncated),
        (format!("[{good},"), ProblemKind::Truncated),
        (
            format!("[{good} {good}]"),
            ProblemKind::Malformed {
                expected: "`,` or `]` after an element",
            },
        ),
        (
            format!("[{good},]"),
            ProblemKind::Malformed {
                expected: "an element after `,`",
            },
        ),
        (format!("[{good}] trailing"), ProblemKind::TrailingData),
        (format!("[{good}]\n{{\"a\":1}}"), ProblemKind::TrailingData),
        (
            format!("[{good}, {{\"Secret\": \"unterminated"),
            ProblemKind::Truncated,
        ),
    ];
    for (report, want) in cases {
        let items = read(report.as_bytes(), None);
        assert_eq!(items.len(), 2, "{report}: {items:?}");
        assert!(items[0].is_ok());
        let last = items[1].as_ref().unwrap_err();
        assert_eq!(last.kind, want, "{report}");
        assert!(last.is_final());
        assert!(matches!(last.at, Position::Byte { .. }));
    }
    let all = problems(b"[1 2", None);
    assert_eq!(all[0].kind, ProblemKind::NotAnObject { found: "a number" });
    let problem = &all[1];
    assert_eq!(
        problem.to_string(),
        "line 1, byte 3: the JSON array is broken here: expected `,` or `]` after an element"
    );
}

#[test]
fn brackets_and_quotes_inside_strings_do_not_confuse_the_splitter() {
    let tricky =
        json!({"RuleID": "r", "Secret": "a]b}c[d{e\"f\\g,h", "File": "[x]\\\"", "StartLine": 1});
    let report = format!("[{tricky},\n{tricky}]");
    let found = ok(report.as_bytes(), None);
    assert_eq!(found.len(), 2);
    assert_eq!(expose(&found[0]), "a]b}c[d{e\"f\\g,h");
    assert_eq!(
        found[1].location.at,
        Position::Element {
            index: 2,
            line: 2,
            byte: report.find("\n{").unwrap() as u64 + 1
        }
    );
}

#[test]
fn secrets_never_reach_public_fields() {
    let secret = "sk-lw-this-value-is-secret-123";
    let finding = gitleaks_finding(
        "generic",
        secret,
        &format!("config/{secret}.env"),
        1,
        secret,
    );
    let found = ok(json!([finding]).to_string().as_bytes(), None);
    assert_eq!(found[0].location.file, None);
    assert_eq!(found[0].location.commit, None);
    assert_eq!(found[0].location.reference, None);
    assert!(
        found[0]
            .location
            .url
            .as_deref()
            .is_none_or(|u| !u.contains(secret))
    );
}

/// Bytes made on the fly: `prefix`, then `len` times `fill`, then `suffix`,
/// never held whole.
struct Generated {
    prefix: Vec<u8>,
    fill: u8,
    len: u64,
    suffix: Vec<u8>,
    pos: u64,
}

impl Generated {
    fn new(prefix: impl Into<Vec<u8>>, fill: u8, len: u64, suffix: impl Into<Vec<u8>>) -> Self {
        Self {
            prefix: prefix.into(),
            fill,
            len,
            suffix: suffix.into(),
            pos: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let prefix = self.prefix.len() as u64;
        let mut n = 0;
        while n < out.len() {
            let p = self.pos;
            let byte = if p < prefix {
                self.prefix[p as usize]
            } else if p < prefix + self.len {
                self.fill
            } else if let Some(&b) = self.suffix.get((p - prefix - self.len) as usize) {
                b
            } else {
                break;
            };
            out[n] = byte;
            n += 1;
            self.pos += 1;
        }
        Ok(n)
    }
}

#[test]
fn a_huge_record_is_skipped_in_bounded_memory() {
    let huge = 3 * MAX_RECORD_BYTES as u64;
    let good = gitleaks_finding("github-pat", GHP, "x", 1, "c").to_string();
    let th_good = json!({"DetectorName": "Github", "Raw": GHP}).to_string();
    let cases = [
        (
            Generated::new(
                *br#"[{"RuleID":"r","Secret":""#,
                b'a',
                huge,
                format!("\"}},{good}]"),
            ),
            Position::Element {
                index: 1,
                line: 1,
                byte: 1,
            },
        ),
        (
            Generated::new(
                *br#"{"DetectorName":"X","Raw":""#,
                b'a',
                huge,
                format!("\"}}\n{th_good}\n"),
            ),
            Position::Line(1),
        ),
        (
            Generated::new(*b"ghp_", b'a', huge, format!("\n{GHP}\n")),
            Position::Line(1),
        ),
    ];
    for (input, at) in cases {
        let mut reader = FindingsReader::new(BufReader::with_capacity(8192, input), None);
        let mut items = Vec::new();
        while let Some(item) = reader.next_item() {
            assert!(reader.buffered_bytes() <= MAX_RECORD_BYTES + 1 + 3);
            items.push(item);
        }
        assert_eq!(items.len(), 2, "{items:?}");
        let problem = items[0].as_ref().unwrap_err();
        assert_eq!(problem.at, at);
        assert!(
            matches!(problem.kind, ProblemKind::TooLarge { bytes, limit } if bytes > huge && limit == MAX_RECORD_BYTES as u64)
        );
        assert_eq!(expose(items[1].as_ref().unwrap()), GHP);
    }
}

#[test]
fn the_record_limit_can_be_lowered() {
    let report = format!("{GHP}\nshort\n");
    let items: Vec<_> = FindingsReader::new(report.as_bytes(), None)
        .max_record_bytes(10)
        .collect();
    assert_eq!(
        items[0].as_ref().unwrap_err().to_string(),
        format!(
            "line 1: the record is {} bytes long, more than the 10 allowed; skipped",
            GHP.len()
        )
    );
    assert_eq!(expose(items[1].as_ref().unwrap()), "short");
}

#[test]
fn read_errors_end_reading() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }
    let items: Vec<_> = FindingsReader::from_read(Failing, None).collect();
    assert_eq!(items.len(), 1);
    let problem = items[0].as_ref().unwrap_err();
    assert!(problem.is_final());
    assert_eq!(
        problem.kind,
        ProblemKind::Read {
            kind: io::ErrorKind::Other
        }
    );
}

// ---- the canary: no secret in any output --------------------------------

#[test]
fn a_canary_secret_never_shows_in_debug_display_or_problems() {
    const CANARY: &str = "CANARY-7f3a9c1e-do-not-print";
    let canary_v2 = format!("{AWS_ID}:{CANARY}");
    let th_lines = [
        json!({"DetectorName": "AWS", "Raw": AWS_ID, "RawV2": canary_v2, "Redacted": CANARY,
            "ExtraData": {"arn": CANARY, "token": CANARY, "account": AWS_ACCOUNT},
            "SourceMetadata": {"Data": {"Git": {"file": CANARY, "commit": CANARY, "repository": format!("https://u:{CANARY}@h/r"), "line": 1}}}}).to_string(),
        json!({"DetectorName": CANARY, "Raw": CANARY}).to_string(),
        json!({"DetectorName": "X", "Raw": CANARY, "Verified": CANARY}).to_string(),
        json!({"DetectorName": ["x", CANARY], "Raw": CANARY}).to_string(),
        format!("{{\"DetectorName\":\"X\",\"Raw\":\"{CANARY}"),
        format!("{{\"DetectorName\":\"X\",\"Raw\":\"{CANARY}\" \"x\"}}"),
        format!("{{\"DetectorName\":\"X\",\"Raw\":{CANARY}}}"),
        format!("{CANARY}\u{1b}[2J"),
    ];
    let gl = gitleaks_report(&[
        gitleaks_finding(CANARY, CANARY, CANARY, 1, CANARY),
        json!({"RuleID": "r", "Secret": [CANARY]}),
        json!({"RuleID": "r", "Secret": format!("{CANARY}...")}),
    ]);
    let mut gh = github_alert(1, CANARY, CANARY);
    gh["html_url"] = json!(format!("https://github.com/?t={CANARY}"));
    gh["resolution"] = json!(CANARY);
    gh["state"] = json!("resolved");
    let gh = json!([gh, {"number": 2, "secret_type": CANARY, "secret": 7}]).to_string();
    let reports: Vec<(String, Option<Format>)> = vec![
        (th_lines.join("\n"), None),
        (gl.clone(), None),
        (gh.clone(), None),
        (format!("{CANARY}\n"), None),
        (
            format!("[{{\"RuleID\":\"{CANARY}\",\"Secret\":\"{CANARY}\""),
            None,
        ),
        (
            format!("[{{\"RuleID\":\"r\",\"Secret\":\"{CANARY}\"}} {CANARY}"),
            None,
        ),
        (
            format!("[{{\"RuleID\":\"r\",\"Secret\":\"{CANARY}\"}}] {CANARY}"),
            None,
        ),
        (format!("{CANARY}\n"), Some(Format::TruffleHog)),
        (gl, Some(Format::GitHub)),
        (gh, Some(Format::Gitleaks)),
    ];
    let mut shown = Vec::new();
    let mut secrets_read = 0;
    for (report, format) in reports {
        let mut reader = FindingsReader::new(report.as_bytes(), format);
        let mut grouper = Grouper::new();
        while let Some(item) = reader.next_item() {
            match item {
                Ok(finding) => {
                    if expose(&finding).contains(CANARY)
                        || finding
                            .paired_secret
                            .as_ref()
                            .is_some_and(|s| s.expose_secret().contains(CANARY))
                    {
                        secrets_read += 1;
                    }
                    shown.push(format!("{finding:?}"));
                    shown.push(finding.to_string());
                    shown.push(finding.location.to_string());
                    grouper.add(finding);
                }
                Err(problem) => {
                    shown.push(format!("{problem:?}"));
                    shown.push(problem.to_string());
                }
            }
            shown.push(format!("{reader:?}"));
        }
        shown.push(format!("{grouper:?}"));
        shown.push(format!("{:?}", grouper.into_groups()));
    }
    assert!(
        secrets_read >= 5,
        "the canary was read as a secret {secrets_read} times"
    );
    for text in &shown {
        assert!(!text.contains(CANARY), "the canary shows in {text}");
        assert!(
            !text.contains("7f3a9c1e"),
            "part of the canary shows in {text}"
        );
        assert!(
            !text.contains('\u{1b}'),
            "a control character shows in {text}"
        );
    }
}

// ---- properties ---------------------------------------------------------

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Gives at most `step` bytes a read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.data.len().min(self.step).min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    /// What a reader yields, in a comparable form without secrets.
    fn outline<R: io::BufRead>(
        mut reader: FindingsReader<R>,
        limit: usize,
    ) -> Result<Vec<String>, TestCaseError> {
        let mut out = Vec::new();
        let mut ended = false;
        while let Some(item) = reader.next_item() {
            prop_assert!(!ended, "an item after a final problem");
            prop_assert!(
                reader.buffered_bytes() <= limit + 1 + 3,
                "{} bytes held for a limit of {limit}",
                reader.buffered_bytes()
            );
            out.push(match item {
                Ok(f) => format!("{} {:?}", f.fingerprint, f.location.at),
                Err(p) => {
                    ended = p.is_final();
                    format!("{p}")
                }
            });
        }
        prop_assert!(reader.next_item().is_none());
        Ok(out)
    }

    fn formats() -> impl Strategy<Value = Option<Format>> {
        prop_oneof![
            Just(None),
            Just(Some(Format::TruffleHog)),
            Just(Some(Format::Gitleaks)),
            Just(Some(Format::GitHub)),
            Just(Some(Format::Plain)),
        ]
    }

    /// Pieces of JSON and of scanners' reports, to build inputs near the
    /// formats from.
    fn jsonish() -> impl Strategy<Value = Vec<u8>> {
        let pieces: Vec<&'static [u8]> = vec![
            b"[",
            b"]",
            b"{",
            b"}",
            b"\"",
            b"\\",
            b",",
            b":",
            b" ",
            b"\n",
            b"\r\n",
            b"\"RuleID\"",
            b"\"Secret\"",
            b"\"DetectorName\"",
            b"\"Raw\"",
            b"\"RawV2\"",
            b"\"secret_type\"",
            b"\"secret\"",
            b"\"number\"",
            b"\"x\"",
            b"\"AKIAQWERTYUIOP234567\"",
            b"1",
            b"-2.5e3",
            b"null",
            b"true",
            b"\xef\xbb\xbf",
            b"\xff",
            b"\\u0000",
            b"#",
        ];
        proptest::collection::vec(proptest::sample::select(pieces), 0..80)
            .prop_map(|parts| parts.concat())
    }

    const CANARY: &str = "CANARY-0b5e7d-never-shown";

    /// Records of scanners' fields holding the canary everywhere, whole or
    /// cut off, one a line or in an array.
    fn canary_reports() -> impl Strategy<Value = String> {
        let keys = proptest::sample::select(vec![
            "RuleID",
            "Secret",
            "File",
            "Commit",
            "Link",
            "Fingerprint",
            "Description",
            "StartLine",
            "DetectorName",
            "Raw",
            "RawV2",
            "Redacted",
            "Verified",
            "VerificationError",
            "ExtraData",
            "SourceMetadata",
            "secret_type",
            "secret",
            "number",
            "html_url",
            "locations_url",
            "state",
            "resolution",
            "validity",
            "repository",
            "first_location_detected",
            "secret_type_display_name",
            CANARY,
        ]);
        let values = prop_oneof![
            Just(json!(CANARY)),
            "[a-z:/ ]{0,4}".prop_map(|s| json!(format!("{s}{CANARY}{s}"))),
            Just(json!(format!("{AWS_ID}:{CANARY}"))),
            Just(json!(AWS_ID)),
            Just(
                json!({"Data": {"Git": {"file": CANARY, "commit": CANARY, "repository": format!("https://u:{CANARY}@h/r"), "line": 1}}})
            ),
            Just(
                json!({"full_name": CANARY, "arn": CANARY, "account": CANARY, "path": CANARY, "commit_sha": CANARY})
            ),
            Just(json!([CANARY])),
            Just(json!(7)),
            Just(json!(true)),
            Just(serde_json::Value::Null),
        ];
        // Each record starts as one of the scanners' shapes, then random
        // fields are set on it.
        let base = prop_oneof![
            Just(json!({"RuleID": "generic", "Secret": format!("x{CANARY}")})),
            Just(
                json!({"DetectorName": "AWS", "Raw": AWS_ID, "RawV2": format!("{AWS_ID}{CANARY}")})
            ),
            Just(json!({"DetectorName": "X", "Raw": CANARY})),
            Just(json!({"number": 1, "secret_type": "t", "secret": CANARY})),
            Just(json!({})),
        ];
        let record = (base, proptest::collection::vec((keys, values), 0..6)).prop_map(
            |(mut base, fields)| {
                let map = base.as_object_mut().expect("an object");
                for (key, value) in fields {
                    map.insert(key.to_owned(), value);
                }
                base
            },
        );
        (
            proptest::collection::vec(record, 0..5),
            any::<bool>(),
            any::<prop::sample::Index>(),
            any::<bool>(),
        )
            .prop_map(|(records, lines, cut, whole)| {
                let report = if lines {
                    records.iter().map(|r| format!("{r}\n")).collect::<String>()
                } else {
                    serde_json::Value::Array(records).to_string()
                };
                if whole || report.is_empty() {
                    return report;
                }
                let mut at = cut.index(report.len());
                while !report.is_char_boundary(at) {
                    at -= 1;
                }
                report[..at].to_owned()
            })
    }

    proptest! {
        /// A problem never shows the record's text, and a finding never shows
        /// its secret, whatever fields hold it.
        #[test]
        fn no_output_shows_a_secret(report in canary_reports(), format in formats()) {
            for item in FindingsReader::new(report.as_bytes(), format) {
                match item {
                    Err(problem) => {
                        let shown = format!("{problem} {problem:?}");
                        prop_assert!(!shown.contains(CANARY), "{}", shown);
                    }
                    Ok(finding) => {
                        let shown = format!("{finding} {finding:?} {}", finding.location);
                        let secrets = [Some(&finding.secret), finding.paired_secret.as_ref()];
                        for secret in secrets.into_iter().flatten() {
                            let secret = secret.expose_secret();
                            // A key id that is the whole "secret" is public all the same.
                            if secret.len() >= 8 && finding.public_id.as_deref() != Some(secret) {
                                prop_assert!(!shown.contains(secret), "{} in {}", secret, shown);
                            }
                        }
                    }
                }
            }
        }

        /// Any bytes, any format: no panic, bounded memory, nothing after a
        /// final problem, and the same items however the bytes arrive.
        #[test]
        fn any_bytes_read_without_panicking_in_bounded_memory(
            bytes in proptest::collection::vec(any::<u8>(), 0..2048),
            format in formats(),
            limit in prop_oneof![Just(MAX_RECORD_BYTES), 0usize..64],
            step in 1usize..9,
        ) {
            let whole = outline(FindingsReader::new(&bytes[..], format).max_record_bytes(limit), limit)?;
            prop_assert!(whole.len() <= bytes.len() + 1);
            let trickled = BufReader::with_capacity(step, Trickle { data: &bytes, step });
            let pieces = outline(FindingsReader::new(trickled, format).max_record_bytes(limit), limit)?;
            prop_assert_eq!(whole, pieces);
        }

        /// Inputs made of JSON pieces reach the splitter's and parsers' corners.
        #[test]
        fn json_like_bytes_read_the_same_in_any_chunks(
            bytes in jsonish(),
            format in formats(),
            limit in prop_oneof![Just(MAX_RECORD_BYTES), 0usize..48],
            step in 1usize..7,
        ) {
            let whole = outline(FindingsReader::new(&bytes[..], format).max_record_bytes(limit), limit)?;
            let trickled = BufReader::with_capacity(step, Trickle { data: &bytes, step });
            let pieces = outline(FindingsReader::new(trickled, format).max_record_bytes(limit), limit)?;
            prop_assert_eq!(whole, pieces);
        }

        /// Valid reports of any secrets read back every secret, in order.
        #[test]
        fn valid_reports_round_trip(
            secrets in proptest::collection::vec(
                "[!-~]{1,40}".prop_filter("not what --redact writes", |s| s != "REDACTED" && !s.ends_with("...")),
                0..12,
            ),
            format in prop_oneof![Just(Format::TruffleHog), Just(Format::Gitleaks), Just(Format::GitHub)],
        ) {
            let records: Vec<serde_json::Value> = secrets
                .iter()
                .enumerate()
                .map(|(i, s)| match format {
                    Format::TruffleHog => json!({"DetectorName": "X", "Raw": s}),
                    Format::Gitleaks => json!({"RuleID": "r", "Secret": s, "StartLine": i}),
                    _ => json!({"number": i, "secret_type": "t", "secret": s}),
                })
                .collect();
            let report = match format {
                Format::TruffleHog => records.iter().map(|r| format!("{r}\n")).collect(),
                _ => serde_json::to_string_pretty(&records).unwrap(),
            };
            let read: Vec<String> = FindingsReader::new(report.as_bytes(), None)
                .map(|item| item.map(|f| expose(&f).to_owned()).map_err(|p| p.to_string()))
                .collect::<Result<_, _>>()
                .map_err(TestCaseError::fail)?;
            prop_assert_eq!(read, secrets);
        }
    }
}
