//! `revoker bulk` against a fault-injecting server: retries, concurrency and rate
//! limits, formats and bad lines, dry runs, kill and resume.

use std::collections::{BTreeMap, HashSet};
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value;
use support::fault_server::{Action, FaultServer, Latch};
use support::{
    DOLFIN_KEY, LANGWATCH_KEY, PINATA_JWT, bulk_line, read_jsonl, revoker, stderr, uuid,
};

fn dolfin_line(n: u64) -> String {
    bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(n))])
}

fn write(dir: &Path, name: &str, lines: &[String]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).unwrap();
    path
}

/// `revoker bulk` with every provider pointed at `server` and credentials set.
fn bulk(server: &FaultServer) -> assert_cmd::Command {
    let mut command = revoker();
    command
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("REVOKER_LANGWATCH_BASE_URL", server.uri())
        .env("REVOKER_PINATA_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .env("LANGWATCH_API_KEY", LANGWATCH_KEY)
        .env("PINATA_JWT", PINATA_JWT)
        .arg("bulk");
    command
}

/// How many lines a report being written holds so far (none if it is not
/// there yet).
fn reported_lines(report: &Path) -> usize {
    std::fs::read_to_string(report)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn by_line(report: &[Value]) -> BTreeMap<u64, &Value> {
    report
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r))
        .collect()
}

