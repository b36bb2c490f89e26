//! Auth kinds end to end: the example plugins for HTTP Basic and OAuth 2.0
//! client credentials, built out of tree as their authors would, and a plugin
//! with no auth, driven through the real binary against local servers. Each
//! test asserts what the server received, and that no secret reached any
//! output.
//!
//! That a host older than plugin API 1.2 refuses these plugins is the unit test
//! `a_manifest_with_another_auth_kind_is_refused_by_older_hosts` in
//! crates/plugin-api/src/export.rs; here, the manifest they export.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use support::fault_server::{Action, FaultServer, Received};
use support::{
    PluginDir, build_out_of_tree, bulk_line, fixture_file, read_jsonl, revoker, stderr, stdout,
    stdout_json,
};

use crate::third_party::copy_out;

/// Made-up Twilly credential parts; none is real.
const SID: &str = "AC5ef8732a3c49700934481addd5ce1659";
const AUTH_TOKEN: &str = "made-up-twilly-auth-token-77d1";
/// `base64("{SID}:{AUTH_TOKEN}")`, worked out apart from the host.
const SID_TOKEN_BASE64: &str =
    "QUM1ZWY4NzMyYTNjNDk3MDA5MzQ0ODFhZGRkNWNlMTY1OTptYWRlLXVwLXR3aWxseS1hdXRoLXRva2VuLTc3ZDE=";

/// Made-up AcmeAuth client credentials.
const CLIENT_ID: &str = "acme-client-made-up";
const CLIENT_SECRET: &str = "made-up-client-secret-9f3c";
/// `base64("{CLIENT_ID}:{CLIENT_SECRET}")`.
const CLIENT_BASE64: &str = "YWNtZS1jbGllbnQtbWFkZS11cDptYWRlLXVwLWNsaWVudC1zZWNyZXQtOWYzYw==";

/// The plugin file `name` of the example at `relative`, built (and its own
/// tests run) out of tree, as its author would, once for all the tests here.
fn example_plugin(cell: &'static OnceLock<PathBuf>, relative: &str, name: &str) -> &'static Path {
    cell.get_or_init(|| {
        let crate_dir = copy_out(relative);
        build_out_of_tree(crate_dir.path(), true).join(format!("librevoker_{name}.so"))
    })
}

fn twilly_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    example_plugin(&FILE, "examples/plugin-basic-auth", "twilly")
}

fn acmeauth_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    example_plugin(&FILE, "examples/plugin-oauth2", "acmeauth")
}

fn twilly_plugins() -> PluginDir {
    PluginDir::new().with(twilly_file(), "twilly")
}

fn acmeauth_plugins() -> PluginDir {
    PluginDir::new().with(acmeauth_file(), "acmeauth")
}

