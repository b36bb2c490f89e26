//! The `github` plugin and batched operations: GitHub tokens revoked by their
//! value, up to 1,000 a request, with no credential, against a local stand-in
//! for `POST /credentials/revoke` that enforces the documented rules (no
//! `Authorization`, at most 1,000 credentials, 202, 422 for a malformed batch,
//! a request-per-window limit answered 403 with `x-ratelimit-remaining: 0`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::fault_server::{Action, FaultServer, Latch, Received};
use support::{
    bulk_line, private_dir, read_jsonl, revoker, revoker_bin, stderr, stdout, wait_until,
};

/// A made-up token of the classic kind: the documented prefix, then a body
/// that is not the shape of a real one.
fn token(n: usize) -> String {
    format!("ghp_made-up-{n:08}")
}

/// What the stand-in saw.
#[derive(Debug, Default)]
struct Seen {
    /// How many times each credential arrived in an accepted batch.
    accepted: HashMap<String, u32>,
    /// The size of each request's batch, in arrival order (refused ones too).
    batches: Vec<usize>,
    /// Requests answered 403 for the window.
    throttled: u32,
    /// Requests that carried an `Authorization` header.
    authorized: u32,
}

/// A stand-in for GitHub's endpoint: `per_window` requests, then 403 with
/// `x-ratelimit-remaining: 0` for every request until `window` after the
/// last of them (the reset), then `per_window` more; a 422 for a batch holding a
/// credential containing `BAD` or more than 1,000; 202 otherwise, with
/// `x-ratelimit-*` on every answer if `announce`, else only on the 403.
fn github_server(
    per_window: u32,
    window: Duration,
    announce: bool,
) -> (FaultServer, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = Arc::clone(&seen);
    // Requests taken since the last block, and until when it blocks.
    let limit = Mutex::new((0_u32, None::<SystemTime>));
    let epoch = |at: SystemTime| {
        let secs = at.duration_since(UNIX_EPOCH).unwrap();
        // Whole seconds, rounded up: never before the block ends.
        (secs.as_secs() + u64::from(secs.subsec_nanos() > 0)).to_string()
    };
    let server = FaultServer::start(move |request: &Received| {
        let mut seen = state.lock().unwrap();
        if request.method != "POST" || request.path != "/credentials/revoke" {
            return Action::status(404);
        }
        if request.headers.contains_key("authorization") {
            seen.authorized += 1;
            return Action::json(403, r#"{"message":"Must not be authenticated"}"#);
        }
        let now = SystemTime::now();
        let mut limit = limit.lock().unwrap();
        if let Some(until) = limit.1 {
            if now < until {
                seen.throttled += 1;
                return Action::json(403, r#"{"message":"API rate limit exceeded"}"#)
                    .header("x-ratelimit-limit", &per_window.to_string())
                    .header("x-ratelimit-remaining", "0")
                    .header("x-ratelimit-reset", &epoch(until));
            }
            *limit = (0, None);
        }
        limit.0 += 1;
        let remaining = per_window - limit.0;
        let until = now + window;
        if remaining == 0 {
            // The window's last request: the next ones wait for its reset.
            limit.1 = Some(until);
        }
        let reset = epoch(until);
        let body: serde_json::Value = match serde_json::from_slice(&request.body) {
            Ok(body) => body,
            Err(_) => return Action::json(422, r#"{"message":"Problems parsing JSON"}"#),
        };
        let Some(credentials) = body["credentials"].as_array() else {
            return Action::json(422, r#"{"message":"Validation Failed"}"#);
        };
        seen.batches.push(credentials.len());
        let credentials: Vec<&str> = credentials.iter().filter_map(|c| c.as_str()).collect();
        if credentials.is_empty()
            || credentials.len() > 1000
            || credentials.iter().any(|c| c.contains("BAD"))
        {
            return Action::json(422, r#"{"message":"Validation Failed"}"#)
                .header("x-ratelimit-remaining", &remaining.to_string());
        }
        for credential in credentials {
            *seen.accepted.entry(credential.to_owned()).or_default() += 1;
        }
        if !announce {
            return Action::status(202);
        }
        Action::status(202)
            .header("x-ratelimit-limit", &per_window.to_string())
            .header("x-ratelimit-remaining", &remaining.to_string())
            .header("x-ratelimit-reset", &reset)
    });
    (server, seen)
}

/// Writes the bulk input for `tokens` and returns its path.
fn input(dir: &Path, tokens: &[String]) -> std::path::PathBuf {
    let path = dir.join("tokens.jsonl");
    let lines: Vec<String> = tokens
        .iter()
        .map(|t| bulk_line("github", "revoke-credential", &[("credential", t)]))
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Every file under `dir`, as text.
fn files_in(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path()).unwrap();
            (
                e.path().display().to_string(),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        })
        .collect()
}

#[test]
fn thousands_of_tokens_go_in_batches_of_at_most_1000_with_no_authorization_and_none_is_kept() {
    // Two requests, then a window to wait out, announced only once met: the
    // third request (2,500 tokens take three at least) meets the 403.
    let (server, seen) = github_server(2, Duration::from_secs(5), false);
    let work = private_dir();
    let tokens: Vec<String> = (0..2500).map(token).collect();
    let input = input(work.path(), &tokens);
    let report = work.path().join("report.jsonl");
    let journal = work.path().join("journal.jsonl");
    let output = revoker()
        .env("REVOKER_GITHUB_BASE_URL", server.uri())
        // Whatever credential is about, none is sent to this endpoint.
        .env("GITHUB_TOKEN", "made-up-own-token")
        .env("GH_TOKEN", "made-up-own-token")
        .args(["bulk", "--yes", "--rate", "github=100/s"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .arg("--journal")
        .arg(&journal)
        .output()
        .unwrap();
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(0), "{out}\n{err}");

    let seen = seen.lock().unwrap();
    assert_eq!(seen.authorized, 0, "no Authorization header");
    assert_eq!(seen.accepted.len(), 2500, "every token arrived");
    assert!(seen.accepted.values().all(|&n| n == 1), "each exactly once");
    assert!(
        seen.batches.iter().all(|&n| n <= 1000),
        "{:?}",
        seen.batches
    );
    // Three full batches at best; a line is never held back long for others
    // (a slow start of the input may send a small first batch).
    assert!(
        seen.batches.len() <= 6,
        "a few requests, not one a token: {:?}",
        seen.batches
    );
    assert_eq!(
        seen.batches.iter().sum::<usize>(),
        2500,
        "{:?}",
        seen.batches
    );
    assert!(seen.throttled >= 1, "the window was met, and waited out");

    let report = read_jsonl(&report);
    assert_eq!(report.len(), 2500);
    assert!(
        report.iter().all(|r| r["outcome"] == "accepted"),
        "accepted by GitHub, not called revoked"
    );
    assert!(err.contains("accepted"), "{err}");
    // Each line is named by its token's fingerprint, never by its value: the
    // same in every record, and another for each token.
    let names: std::collections::HashSet<&str> = report
        .iter()
        .map(|r| r["params"]["credential"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2500, "one fingerprint a token");
    assert!(
        names.iter().all(|n| n.starts_with("<redacted sha256:")),
        "{names:?}"
    );
    // No token anywhere: terminal, report, journal.
    let mut shown = vec![("stdout".to_owned(), out), ("stderr".to_owned(), err)];
    shown.extend(
        files_in(work.path())
            .into_iter()
            .filter(|(p, _)| !p.ends_with("tokens.jsonl")),
    );
    for (place, text) in &shown {
        for t in tokens.iter().step_by(97) {
            assert!(!text.contains(t.as_str()), "a token in {place}");
        }
        assert!(!text.contains("ghp_made-up-"), "a token in {place}");
    }
}

#[test]
fn an_announced_quota_is_kept_to_with_no_throttled_answer() {
    // One request a window of 2 s, announced on every answer.
    let (server, seen) = github_server(1, Duration::from_secs(2), true);
    let work = private_dir();
    let tokens: Vec<String> = (0..2500).map(token).collect();
    let input = input(work.path(), &tokens);
    let output = revoker()
        .env("REVOKER_GITHUB_BASE_URL", server.uri())
        .args(["bulk", "--yes", "--rate", "github=100/s"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.accepted.len(), 2500);
    assert!(seen.batches.len() >= 3, "{:?}", seen.batches);
    // Before the first answer nothing is known: the first two batches may go
    // together, and one of them be throttled. Once told, the run keeps to it.
    assert!(
        seen.throttled <= 1,
        "it waited for the reset it was told of: {} throttled",
        seen.throttled
    );
}

#[test]
fn one_malformed_token_fails_only_its_own_line() {
    let (server, seen) = github_server(1000, Duration::from_secs(60), true);
    let work = private_dir();
    let mut tokens: Vec<String> = (0..40).map(token).collect();
    // Past the plugin's format check, refused by the server.
    tokens[17] = "ghp_made-up-BAD".to_owned();
    let input = input(work.path(), &tokens);
    let report = work.path().join("report.jsonl");
    let audit = work.path().join("audit.jsonl");
    let output = revoker()
        .env("REVOKER_GITHUB_BASE_URL", server.uri())
        .arg("--audit")
        .arg(&audit)
        .args(["bulk", "--yes", "--rate", "github=100/s"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    // The audit log has one final outcome a line: a refused batch that was
    // split is an attempt retried, not 40 lines invalid.
    let entries = read_jsonl(&audit);
    let invalid = entries
        .iter()
        .filter(|e| e["outcome"] == "invalid-request")
        .count();
    assert_eq!(invalid, 1, "{entries:?}");
    let accepted = entries
        .iter()
        .filter(|e| e["outcome"] == "accepted")
        .count();
    assert_eq!(accepted, 39);
    assert!(entries.iter().any(|e| e["outcome"] == "retried"));
    let log = std::fs::read_to_string(&audit).unwrap();
    assert!(!log.contains("ghp_made-up-"), "no token in the audit log");
    let report = read_jsonl(&report);
    assert_eq!(report.len(), 40);
    for result in &report {
        let expected = if result["line"] == 18 {
            "invalid-request"
        } else {
            "accepted"
        };
        assert_eq!(result["outcome"], expected, "{result}");
    }
    let seen = seen.lock().unwrap();
    assert_eq!(seen.accepted.len(), 39, "every good token arrived");
    assert!(seen.accepted.values().all(|&n| n == 1), "each once");
    assert!(!seen.accepted.contains_key("ghp_made-up-BAD"));
    // Narrowed down by halves: about 2·log2(40) requests, not 40.
    assert!(seen.batches.len() <= 14, "{:?}", seen.batches);
    assert!(!err.contains("ghp_made-up-"), "{err}");
}

#[test]
fn a_token_of_no_documented_kind_is_invalid_and_never_sent() {
    let (server, seen) = github_server(1000, Duration::from_secs(60), true);
    let work = private_dir();
    let tokens = [token(1), "glpat-made-up-000001".to_owned(), token(2)];
    let input = input(work.path(), &tokens);
    let report = work.path().join("report.jsonl");
    let output = revoker()
        .env("REVOKER_GITHUB_BASE_URL", server.uri())
        .args(["bulk", "--yes", "--rate", "github=100/s"])
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(1), "{err}");
    let report = read_jsonl(&report);
    let outcome = |line: u64| {
        report
            .iter()
            .find(|r| r["line"] == line)
            .map(|r| r["outcome"].as_str().unwrap().to_owned())
    };
    assert_eq!(outcome(2).as_deref(), Some("invalid-request"));
    assert_eq!(outcome(1).as_deref(), Some("accepted"));
    assert_eq!(outcome(3).as_deref(), Some("accepted"));
    let seen = seen.lock().unwrap();
    assert!(!seen.accepted.contains_key("glpat-made-up-000001"));
    assert_eq!(seen.batches, [2], "the two good ones in one request");
    for text in [&out, &err] {
        assert!(!text.contains("glpat-made-up"), "{text}");
    }
}

#[test]
fn a_resume_after_kill_9_resends_only_the_batch_that_was_in_flight() {
    // The first batch is answered; the second is held until the kill.
    let latch = Latch::new();
    let held = latch.clone();
    let received = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
    let log = Arc::clone(&received);
    let server = FaultServer::start(move |request: &Received| {
        let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let batch: Vec<String> = body["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        let mut log = log.lock().unwrap();
        log.push(batch);
        if log.len() == 2 {
            Action::status(202).held_until(&held)
        } else {
            Action::status(202)
        }
    });
    let work = private_dir();
    let tokens: Vec<String> = (0..2000).map(token).collect();
    let input = input(work.path(), &tokens);
    let journal = work.path().join("journal.jsonl");
    let run = || {
        let mut command = std::process::Command::new(revoker_bin());
        command
            .env_clear()
            .env("REVOKER_GITHUB_BASE_URL", server.uri())
            .args([
                "bulk",
                "--yes",
                "--rate",
                "github=100/s",
                "--concurrency",
                "1",
            ])
            .arg(&input)
            .arg("--journal")
            .arg(&journal)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        command
    };
    let mut first = run().spawn().unwrap();
    let journaled = || {
        std::fs::read_to_string(&journal)
            .map(|j| j.matches("\"accepted\"").count())
            .unwrap_or(0)
    };
    // The first batch answered and on disk, the second in flight.
    wait_until("the first batch journaled and the second in flight", || {
        received.lock().unwrap().len() == 2 && journaled() > 0
    });
    let first_batch = received.lock().unwrap()[0].clone();
    wait_until("every line of the first batch journaled", || {
        journaled() == first_batch.len()
    });
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    latch.open();
    let in_flight = received.lock().unwrap()[1].clone();

    let output = run().output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let log = received.lock().unwrap();
    let resent: Vec<&String> = log[2..].iter().flatten().collect();
    let mut resent_sorted: Vec<&String> = resent.clone();
    resent_sorted.sort();
    let mut expected: Vec<&String> = tokens.iter().filter(|t| !first_batch.contains(t)).collect();
    expected.sort();
    assert_eq!(
        resent_sorted, expected,
        "the resumed run sent every token the first did not finish, once each"
    );
    assert!(
        in_flight.iter().all(|t| resent.contains(&t)),
        "the batch in flight at the kill was sent again"
    );
    assert!(
        first_batch.iter().all(|t| !resent.contains(&t)),
        "no finished token was sent again"
    );
}