#[test]
fn transient_failures_are_retried_and_permanent_ones_reported() {
    // Line n revokes key uuid(n); each key meets its own fault.
    let server = FaultServer::start(|request| {
        let key = request
            .path
            .split('/')
            .nth(2)
            .unwrap_or_default()
            .to_owned();
        match (key.as_str(), request.attempt) {
            (k, 0) if k == uuid(1) => Action::status(429).header("Retry-After", "1"),
            (k, 0 | 1) if k == uuid(2) => Action::json(500, "{}"),
            (k, 0) if k == uuid(3) => Action::Close,
            // No answer within the 1 s timeout: none before the server stops.
            (k, 0) if k == uuid(4) => Action::status(204).after(Duration::from_secs(600)),
            (k, _) if k == uuid(5) => Action::json(404, r#"{"title":"ApiKey.NotFound"}"#),
            _ => Action::status(204),
        }
    });
    let dir = support::private_dir();
    let input = write(
        dir.path(),
        "keys.jsonl",
        &(1..=6).map(dolfin_line).collect::<Vec<_>>(),
    );
    let config = dir.path().join("revoker.toml");
    std::fs::write(&config, "[http]\nrequest_timeout_secs = 1\n").unwrap();
    let report = dir.path().join("report.jsonl");
    let output = bulk(&server)
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .arg("--config")
        .arg(&config)
        .arg("-v")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "a not-found fails the run: {}",
        stderr(&output)
    );

    let report = read_jsonl(&report);
    let lines = by_line(&report);
    assert_eq!(lines.len(), 6);
    let expect = [
        (1, "revoked", 2),
        (2, "revoked", 3),
        (3, "revoked", 2),
        (4, "revoked", 2),
        (5, "not-found", 1),
        (6, "revoked", 1),
    ];
    for (line, outcome, attempts) in expect {
        assert_eq!(
            lines[&line]["outcome"], outcome,
            "line {line}: {}",
            lines[&line]
        );
        assert_eq!(
            lines[&line]["attempts"], attempts,
            "line {line}: {}",
            lines[&line]
        );
    }
    // The 429 throttled the provider: the line is resent when the provider's
    // flow controller allows (it holds the provider for the Retry-After; the
    // hold itself is tested with paused time in `provider.rs`), with no
    // backoff of its own and no attempt used up (only key 1 is answered 429).
    let log = stderr(&output);
    let retries_after_429: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("retrying") && l.contains("status=429"))
        .collect();
    assert_eq!(retries_after_429.len(), 1, "{log}");
    assert!(
        retries_after_429[0].contains("throttled=true")
            && retries_after_429[0].contains("wait_ms=0"),
        "{}",
        retries_after_429[0]
    );
    let received = server.received();
    // Every key but the unknown one was revoked.
    for n in [1, 2, 3, 4, 6] {
        assert!(
            received.iter().any(|r| r.path.contains(&uuid(n))),
            "key {n} was sent"
        );
    }
    assert!(
        stderr(&output).contains("line 5: not-found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn not_found_can_count_as_done() {
    let server = FaultServer::start(|_| Action::json(404, "{}"));
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "keys.jsonl", &[dolfin_line(1)]);
    let output = bulk(&server)
        .arg(&input)
        .args(["--not-found", "ok"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn concurrency_is_never_exceeded() {
    let server = FaultServer::start(|_| Action::status(204).after(Duration::from_millis(30)));
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "keys.jsonl",
        &(1..=120).map(dolfin_line).collect::<Vec<_>>(),
    );
    let output = bulk(&server)
        .arg(&input)
        .args(["--concurrency", "6"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(server.received().len(), 120);
    let max = server.max_in_flight();
    assert!(max <= 6, "{max} requests were in flight at once");
    assert!(max >= 2, "the run was concurrent ({max})");
}

/// A server answering Dolfin revocations 204 and LangWatch ones as revoked.
fn dolfin_and_langwatch_server() -> FaultServer {
    FaultServer::start(|request| {
        if request.path.starts_with("/api/gateway") {
            Action::json(200, r#"{"virtual_key":{"status":"revoked"}}"#)
        } else {
            Action::status(204)
        }
    })
}

fn langwatch_line(n: u64) -> String {
    bulk_line(
        "langwatch",
        "revoke-virtual-key",
        &[("id", &format!("vk{n}"))],
    )
}

/// How many requests went to Dolfin and to LangWatch.
fn dolfin_and_langwatch_counts(server: &FaultServer) -> (usize, usize) {
    let received = server.received();
    let dolfin = received
        .iter()
        .filter(|r| r.path.starts_with("/api-keys"))
        .count();
    let langwatch = received
        .iter()
        .filter(|r| r.path.starts_with("/api/gateway"))
        .count();
    (dolfin, langwatch)
}

#[test]
fn a_provider_held_by_its_rate_sends_no_more_and_holds_up_no_other() {
    // At 1/h, one Dolfin request may go out in the test's lifetime: the
    // limit is seen in a count, not in a measured time.
    let server = dolfin_and_langwatch_server();
    let dir = tempfile::tempdir().unwrap();
    let mut lines: Vec<String> = (1..=5).map(dolfin_line).collect();
    lines.extend((1..=20).map(langwatch_line));
    let input = write(dir.path(), "keys.jsonl", &lines);
    let report = dir.path().join("report.jsonl");
    let mut child = std::process::Command::new(support::revoker_bin())
        .env_clear()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("REVOKER_LANGWATCH_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .env("LANGWATCH_API_KEY", LANGWATCH_KEY)
        .args([
            "bulk",
            "--yes",
            "--rate",
            "dolfin=1/h",
            "--concurrency",
            "4",
        ])
        .arg("--report")
        .arg(&report)
        .arg(&input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Every LangWatch key goes out while Dolfin's four others wait.
    support::wait_until("the LangWatch keys and Dolfin's first", || {
        let (dolfin, langwatch) = dolfin_and_langwatch_counts(&server);
        dolfin >= 1 && langwatch == 20
    });
    assert_eq!(
        dolfin_and_langwatch_counts(&server),
        (1, 20),
        "Dolfin at 1/h sent one request"
    );
    if let Some(status) = child.try_wait().unwrap() {
        panic!("the run ended ({status}) with four Dolfin lines waiting for their rate");
    }

    // Stopped, the waiting lines are left for the next run: none is let out.
    // SAFETY: sending SIGINT to our own child.
    unsafe { libc::kill(libc::pid_t::try_from(child.id()).unwrap(), libc::SIGINT) };
    let output = support::wait_with_output_within(child, "a run stopped under a 1/h rate");
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert_eq!(dolfin_and_langwatch_counts(&server), (1, 20));
    let reported: HashSet<u64> = read_jsonl(&report)
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    let expected: HashSet<u64> = std::iter::once(1).chain(6..=25).collect();
    assert_eq!(
        reported, expected,
        "the lines sent, and only those, are reported"
    );
}

#[test]
fn rate_is_kept_per_provider_without_holding_up_the_others() {
    let server = dolfin_and_langwatch_server();
    let dir = tempfile::tempdir().unwrap();
    // 30 Dolfin keys at 10/s, with 60 LangWatch keys (no limit) after them.
    let mut lines: Vec<String> = (1..=30).map(dolfin_line).collect();
    lines.extend((1..=60).map(langwatch_line));
    let input = write(dir.path(), "keys.jsonl", &lines);
    let output = bulk(&server)
        .arg(&input)
        .args(["--rate", "dolfin=10/s", "--concurrency", "8"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    // Every key was sent once: the lines held back by the rate went out too.
    let received = server.received();
    let mut dolfin: Vec<String> = received
        .iter()
        .filter(|r| r.path.starts_with("/api-keys"))
        .map(|r| dolfin_key(&r.path))
        .collect();
    dolfin.sort();
    let mut expected: Vec<String> = (1..=30).map(uuid).collect();
    expected.sort();
    assert_eq!(dolfin, expected);
    let langwatch: HashSet<&str> = received
        .iter()
        .filter(|r| r.path.starts_with("/api/gateway"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(langwatch.len(), 60);
    // LangWatch, after Dolfin in the input, did not wait for Dolfin's rate:
    // all of it arrived before Dolfin's last request.
    let position = |prefix: &str| received.iter().rposition(|r| r.path.starts_with(prefix));
    assert!(
        position("/api/gateway") < position("/api-keys"),
        "LangWatch's last request came after Dolfin's last: {:?}",
        received.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
}

#[test]
fn csv_and_jsonl_from_file_and_stdin_with_bad_lines_in_the_middle() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "keys.csv",
        &[
            "provider,operation,id".into(),
            format!("dolfin,revoke-api-key,{}", uuid(1)),
            "dolfin,revoke-api-key,not-a-uuid".into(),
            "dolfin,revoke-api-key".into(),
            format!("dolfin,revoke-api-key,{}", uuid(2)),
        ],
    );
    let huge = format!(
        "{{\"provider\":\"dolfin\",\"operation\":\"revoke-api-key\",\"params\":{{\"id\":\"{}\"}}}}",
        "x".repeat(200_000)
    );
    let jsonl_lines = vec![
        dolfin_line(3),
        "{oops".into(),
        huge,
        String::new(),
        dolfin_line(4),
    ];
    let jsonl = write(dir.path(), "keys.jsonl", &jsonl_lines);

    for (input, stdin) in [(&csv, false), (&csv, true), (&jsonl, false), (&jsonl, true)] {
        let report = dir.path().join("report.jsonl");
        let mut command = bulk(&server);
        command.arg("--report").arg(&report).arg("--yes");
        if stdin {
            command.arg("-").write_stdin(std::fs::read(input).unwrap());
        } else {
            command.arg(input);
        }
        let output = command.output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{input:?} stdin={stdin}: {}",
            stderr(&output)
        );
        let report = read_jsonl(&report);
        let lines = by_line(&report);
        let outcomes: Vec<(u64, &str)> = lines
            .iter()
            .map(|(l, r)| (*l, r["outcome"].as_str().unwrap()))
            .collect();
        if input == &csv {
            assert_eq!(
                outcomes,
                [
                    (2, "revoked"),
                    (3, "invalid-request"),
                    (4, "invalid-request"),
                    (5, "revoked")
                ]
            );
            assert!(lines[&3]["detail"].as_str().unwrap().contains("UUID"));
        } else {
            assert_eq!(
                outcomes,
                [
                    (1, "revoked"),
                    (2, "invalid-request"),
                    (3, "invalid-request"),
                    (5, "revoked")
                ]
            );
            assert!(
                lines[&3]["detail"]
                    .as_str()
                    .unwrap()
                    .contains("more than the 65536 allowed")
            );
            assert_eq!(lines[&2]["provider"], Value::Null);
        }
    }
}

#[test]
fn an_empty_input_is_a_successful_run_of_nothing() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.jsonl");
    std::fs::write(&input, "").unwrap();
    let output = bulk(&server)
        .arg(&input)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["summary"]["lines"], 0);
    assert!(server.received().is_empty());
}

#[test]
fn dry_run_plans_every_line_and_sends_nothing() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "keys.jsonl",
        &[dolfin_line(1), "{oops".into(), dolfin_line(2)],
    );
    let output = revoker()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .args(["bulk", "--dry-run", "--output", "json"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "a dry run lists bad lines, and succeeds"
    );
    let lines: Vec<Value> = support::stdout(&output)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "three lines and the summary");
    let planned: Vec<&Value> = lines.iter().filter(|l| l["dry_run"] == true).collect();
    assert_eq!(planned.len(), 2);
    assert_eq!(planned[0]["request"]["method"], "POST");
    assert_eq!(planned[0]["request"]["headers"][0][1], "<redacted>");
    assert!(
        lines
            .iter()
            .any(|l| l["line"] == 2 && l["outcome"] == "invalid-request")
    );
    assert_eq!(lines[3]["summary"]["planned"], 2);
    assert!(server.received().is_empty());
}

#[test]
fn a_missing_credential_stops_a_file_run_before_anything_is_sent() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "keys.jsonl", &[dolfin_line(1), dolfin_line(2)]);
    let output = revoker()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .arg("bulk")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("DOLFIN_API_KEY"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("2 lines"), "{}", stderr(&output));
    assert!(server.received().is_empty());
}

#[test]
fn a_journal_of_another_input_is_refused() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal");
    let first = write(dir.path(), "a.jsonl", &[dolfin_line(1)]);
    let second = write(dir.path(), "b.jsonl", &[dolfin_line(2)]);
    let run = |input: &Path| {
        bulk(&server)
            .arg(input)
            .arg("--journal")
            .arg(&journal)
            .output()
            .unwrap()
    };
    assert_eq!(run(&first).status.code(), Some(0));
    let output = run(&second);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("was written for input"),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.received().len(), 1);
    // The same input again: nothing left to do.
    let output = run(&first);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("1 settled by an earlier run"),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.received().len(), 1);
}