/// The pairs of an `application/x-www-form-urlencoded` body, decoded.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// Fails if any of `texts` holds any of `secrets`.
fn assert_none_holds(texts: &[(&str, String)], secrets: &[&str]) {
    for (what, text) in texts {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} holds {secret:?}:\n{text}");
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn authorization(request: &Received) -> Option<&str> {
    request.headers.get("authorization").map(String::as_str)
}

/// A Twilly server: 204 for a key of the made-up account with the made-up
/// credential, 404 for key `SKgone`, 401 for any other credential.
fn twilly_server() -> FaultServer {
    FaultServer::start(|request| {
        let expected = format!("Basic {SID_TOKEN_BASE64}");
        if authorization(request) != Some(expected.as_str()) {
            return Action::json(401, r#"{"code":20003,"message":"Authenticate"}"#);
        }
        if request.path.contains("/Keys/SKgone.json") {
            Action::json(404, r#"{"code":20404,"message":"not found"}"#)
        } else {
            Action::status(204)
        }
    })
}

#[test]
fn basic_auth_sends_the_parts_encoded_and_fills_the_account_from_the_public_part() {
    let plugins = twilly_plugins();
    let server = twilly_server();
    let work = tempfile::tempdir().unwrap();
    let run = |token: &str, args: &[&str]| {
        revoker()
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("TWILLY_ACCOUNT_SID", SID)
            .env("TWILLY_AUTH_TOKEN", token)
            .env("REVOKER_TWILLY_BASE_URL", server.uri())
            .args(args)
            .output()
            .unwrap()
    };
    let mut outputs = Vec::new();

    // `describe` says where the account comes from, not that it is required.
    let output = run(AUTH_TOKEN, &["describe", "twilly"]);
    let described = stdout(&output);
    assert!(
        described.contains("--account-sid <string> (default: the credential's user part)"),
        "{described}"
    );
    assert!(
        described.contains("--key-sid <string> (required)"),
        "{described}"
    );
    assert!(
        !described.contains(AUTH_TOKEN) && !described.contains(SID),
        "{described}"
    );

    // The request names the key only: the account is the credential's user.
    for isolate in [&[][..], &["--isolate"]] {
        let output = run(
            AUTH_TOKEN,
            &[
                isolate,
                &[
                    "twilly",
                    "revoke-api-key",
                    "--key-sid",
                    "SK1",
                    "--output",
                    "json",
                ],
            ]
            .concat(),
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let result = stdout_json(&output);
        assert_eq!(result["outcome"], "revoked", "{result}");
        assert_eq!(result["params"]["account-sid"], SID, "{result}");
        outputs.push(output);
    }
    let received = server.received();
    assert_eq!(received.len(), 2);
    for request in &received {
        assert_eq!(request.method, "DELETE");
        assert_eq!(
            request.path,
            format!("/2010-04-01/Accounts/{SID}/Keys/SK1.json")
        );
        assert_eq!(
            authorization(request),
            Some(format!("Basic {SID_TOKEN_BASE64}").as_str())
        );
    }

    // A bulk run of key SIDs only, verbose, with a report, a journal and an
    // audit log: revoked, revoked, not found; the token is nowhere.
    let input = work.path().join("keys.jsonl");
    std::fs::write(
        &input,
        ["SK1", "SK2", "SKgone"]
            .map(|key| bulk_line("twilly", "revoke-api-key", &[("key-sid", key)]) + "\n")
            .concat(),
    )
    .unwrap();
    let (report, journal, audit) = (
        work.path().join("report.jsonl"),
        work.path().join("journal"),
        work.path().join("audit.jsonl"),
    );
    let output = run(
        AUTH_TOKEN,
        &[
            "-vv",
            "--audit",
            audit.to_str().unwrap(),
            "bulk",
            "--yes",
            input.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let mut outcomes: Vec<_> = read_jsonl(&report)
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [(1, "revoked"), (2, "revoked"), (3, "not-found")].map(|(l, o)| (l, o.to_owned()))
    );
    let paths: Vec<_> = server.received()[2..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    for key in ["SK1", "SK2", "SKgone"] {
        let path = format!("/2010-04-01/Accounts/{SID}/Keys/{key}.json");
        assert!(paths.contains(&path), "{path} not in {paths:?}");
    }
    assert!(read(&audit).contains(SID), "the public part is shown");
    outputs.push(output);

    // A dry run shows the header's kind, never its value, and sends nothing.
    let before = server.received().len();
    for format in ["human", "json"] {
        let output = run(
            AUTH_TOKEN,
            &[
                "twilly",
                "revoke-api-key",
                "--key-sid",
                "SK1",
                "--dry-run",
                "--output",
                format,
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(
            stdout(&output).contains("Basic <redacted>"),
            "{}",
            stdout(&output)
        );
        assert!(stdout(&output).contains(SID), "{}", stdout(&output));
        outputs.push(output);
    }

    // A wrong token: the provider's 401 is the line's outcome.
    let output = run(
        "made-up-wrong-token",
        &[
            "twilly",
            "revoke-api-key",
            "--key-sid",
            "SK3",
            "--output",
            "json",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout_json(&output)["outcome"], "unauthorized");
    assert_eq!(server.received().len(), before + 1);

    let mut texts = vec![
        ("the report", read(&report)),
        ("the journal", read(&journal)),
        ("the audit log", read(&audit)),
    ];
    for output in &outputs {
        texts.push(("stdout", stdout(output)));
        texts.push(("stderr", stderr(output)));
    }
    assert_none_holds(&texts, &[AUTH_TOKEN, SID_TOKEN_BASE64]);
}

#[test]
fn a_missing_basic_part_fails_before_anything_is_sent_naming_the_part_and_its_variable() {
    let plugins = twilly_plugins();
    let server = twilly_server();
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("keys.jsonl");
    std::fs::write(
        &input,
        bulk_line("twilly", "revoke-api-key", &[("key-sid", "SK1")]) + "\n",
    )
    .unwrap();
    for args in [
        &["twilly", "revoke-api-key", "--key-sid", "SK1"][..],
        &["bulk", "--yes", input.to_str().unwrap()],
    ] {
        let output = revoker()
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("TWILLY_ACCOUNT_SID", SID)
            .env("REVOKER_TWILLY_BASE_URL", server.uri())
            .args(args)
            .output()
            .unwrap();
        // Exit 3: a missing credential, nothing sent (README, exit codes).
        assert_eq!(
            output.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&output)
        );
        let error = stderr(&output);
        assert!(
            error.contains("password (set TWILLY_AUTH_TOKEN)"),
            "{args:?}: {error}"
        );
        assert!(
            !error.contains("user ("),
            "the user part was found: {error}"
        );
    }
    assert!(server.received().is_empty());
}

/// An AcmeAuth server: its token endpoint gives the tokens `issue` names
/// (token, expires_in) for each fetch in turn, the last one for any after;
/// its API takes any token it gave, unless `refused` (given the token and
/// the number of the API call, from 0) says otherwise.
struct AcmeAuth {
    server: FaultServer,
}

impl AcmeAuth {
    fn start(
        issue: &'static [(&'static str, &'static str)],
        refused: impl Fn(&str, usize) -> bool + Send + Sync + 'static,
    ) -> Self {
        let fetches = AtomicUsize::new(0);
        let calls = AtomicUsize::new(0);
        let issued = Mutex::new(Vec::<String>::new());
        let server = FaultServer::start(move |request| {
            if request.path == "/oauth/token" {
                let n = fetches.fetch_add(1, Ordering::SeqCst);
                let (token, expires_in) = issue[n.min(issue.len() - 1)];
                issued.lock().unwrap().push(token.to_owned());
                return Action::json(
                    200,
                    &format!(
                        r#"{{"access_token":"{token}","token_type":"Bearer","expires_in":{expires_in}}}"#
                    ),
                );
            }
            let call = calls.fetch_add(1, Ordering::SeqCst);
            let token = authorization(request)
                .and_then(|a| a.strip_prefix("Bearer "))
                .unwrap_or_default();
            if issued.lock().unwrap().iter().any(|t| t == token) && !refused(token, call) {
                Action::status(204)
            } else {
                Action::json(401, r#"{"error":"invalid_token"}"#)
            }
        });
        Self { server }
    }

    fn token_requests(&self) -> Vec<Received> {
        self.server
            .received()
            .into_iter()
            .filter(|r| r.path == "/oauth/token")
            .collect()
    }

    fn api_requests(&self) -> Vec<Received> {
        self.server
            .received()
            .into_iter()
            .filter(|r| r.path != "/oauth/token")
            .collect()
    }
}

fn acmeauth(plugins: &PluginDir, server: &FaultServer) -> assert_cmd::Command {
    let mut command = revoker();
    command
        .arg("--plugin-dir")
        .arg(plugins.path())
        .env("ACMEAUTH_CLIENT_ID", CLIENT_ID)
        .env("ACMEAUTH_CLIENT_SECRET", CLIENT_SECRET)
        .env("REVOKER_ACMEAUTH_BASE_URL", server.uri());
    command
}

fn keys_file(dir: &Path, keys: impl IntoIterator<Item = String>) -> PathBuf {
    let input = dir.join("keys.jsonl");
    let lines: String = keys
        .into_iter()
        .map(|key| bulk_line("acmeauth", "revoke-key", &[("id", &key)]) + "\n")
        .collect();
    std::fs::write(&input, lines).unwrap();
    input
}

#[test]
fn oauth2_fetches_one_token_for_a_bulk_run_and_sends_it_as_bearer() {
    const TOKEN: &str = "made-up-access-token-one-3b7e";
    let plugins = acmeauth_plugins();
    let acme = AcmeAuth::start(&[(TOKEN, "3600")], |_, _| false);
    let work = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();

    // A dry run shows the token's kind and fetches none.
    let output = acmeauth(&plugins, &acme.server)
        .args(["acmeauth", "revoke-key", "--id", "k0", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("Bearer <redacted> (an OAuth2 client-credentials token)"),
        "{}",
        stdout(&output)
    );
    assert!(acme.server.received().is_empty());
    outputs.push(output);

    const KEYS: usize = 12;
    let input = keys_file(work.path(), (1..=KEYS).map(|n| format!("k{n}")));
    let (report, journal, audit) = (
        work.path().join("report.jsonl"),
        work.path().join("journal"),
        work.path().join("audit.jsonl"),
    );
    let output = acmeauth(&plugins, &acme.server)
        .args(["-vv", "--audit", audit.to_str().unwrap(), "bulk", "--yes"])
        .arg(&input)
        .args(["--concurrency", "4", "--report", report.to_str().unwrap()])
        .args(["--journal", journal.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = read_jsonl(&report);
    assert_eq!(results.len(), KEYS);
    assert!(
        results.iter().all(|r| r["outcome"] == "revoked"),
        "{results:?}"
    );
    outputs.push(output);

    // One token for the whole run, asked for as RFC 6749 §4.4 has it.
    let tokens = acme.token_requests();
    assert_eq!(tokens.len(), 1, "the token is cached: {tokens:?}");
    let token_request = &tokens[0];
    assert_eq!(token_request.method, "POST");
    assert_eq!(
        form_pairs(&token_request.body),
        [
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("scope".to_owned(), "keys:revoke".to_owned()),
        ]
    );
    assert_eq!(
        token_request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        authorization(token_request),
        Some(format!("Basic {CLIENT_BASE64}").as_str())
    );
    // Every API call carries it, and only the API calls do.
    let calls = acme.api_requests();
    assert_eq!(calls.len(), KEYS);
    for call in &calls {
        assert_eq!(call.method, "POST");
        assert!(
            call.path.starts_with("/v1/keys/k") && call.path.ends_with("/revoke"),
            "{}",
            call.path
        );
        assert_eq!(
            authorization(call),
            Some(format!("Bearer {TOKEN}").as_str())
        );
    }

    let mut texts = vec![
        ("the report", read(&report)),
        ("the journal", read(&journal)),
        ("the audit log", read(&audit)),
    ];
    for output in &outputs {
        texts.push(("stdout", stdout(output)));
        texts.push(("stderr", stderr(output)));
    }
    assert_none_holds(&texts, &[TOKEN, CLIENT_SECRET, CLIENT_ID, CLIENT_BASE64]);
}

#[test]
fn an_expired_oauth2_token_is_renewed_and_no_key_is_lost() {
    // The first token expires at once (its life is a nanosecond: expired
    // before any other request can use it); the second lasts an hour. No
    // clock is read here: whatever the timing, the second request needs a
    // new token, and the rest reuse it.
    const FIRST: &str = "made-up-access-token-short-1";
    const SECOND: &str = "made-up-access-token-long-2";
    let plugins = acmeauth_plugins();
    let acme = AcmeAuth::start(&[(FIRST, "0.000000001"), (SECOND, "3600")], |_, _| false);
    let work = tempfile::tempdir().unwrap();
    const KEYS: usize = 6;
    let input = keys_file(work.path(), (1..=KEYS).map(|n| format!("k{n}")));
    let report = work.path().join("report.jsonl");
    let output = acmeauth(&plugins, &acme.server)
        .args(["bulk", "--yes", "--concurrency", "3"])
        .arg(&input)
        .args(["--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let results = read_jsonl(&report);
    assert_eq!(results.len(), KEYS);
    assert!(
        results.iter().all(|r| r["outcome"] == "revoked"),
        "{results:?}"
    );
    assert_eq!(acme.token_requests().len(), 2);
    let bearers: Vec<_> = acme
        .api_requests()
        .iter()
        .map(|r| authorization(r).unwrap().to_owned())
        .collect();
    assert_eq!(bearers.len(), KEYS, "each key sent once: {bearers:?}");
    let with = |token: &str| {
        bearers
            .iter()
            .filter(|b| **b == format!("Bearer {token}"))
            .count()
    };
    assert_eq!((with(FIRST), with(SECOND)), (1, KEYS - 1), "{bearers:?}");
    let shown = stdout(&output) + &stderr(&output) + &read(&report);
    assert_none_holds(&[("the output", shown)], &[FIRST, SECOND, CLIENT_SECRET]);
}

#[test]
fn an_oauth2_token_the_api_stops_taking_is_replaced_and_the_key_sent_again() {
    // The provider rotates: after two calls, it refuses the first token
    // (before it said it would expire) and gives a second.
    const FIRST: &str = "made-up-access-token-rotated-1";
    const SECOND: &str = "made-up-access-token-rotated-2";
    let plugins = acmeauth_plugins();
    let acme = AcmeAuth::start(&[(FIRST, "3600"), (SECOND, "3600")], |token, call| {
        token == FIRST && call >= 2
    });
    let work = tempfile::tempdir().unwrap();
    const KEYS: usize = 5;
    let input = keys_file(work.path(), (1..=KEYS).map(|n| format!("k{n}")));
    let report = work.path().join("report.jsonl");
    // One at a time, so that one call only is refused the first token (the
    // key sent again may go after the next ones).
    let output = acmeauth(&plugins, &acme.server)
        .args(["bulk", "--yes", "--concurrency", "1"])
        .arg(&input)
        .args(["--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    let results = read_jsonl(&report);
    assert!(
        results.iter().all(|r| r["outcome"] == "revoked"),
        "no key is lost: {results:?}\n{}",
        stderr(&output)
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(acme.token_requests().len(), 2);
    // Two calls took the first token, the third was refused it and sent
    // again with the second, which the other two took.
    let calls: Vec<_> = acme
        .api_requests()
        .iter()
        .map(|r| (r.path.clone(), authorization(r).unwrap().to_owned()))
        .collect();
    assert_eq!(calls.len(), KEYS + 1, "{calls:?}");
    let bearer = |token: &str| format!("Bearer {token}");
    let first: Vec<_> = calls.iter().filter(|(_, b)| *b == bearer(FIRST)).collect();
    assert_eq!(first.len(), 3, "{calls:?}");
    let again = &first[2].0;
    let sends: Vec<_> = calls.iter().filter(|(p, _)| p == again).collect();
    assert_eq!(
        sends,
        [
            &(again.clone(), bearer(FIRST)),
            &(again.clone(), bearer(SECOND))
        ],
        "{calls:?}"
    );
    for n in 1..=KEYS {
        let path = format!("/v1/keys/k{n}/revoke");
        assert!(
            calls.iter().any(|c| c == &(path.clone(), bearer(SECOND)))
                || first[..2].iter().any(|(p, _)| *p == path),
            "k{n} was not revoked with a token the API took: {calls:?}"
        );
    }
    let line = results
        .iter()
        .find(|r| format!("/v1/keys/{}/revoke", r["params"]["id"].as_str().unwrap()) == *again)
        .unwrap();
    assert_eq!(line["attempts"], 2, "{line}");
    let shown = stdout(&output) + &stderr(&output) + &read(&report);
    assert_none_holds(&[("the output", shown)], &[FIRST, SECOND, CLIENT_SECRET]);
}

#[test]
fn a_token_endpoint_refusing_the_client_makes_each_line_unauthorized_and_sends_no_api_request() {
    let plugins = acmeauth_plugins();
    let server = FaultServer::start(|request| {
        if request.path == "/oauth/token" {
            Action::json(401, r#"{"error":"invalid_client"}"#)
        } else {
            Action::status(204)
        }
    });
    let work = tempfile::tempdir().unwrap();
    let input = keys_file(work.path(), ["k1".to_owned(), "k2".to_owned()]);
    let report = work.path().join("report.jsonl");
    let bulk = acmeauth(&plugins, &server)
        .args(["-vv", "bulk", "--yes"])
        .arg(&input)
        .args(["--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(bulk.status.code(), Some(1), "{}", stderr(&bulk));
    let results = read_jsonl(&report);
    assert_eq!(results.len(), 2);
    for result in &results {
        assert_eq!(result["outcome"], "unauthorized", "{result}");
        assert!(
            result["detail"]
                .as_str()
                .is_some_and(|d| d.contains("invalid_client")),
            "{result}"
        );
    }
    let single = acmeauth(&plugins, &server)
        .args(["acmeauth", "revoke-key", "--id", "k3", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(single.status.code(), Some(1), "{}", stderr(&single));
    assert_eq!(stdout_json(&single)["outcome"], "unauthorized");

    let received = server.received();
    assert!(!received.is_empty());
    assert!(
        received.iter().all(|r| r.path == "/oauth/token"),
        "an API request went out: {received:?}"
    );
    assert_none_holds(
        &[
            ("bulk stdout", stdout(&bulk)),
            ("bulk stderr", stderr(&bulk)),
            ("stdout", stdout(&single)),
            ("stderr", stderr(&single)),
            ("the report", read(&report)),
        ],
        &[CLIENT_SECRET, CLIENT_ID, CLIENT_BASE64],
    );
}

#[test]
fn auth_none_sends_no_authorization_whatever_is_set() {
    let plugins = PluginDir::new().with(&fixture_file("no-auth"), "openkeys");
    let server = FaultServer::start(|_| Action::status(204));
    let run = |args: &[&str]| {
        revoker()
            .arg("--plugin-dir")
            .arg(plugins.path())
            .env("REVOKER_OPENKEYS_BASE_URL", server.uri())
            // The variable its manifest names, and one any tool might read.
            .env("OPENKEYS_TOKEN", "made-up-openkeys-token")
            .env("GITHUB_TOKEN", "made-up-github-token")
            .args(args)
            .output()
            .unwrap()
    };
    let output = run(&["openkeys", "revoke-key", "--id", "k1", "--output", "json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout_json(&output)["outcome"], "revoked");
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("keys.jsonl");
    std::fs::write(
        &input,
        bulk_line("openkeys", "revoke-key", &[("id", "k2")]) + "\n",
    )
    .unwrap();
    let output = run(&["bulk", "--yes", input.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let received = server.received();
    assert_eq!(received.len(), 2);
    for request in &received {
        assert_eq!(authorization(request), None, "{request:?}");
        assert!(
            !request.headers.values().any(|v| v.contains("made-up-")),
            "{request:?}"
        );
    }

    // A dry run shows no credential header; a plugin that plans one is
    // refused, and nothing is sent.
    let output = run(&["openkeys", "revoke-key", "--id", "k1", "--dry-run"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        !stdout(&output)
            .to_ascii_lowercase()
            .contains("authorization"),
        "{}",
        stdout(&output)
    );
    let output = run(&[
        "openkeys",
        "revoke-key-sneaky",
        "--id",
        "k1",
        "--output",
        "json",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let result = stdout_json(&output);
    assert_eq!(result["outcome"], "plugin-error", "{result}");
    assert_eq!(result["attempts"], 0, "{result}");
    assert_eq!(server.received().len(), 2);

    let output = run(&["providers", "--json"]);
    let providers = stdout_json(&output);
    let openkeys = providers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "openkeys")
        .unwrap();
    assert_eq!(openkeys["auth"]["kind"], "none");
    assert_eq!(openkeys["auth"]["parts"], serde_json::json!([]));
}

#[test]
fn the_examples_export_their_auth_kind_in_their_manifest() {
    let dir = PluginDir::new()
        .with(twilly_file(), "twilly")
        .with(acmeauth_file(), "acmeauth");
    let output = revoker()
        .arg("--plugin-dir")
        .arg(dir.path())
        .args(["providers", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let providers = stdout_json(&output);
    let find = |name: &str| {
        providers
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["provider"] == name)
            .unwrap_or_else(|| panic!("{name} not loaded: {providers}"))
            .clone()
    };
    let twilly = find("twilly");
    assert_eq!(twilly["plugin_api"], "1.3.0");
    assert_eq!(twilly["auth"]["kind"], "basic");
    assert_eq!(
        twilly["auth"]["parts"],
        serde_json::json!([
            {"name": "user", "env": "TWILLY_ACCOUNT_SID", "secret": false, "required": true},
            {"name": "password", "env": "TWILLY_AUTH_TOKEN", "secret": true, "required": true},
        ])
    );
    assert_eq!(twilly["credential_set"], false);
    let acmeauth = find("acmeauth");
    assert_eq!(acmeauth["plugin_api"], "1.3.0");
    assert_eq!(acmeauth["auth"]["kind"], "oauth2-client-credentials");
    assert_eq!(
        acmeauth["auth"]["settings"],
        serde_json::json!({"token-path": "/oauth/token", "scope": "keys:revoke"})
    );
    let envs: Vec<_> = acmeauth["auth"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["env"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(envs, ["ACMEAUTH_CLIENT_ID", "ACMEAUTH_CLIENT_SECRET"]);
}