#[test]
fn killed_and_resumed_every_line_gets_exactly_one_outcome() {
    let server = FaultServer::start(|request| {
        if request.method == "POST" && request.path.starts_with("/v3/gateways/") {
            let id = request
                .path
                .split('/')
                .nth(3)
                .unwrap_or_default()
                .to_owned();
            Action::json(200, &format!(r#"{{"data":{{"id":"new-{id}","value":"secret-{id}","createdAt":"2026-01-01"}}}}"#))
                .after(Duration::from_millis(2))
        } else {
            Action::status(204).after(Duration::from_millis(2))
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let total = 3000u64;
    let lines: Vec<String> = (1..=total)
        .map(|n| {
            if n % 25 == 0 {
                bulk_line(
                    "pinata",
                    "create-gateway-key",
                    &[("gateway-id", &format!("gw{n}"))],
                )
            } else {
                dolfin_line(n)
            }
        })
        .collect();
    let input = write(dir.path(), "keys.jsonl", &lines);
    let (journal, report) = (dir.path().join("journal"), dir.path().join("report.jsonl"));
    let command = || {
        let mut command = std::process::Command::new(support::revoker_bin());
        command
            .env_clear()
            .env("REVOKER_DOLFIN_BASE_URL", server.uri())
            .env("REVOKER_PINATA_BASE_URL", server.uri())
            .env("DOLFIN_API_KEY", DOLFIN_KEY)
            .env("PINATA_JWT", PINATA_JWT)
            .args([
                "bulk",
                "--concurrency",
                "16",
                "--rate",
                "dolfin=1500/s",
                "--journal",
            ])
            .arg(&journal)
            .arg("--report")
            .arg(&report)
            .arg(&input)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };

    // Kill it twice, at different points, then let it finish.
    for kill_after in [600, 1800] {
        let mut child = command().spawn().unwrap();
        support::wait_until(&format!("{kill_after} lines reported"), || {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the run ended ({status}) before it could be killed at {kill_after} lines");
            }
            reported_lines(&report) >= kill_after
        });
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            reported_lines(&report) < total as usize,
            "killed at {kill_after} lines, the run had already finished"
        );
    }
    let mut last = command().spawn().unwrap();
    let status = support::wait_within(&mut last, "the resumed run");
    assert_eq!(
        status.code(),
        Some(1),
        "creates in doubt are failures (unknown)"
    );

    let report = read_jsonl(&report);
    let numbers: Vec<u64> = report.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    let unique: HashSet<u64> = numbers.iter().copied().collect();
    assert_eq!(numbers.len(), unique.len(), "no line is reported twice");
    assert_eq!(unique, (1..=total).collect(), "every line is reported");

    let received = server.received();
    let mut creates = BTreeMap::<String, usize>::new();
    for r in received
        .iter()
        .filter(|r| r.method == "POST" && r.path.starts_with("/v3/"))
    {
        *creates.entry(r.path.clone()).or_default() += 1;
    }
    assert!(
        creates.values().all(|n| *n == 1),
        "no create was sent twice: {creates:?}"
    );
    for r in &report {
        let line = r["line"].as_u64().unwrap();
        match r["outcome"].as_str().unwrap() {
            "revoked" => assert!(received.iter().any(|q| q.path.contains(&uuid(line)))),
            "created" => assert!(
                r["created"]["value"]
                    .as_str()
                    .unwrap()
                    .starts_with("secret-gw")
            ),
            "unknown" => assert_eq!(line % 25, 0, "only a create can be in doubt"),
            other => panic!("line {line}: {other}"),
        }
    }
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        !journal_text.contains("secret-gw"),
        "the journal never holds a created key's value"
    );
}

#[test]
fn dry_run_memory_stays_flat_on_a_large_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("large.jsonl");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    for n in 0..200_000u64 {
        writeln!(file, "{}", dolfin_line(n)).unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let child = std::process::Command::new(support::revoker_bin())
        .env_clear()
        .args(["bulk", "--dry-run", "-q"])
        .arg(&input)
        .arg("--report")
        .arg(dir.path().join("report.jsonl"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (code, max_rss_kib) = support::wait_with_max_rss(child);
    assert_eq!(code, Some(0));
    assert!(
        max_rss_kib < 64 * 1024,
        "peak RSS {max_rss_kib} KiB for 200,000 lines"
    );
}

#[test]
fn ctrl_c_stops_taking_lines_flushes_and_resumes() {
    // The first 20 requests are answered; those after, held until the run
    // has been interrupted: it cannot finish before the signal, however fast.
    let latch = Latch::new();
    let answered = AtomicUsize::new(0);
    let server = FaultServer::start({
        let latch = latch.clone();
        move |_| {
            let action = Action::status(204);
            if answered.fetch_add(1, Ordering::SeqCst) < 20 {
                action
            } else {
                action.held_until(&latch)
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "keys.jsonl",
        &(1..=400).map(dolfin_line).collect::<Vec<_>>(),
    );
    let (journal, report) = (dir.path().join("journal"), dir.path().join("report.jsonl"));
    let command = || {
        let mut command = std::process::Command::new(support::revoker_bin());
        command
            .env_clear()
            .env("REVOKER_DOLFIN_BASE_URL", server.uri())
            .env("DOLFIN_API_KEY", DOLFIN_KEY)
            .args(["bulk", "--concurrency", "4", "--journal"])
            .arg(&journal)
            .arg("--report")
            .arg(&report)
            .arg(&input)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        command
    };
    let mut child = command().spawn().unwrap();
    support::wait_until("20 lines reported", || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it could be interrupted");
        }
        reported_lines(&report) >= 20
    });
    let mut err = support::Watched::new(child.stderr.take().unwrap());
    // SAFETY: sending SIGINT to our own child.
    unsafe { libc::kill(libc::pid_t::try_from(child.id()).unwrap(), libc::SIGINT) };
    err.wait_for("stopping: finishing the requests in flight");
    latch.open();
    let status = support::wait_within(&mut child, "an interrupted run");
    let err = err.finish();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("stopped after"), "{err}");

    // The 20 answered, and at most the 4 in flight when it was stopped.
    let stopped_at = read_jsonl(&report).len();
    assert!(
        (20..=24).contains(&stopped_at),
        "it stopped at once ({stopped_at} lines)"
    );
    assert_eq!(
        server.received().len(),
        stopped_at,
        "every request sent was finished and reported"
    );

    let output = command().output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines: HashSet<u64> = read_jsonl(&report)
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines.len(), 400);
    assert_eq!(read_jsonl(&report).len(), 400);
    assert_eq!(server.received().len(), 400, "nothing was sent twice");
}

/// Runs `revoker bulk FILE` on a terminal (util-linux `script` gives it one),
/// typing `answer` at its prompt.
fn on_a_terminal(server: &FaultServer, input: &Path, answer: &str) -> (Option<i32>, String) {
    let (mut child, mut screen) = support::revoker_on_a_terminal(
        &format!("bulk {}", input.display()),
        "dumb",
        &[
            ("REVOKER_DOLFIN_BASE_URL", &server.uri()),
            ("DOLFIN_API_KEY", DOLFIN_KEY),
        ],
    );
    // Answer once the question is asked, not before.
    screen.wait_for("Proceed? [y/N]");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .expect("answer the prompt");
    let status = support::wait_within(&mut child, "revoker bulk after its prompt was answered");
    (status.code(), screen.finish())
}

#[test]
fn on_a_terminal_a_real_run_shows_its_plan_and_asks_first() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "keys.jsonl",
        &(1..=3).map(dolfin_line).collect::<Vec<_>>(),
    );

    let (code, screen) = on_a_terminal(&server, &input, "n\n");
    assert!(
        screen.contains("revoker bulk will send, for 3 of the input's 3 lines:"),
        "{screen}"
    );
    // Each operation with the host its requests go to.
    assert!(
        screen.contains("3  dolfin revoke-api-key  to 127.0.0.1"),
        "{screen}"
    );
    assert!(screen.contains("Proceed? [y/N]"), "{screen}");
    assert!(screen.contains("nothing sent"), "{screen}");
    assert_eq!(code, Some(4), "declining has its own exit code");
    assert!(server.received().is_empty(), "declined: nothing sent");

    let (code, screen) = on_a_terminal(&server, &input, "y\n");
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(server.received().len(), 3);
}

/// The key (uuid) a Dolfin revocation was for.
fn dolfin_key(path: &str) -> String {
    path.split('/').nth(2).unwrap_or_default().to_owned()
}

#[test]
fn a_re_run_sends_again_what_failed_and_exits_0_only_when_every_line_succeeded() {
    // The first run: keys 1 and 2 fail (a rate limit given up on, a misconfigured
    // server); the second run: the server is fixed.
    let fixed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = FaultServer::start({
        let fixed = std::sync::Arc::clone(&fixed);
        move |request| {
            let key = dolfin_key(&request.path);
            if fixed.load(std::sync::atomic::Ordering::SeqCst) {
                Action::status(204)
            } else if key == uuid(1) {
                Action::json(403, r#"{"title":"Forbidden"}"#)
            } else if key == uuid(2) {
                Action::json(401, r#"{"title":"Unauthorized"}"#)
            } else {
                Action::status(204)
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "keys.jsonl",
        &(1..=5).map(dolfin_line).collect::<Vec<_>>(),
    );
    let journal = dir.path().join("journal");
    let report = dir.path().join("report.jsonl");
    let run = || {
        bulk(&server)
            .arg(&input)
            .arg("--journal")
            .arg(&journal)
            .arg("--report")
            .arg(&report)
            .arg("--yes")
            .output()
            .unwrap()
    };
    assert_eq!(run().status.code(), Some(1));
    assert_eq!(server.received().len(), 5);

    // Re-run with the server unchanged: the two failures are sent again, and
    // the run still exits 1: two keys are live.
    let again = run();
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    let mut sent: Vec<String> = server
        .received()
        .iter()
        .skip(5)
        .map(|r| dolfin_key(&r.path))
        .collect();
    // Sent concurrently: in either order.
    sent.sort();
    assert_eq!(sent, [uuid(1), uuid(2)].map(|k| k.to_owned()).to_vec());

    // Fixed: the re-run sends those two only, and exits 0.
    fixed.store(true, std::sync::atomic::Ordering::SeqCst);
    let done = run();
    assert_eq!(done.status.code(), Some(0), "{}", stderr(&done));
    let mut last: Vec<String> = server
        .received()
        .iter()
        .skip(7)
        .map(|r| dolfin_key(&r.path))
        .collect();
    last.sort();
    assert_eq!(last, [uuid(1), uuid(2)].map(|k| k.to_owned()).to_vec());
    // A fourth run sends nothing and still says every line is done.
    assert_eq!(run().status.code(), Some(0));
    assert_eq!(server.received().len(), 9);
    // The report holds one line per input line, each a success.
    let lines = read_jsonl(&report);
    assert_eq!(lines.len(), 5, "{lines:?}");
    assert!(lines.iter().all(|l| l["outcome"] == "revoked"), "{lines:?}");
}

/// Runs `second` while `first` holds a file (its answers held on `latch`):
/// `second` must say `refused` on stderr; then `first` is let go and must
/// succeed. Returns what `second` printed.
fn refused_while_the_first_holds(
    second: &mut assert_cmd::Command,
    refused: &str,
    latch: &Latch,
    first: &mut std::process::Child,
) -> std::process::Output {
    // Not refused, it would wait for the held answers: fail, not hang.
    let second = second.timeout(support::PATIENCE).output().unwrap();
    assert!(stderr(&second).contains(refused), "{}", stderr(&second));
    latch.open();
    assert_eq!(support::wait_within(first, "the first run").code(), Some(0));
    second
}

#[test]
fn a_second_run_on_a_journal_in_use_is_refused_and_sends_nothing() {
    // The first run's answers are held until the second has been refused, so
    // the first is still running, holding the journal, when the second starts.
    let latch = Latch::new();
    let server = FaultServer::start({
        let latch = latch.clone();
        move |request| {
            if request.path.contains("access_tokens") {
                Action::json(
                    200,
                    r#"{"data":{"id":"new","value":"secret","createdAt":"2026-01-01"}}"#,
                )
                .held_until(&latch)
            } else {
                Action::status(204).held_until(&latch)
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<String> = (1..=40)
        .map(|n| {
            if n % 10 == 0 {
                bulk_line(
                    "pinata",
                    "create-gateway-key",
                    &[("gateway-id", &format!("g{n}"))],
                )
            } else {
                dolfin_line(n)
            }
        })
        .collect();
    let input = write(dir.path(), "keys.jsonl", &lines);
    let journal = dir.path().join("journal");
    let mut first = std::process::Command::new(support::revoker_bin())
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("REVOKER_PINATA_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .env("PINATA_JWT", PINATA_JWT)
        .args(["bulk", "--yes", "--concurrency", "2"])
        .arg(&input)
        .arg("--journal")
        .arg(&journal)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the first run is sending, so it holds the journal.
    support::wait_until("the first run to send", || !server.received().is_empty());
    let second = refused_while_the_first_holds(
        bulk(&server)
            .arg(&input)
            .arg("--journal")
            .arg(&journal)
            .arg("--yes"),
        "is in use by another run (held by process",
        &latch,
        &mut first,
    );
    assert_eq!(second.status.code(), Some(2), "{}", stderr(&second));
    // Every line was sent once, by the first run: no create doubled.
    let received = server.received();
    assert_eq!(received.len(), 40);
    let creates = received
        .iter()
        .filter(|r| r.path.contains("access_tokens"))
        .count();
    assert_eq!(creates, 4);
}

#[cfg(unix)]
#[test]
fn input_from_a_fifo_is_read_once_and_every_line_is_sent() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("keys.fifo");
    let path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    // The FIFO serves its lines once: a run that read its input twice (a
    // survey, then the run) would find it drained and send nothing.
    let writer = std::thread::spawn({
        let fifo = fifo.clone();
        move || {
            let mut file = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            for n in 1..=3u64 {
                writeln!(file, "{}", dolfin_line(n)).unwrap();
            }
        }
    });
    let output = bulk(&server)
        .arg(&fifo)
        .arg("--format")
        .arg("jsonl")
        .arg("--yes")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let mut sent: Vec<String> = server
        .received()
        .iter()
        .map(|r| dolfin_key(&r.path))
        .collect();
    sent.sort();
    assert_eq!(sent, (1..=3).map(uuid).collect::<Vec<_>>());
    writer.join().unwrap();
}

#[test]
fn an_empty_input_is_a_warning() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.jsonl");
    std::fs::write(&input, "").unwrap();
    let output = bulk(&server).arg(&input).arg("--yes").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("warning: the input"),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("holds no lines"),
        "{}",
        stderr(&output)
    );
    assert!(server.received().is_empty());
}

#[test]
fn the_same_revocation_on_several_lines_is_sent_once_and_every_line_gets_its_outcome() {
    // Key 2 is revoked at once; key 3 is not found (its duplicates fail too).
    let server = FaultServer::start(|request| {
        if request.path.contains(&uuid(3)) {
            Action::json(404, r#"{"title":"ApiKey.NotFound"}"#)
        } else {
            Action::status(204).after(Duration::from_millis(50))
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let create = bulk_line("pinata", "create-gateway-key", &[("gateway-id", "g1")]);
    let lines = [
        dolfin_line(1),
        dolfin_line(2),
        dolfin_line(2),
        dolfin_line(3),
        // The same request, written differently: the same key.
        format!(
            r#"{{"params":{{"id":"{}"}},"operation":"revoke-api-key","provider":"dolfin"}}"#,
            uuid(2)
        ),
        dolfin_line(3),
        // Each create creates a key of its own: both are sent.
        create.clone(),
        create,
    ];
    let input = write(dir.path(), "keys.jsonl", &lines);

    // The dry run lists the duplicates and sends nothing.
    let dry = bulk(&server)
        .arg(&input)
        .args(["--dry-run", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let planned: Vec<Value> = support::stdout(&dry)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let duplicates: BTreeMap<u64, u64> = planned
        .iter()
        .filter_map(|p| Some((p["line"].as_u64()?, p.get("duplicate_of")?.as_u64()?)))
        .collect();
    assert_eq!(duplicates, BTreeMap::from([(3, 2), (5, 2), (6, 4)]));
    assert!(server.received().is_empty());

    let report = dir.path().join("report.jsonl");
    let output = bulk(&server)
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .arg("--yes")
        .output()
        .unwrap();
    // Key 3 was not revoked: the run is not a success, on any of its lines.
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let received = server.received();
    let sent = |key: u64| {
        received
            .iter()
            .filter(|r| r.path.contains(&uuid(key)))
            .count()
    };
    assert_eq!((sent(1), sent(2), sent(3)), (1, 1, 1), "{received:?}");
    assert_eq!(
        received
            .iter()
            .filter(|r| r.path.contains("access_tokens"))
            .count(),
        2
    );
    let report = read_jsonl(&report);
    let lines = by_line(&report);
    assert_eq!(lines.len(), 8);
    for (line, outcome) in [
        (1, "revoked"),
        (2, "revoked"),
        (3, "revoked"),
        (5, "revoked"),
    ] {
        assert_eq!(lines[&line]["outcome"], outcome, "line {line}");
    }
    assert_eq!(lines[&4]["outcome"], "not-found");
    assert_eq!(lines[&6]["outcome"], "not-found");
    for (line, first) in [(3, 2), (5, 2), (6, 4)] {
        let detail = lines[&line]["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("same request as line {first}")),
            "line {line}: {detail}"
        );
    }
}

#[test]
fn a_byte_order_mark_does_not_cost_the_first_key() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "keys.jsonl",
            format!("\u{feff}{}\n{}\n", dolfin_line(1), dolfin_line(2)),
        ),
        (
            "keys.csv",
            format!(
                "\u{feff}provider,operation,id\ndolfin,revoke-api-key,{}\n",
                uuid(3)
            ),
        ),
    ] {
        let input = dir.path().join(name);
        std::fs::write(&input, text).unwrap();
        let output = bulk(&server).arg(&input).arg("--yes").output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{name}: {}", stderr(&output));
    }
    let mut paths: Vec<String> = server.received().into_iter().map(|r| r.path).collect();
    paths.sort();
    assert_eq!(
        paths,
        [1, 2, 3]
            .map(|n| format!("/api-keys/{}/revoke", uuid(n)))
            .to_vec()
    );
}

#[test]
fn a_csv_column_no_operation_takes_is_one_error_before_anything_is_sent() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("keys.csv");
    let rows: String = (1..=50)
        .map(|n| format!("dolfin,revoke-api-key,{}\n", uuid(n)))
        .collect();
    std::fs::write(&input, format!("provider,operation,key_id\n{rows}")).unwrap();
    for dry_run in [false, true] {
        let mut command = bulk(&server);
        command.arg(&input).arg("--yes");
        if dry_run {
            command.arg("--dry-run");
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        let stderr = stderr(&output);
        assert!(
            stderr.contains(r#"column "key_id" that no operation of dolfin takes"#),
            "{stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "one error, not one a line: {stderr}"
        );
    }
    assert!(server.received().is_empty());
}

/// `revoker` with every provider at `server`, writing files of at most
/// `limit` bytes (`ulimit -f`).
#[cfg(unix)]
fn with_file_size_limit(server: &FaultServer, limit: u64) -> std::process::Command {
    use std::os::unix::process::CommandExt as _;
    let mut command = std::process::Command::new(support::revoker_bin());
    command
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY);
    // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
    unsafe {
        command.pre_exec(move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

#[cfg(unix)]
#[test]
fn a_required_audit_log_that_cannot_grow_stops_the_run_with_nothing_sent_unrecorded() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let audit_arg = audit.to_str().unwrap();
    // An earlier run's entries, so the log is larger than the input.
    let earlier = write(
        dir.path(),
        "earlier.jsonl",
        &(1000..1030).map(dolfin_line).collect::<Vec<_>>(),
    );
    let output = bulk(&server)
        .args(["--audit", audit_arg])
        .arg(&earlier)
        .arg("--yes")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let entries_before = support::read_jsonl(&audit).len();
    let before = std::fs::metadata(&audit).unwrap().len();
    let received_before = server.received().len();

    // Room for a few more entries, not for 50 requests' worth.
    let input = write(
        dir.path(),
        "keys.jsonl",
        &(1..=50).map(dolfin_line).collect::<Vec<_>>(),
    );
    let output = with_file_size_limit(&server, before + 1500)
        .args(["--audit", audit_arg, "--audit-required", "bulk", "--yes"])
        .args(["--concurrency", "4"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("cannot write the audit log {audit_arg}")),
        "{}",
        stderr(&output)
    );
    let sent: Vec<String> = server.received()[received_before..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(!sent.is_empty() && sent.len() < 50, "{} sent", sent.len());
    // Every request that went out has its `sending` entry, and the log is whole.
    let verify = revoker()
        .args(["audit", "verify", audit_arg])
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    let entries = support::read_jsonl(&audit);
    let recorded: Vec<String> = entries[entries_before..]
        .iter()
        .filter(|e| e["outcome"] == "sending")
        .map(|e| format!("/api-keys/{}/revoke", e["params"]["id"].as_str().unwrap()))
        .collect();
    for path in &sent {
        assert!(recorded.contains(path), "{path} was sent unrecorded");
    }

    // A single operation with no room at all sends nothing.
    let size = std::fs::metadata(&audit).unwrap().len();
    let received = server.received().len();
    let output = with_file_size_limit(&server, size)
        .args(["--audit", audit_arg, "--audit-required"])
        .args(["dolfin", "revoke-api-key", "--id", &uuid(99)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert_eq!(server.received().len(), received);

    // With room again, the log is appended to and still verifies.
    let output = bulk(&server)
        .args(["--audit", audit_arg, "--audit-required"])
        .arg(&input)
        .arg("--yes")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let verify = revoker()
        .args(["audit", "verify", audit_arg])
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
}

#[cfg(unix)]
#[test]
fn input_from_process_substitution_is_read_once_and_every_line_is_sent() {
    let server = FaultServer::start(|_| Action::status(204));
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "keys.jsonl",
        &(1..=20).map(dolfin_line).collect::<Vec<_>>(),
    );
    let journal = dir.path().join("journal");
    // `<(…)` hands revoker a /dev/fd path to a pipe that can be read only once.
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#"exec "$0" bulk <(cat "$1") --yes --journal "$2""#)
        .arg(support::revoker_bin())
        .arg(&input)
        .arg(&journal)
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let mut paths: Vec<String> = server.received().into_iter().map(|r| r.path).collect();
    paths.sort();
    let mut expected: Vec<String> = (1..=20)
        .map(|n| format!("/api-keys/{}/revoke", uuid(n)))
        .collect();
    expected.sort();
    assert_eq!(paths, expected);
}

#[test]
fn a_second_run_on_an_audit_log_in_use_is_refused_and_sends_nothing() {
    // Held until the second run has been refused: the first still holds the log.
    let latch = Latch::new();
    let server = FaultServer::start({
        let latch = latch.clone();
        move |_| Action::status(204).held_until(&latch)
    });
    let dir = tempfile::tempdir().unwrap();
    let first_input = write(
        dir.path(),
        "first.jsonl",
        &(1..=20).map(dolfin_line).collect::<Vec<_>>(),
    );
    let second_input = write(
        dir.path(),
        "second.jsonl",
        &(101..=110).map(dolfin_line).collect::<Vec<_>>(),
    );
    let audit = dir.path().join("audit.jsonl");
    let mut first = std::process::Command::new(support::revoker_bin())
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .arg("--audit")
        .arg(&audit)
        .args(["bulk", "--yes", "--concurrency", "2"])
        .arg(&first_input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    support::wait_until("the first run to send", || !server.received().is_empty());
    let second = refused_while_the_first_holds(
        bulk(&server)
            .arg("--audit")
            .arg(&audit)
            .arg(&second_input)
            .arg("--yes"),
        "in use by another run (held by process",
        &latch,
        &mut first,
    );
    assert_ne!(second.status.code(), Some(0), "{}", stderr(&second));
    // Only the first run's keys were sent, and its chain is whole.
    let received = server.received();
    assert_eq!(received.len(), 20);
    assert!(
        received
            .iter()
            .all(|r| (101..=110).all(|n| !r.path.contains(&uuid(n)))),
        "{received:?}"
    );
    let verify = revoker()
        .args(["audit", "verify"])
        .arg(&audit)
        .output()
        .unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    assert!(support::stdout(&verify).contains("20 entries, intact"));
}
