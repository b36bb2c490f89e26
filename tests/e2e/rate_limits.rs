//! `revoker bulk` with no `--rate` against a provider whose limit nobody told
//! it: a token bucket on the server that answers 429 (with `Retry-After`,
//! bare, or with `X-RateLimit-*` headers). Every key must be revoked, with
//! `--max-attempts 1` (so a 429 that used up an attempt would lose its key),
//! and the number of 429s must stay bounded. Counts and outcomes only: no
//! test here measures time.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::fault_server::{Action, FaultServer, Received};
use support::{DOLFIN_KEY, bulk_line, read_jsonl, revoker, stderr, uuid};

/// How the server says a request is over its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    /// 429 with `Retry-After: N`.
    RetryAfter(u32),
    /// A bare 429.
    Bare,
    /// `X-RateLimit-Limit/Remaining/Reset` on every answer, 429 when empty.
    XRateLimit,
}

/// What the server saw: keys revoked (2xx), and 429s sent.
#[derive(Debug, Default)]
struct Tally {
    revoked: HashSet<String>,
    throttled: u64,
}

/// A token bucket: `rate` a second, at most `burst` at once.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn admit(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A Dolfin server limited to `rate` requests a second (burst `burst`),
/// signalling the limit as `signal`.
fn limited_server(rate: f64, burst: f64, signal: Signal) -> (FaultServer, Arc<Mutex<Tally>>) {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let bucket = Mutex::new(Bucket {
        rate,
        burst,
        tokens: burst,
        last: Instant::now(),
    });
    let server = FaultServer::start({
        let tally = Arc::clone(&tally);
        move |request: &Received| {
            let key = request
                .path
                .split('/')
                .nth(2)
                .unwrap_or_default()
                .to_owned();
            let mut bucket = bucket.lock().unwrap();
            let admitted = bucket.admit();
            let mut tally = tally.lock().unwrap();
            let mut action = if admitted {
                tally.revoked.insert(key);
                Action::status(204)
            } else {
                tally.throttled += 1;
                Action::json(429, r#"{"title":"TooManyRequests"}"#)
            };
            match signal {
                Signal::RetryAfter(secs) if !admitted => {
                    action = action.header("Retry-After", &secs.to_string());
                }
                Signal::RetryAfter(_) | Signal::Bare => {}
                Signal::XRateLimit => {
                    let reset = ((bucket.burst - bucket.tokens) / bucket.rate).ceil();
                    action = action
                        .header("X-RateLimit-Limit", &format!("{}", bucket.burst as u64))
                        .header(
                            "X-RateLimit-Remaining",
                            &format!("{}", bucket.tokens.floor() as u64),
                        )
                        .header("X-RateLimit-Reset", &format!("{reset}"));
                }
            }
            action
        }
    });
    (server, tally)
}

fn write_keys(dir: &Path, keys: u64) -> std::path::PathBuf {
    let path = dir.join("keys.jsonl");
    let lines: Vec<String> = (1..=keys)
        .map(|n| bulk_line("dolfin", "revoke-api-key", &[("id", &uuid(n))]))
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// Runs `revoker bulk` over `keys` keys against `server` with no `--rate` and
/// `--max-attempts 1`; the exit code and the report, by line.
fn run(server: &FaultServer, keys: u64, extra: &[&str]) -> (Option<i32>, BTreeMap<u64, Value>) {
    let dir = tempfile::tempdir().unwrap();
    let input = write_keys(dir.path(), keys);
    let report = dir.path().join("report.jsonl");
    let output = revoker()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .arg("bulk")
        .arg(&input)
        .arg("--report")
        .arg(&report)
        .args(["--max-attempts", "1", "--yes"])
        .args(extra)
        .output()
        .unwrap();
    let lines = read_jsonl(&report)
        .into_iter()
        .map(|line| (line["line"].as_u64().unwrap(), line))
        .collect();
    let code = output.status.code();
    assert!(
        !stderr(&output).contains(DOLFIN_KEY),
        "the credential never reaches stderr"
    );
    (code, lines)
}

/// Requests in flight at once (revoker's default): the first flight goes out
/// before any answer says anything about the limit.
const CONCURRENCY: u64 = 32;

/// Every key revoked, with `--max-attempts 1`; at most `max_429` 429s; the
/// report's `throttled` counts add up to what the server sent. The server
/// allows 50 requests a second, a second's worth at once.
fn no_key_lost(signal: Signal, max_429: u64) {
    const KEYS: u64 = 150;
    let (server, tally) = limited_server(50.0, 50.0, signal);
    let (code, lines) = run(&server, KEYS, &[]);
    let tally = tally.lock().unwrap();
    assert_eq!(code, Some(0), "{signal:?}: {lines:?}");
    assert_eq!(
        tally.revoked.len() as u64,
        KEYS,
        "{signal:?}: every key revoked"
    );
    assert_eq!(lines.len() as u64, KEYS);
    for (line, result) in &lines {
        assert_eq!(
            result["outcome"], "revoked",
            "{signal:?} line {line}: {result}"
        );
        let attempts = result["attempts"].as_u64().unwrap();
        let throttled = result["throttled"].as_u64().unwrap();
        assert_eq!(
            attempts,
            throttled + 1,
            "{signal:?} line {line}: every send but the last was throttled: {result}"
        );
    }
    let reported: u64 = lines
        .values()
        .map(|r| r["throttled"].as_u64().unwrap())
        .sum();
    assert_eq!(
        reported, tally.throttled,
        "{signal:?}: the report counts every 429"
    );
    assert!(
        tally.throttled <= max_429,
        "{signal:?}: {} 429s for {KEYS} keys (at most {max_429})",
        tally.throttled
    );
    eprintln!("{signal:?}: {KEYS} keys, {} 429s", tally.throttled);
    // Nothing was sent twice once revoked.
    assert_eq!(server.received().len() as u64, KEYS + tally.throttled);
}

#[test]
fn a_limit_signalled_by_retry_after_loses_no_key() {
    // At most the first flight's worth of 429s, twice: not one storm per
    // Retry-After.
    no_key_lost(Signal::RetryAfter(1), 2 * CONCURRENCY);
}

#[test]
fn a_limit_signalled_by_a_bare_429_loses_no_key() {
    no_key_lost(Signal::Bare, 2 * CONCURRENCY);
}

#[test]
fn an_announced_quota_is_kept_to() {
    // Only requests sent before the first answer announced the quota may be
    // throttled; after that the remaining count paces the run.
    no_key_lost(Signal::XRateLimit, CONCURRENCY);
}

#[test]
fn a_provider_that_only_throttles_is_given_up_on_after_the_patience() {
    const KEYS: u64 = 20;
    // A bucket that never refills past its first request.
    let (server, tally) = limited_server(1e-9, 1.0, Signal::Bare);
    let (code, lines) = run(&server, KEYS, &["--give-up-after", "2"]);
    let tally = tally.lock().unwrap();
    assert_eq!(code, Some(1));
    assert_eq!(tally.revoked.len(), 1);
    let limited: Vec<&Value> = lines
        .values()
        .filter(|r| r["outcome"] == "rate-limited")
        .collect();
    assert_eq!(limited.len() as u64, KEYS - 1, "{lines:?}");
    for result in &limited {
        let detail = result["detail"].as_str().unwrap();
        assert!(
            detail.contains("no progress") && detail.contains("the next run"),
            "{detail}"
        );
    }
    // Slowed down rather than hammered: fewer 429s than two per key.
    assert!(tally.throttled < 2 * KEYS, "{} 429s", tally.throttled);
}

#[test]
fn ctrl_c_stops_requests_waiting_for_a_held_provider() {
    const KEYS: u64 = 100;
    // One request gets through; every other is asked to wait a minute.
    let (server, tally) = limited_server(1e-9, 1.0, Signal::RetryAfter(60));
    let dir = tempfile::tempdir().unwrap();
    let input = write_keys(dir.path(), KEYS);
    let report = dir.path().join("report.jsonl");
    let mut child = std::process::Command::new(support::revoker_bin())
        .env_clear()
        .env("REVOKER_DOLFIN_BASE_URL", server.uri())
        .env("DOLFIN_API_KEY", DOLFIN_KEY)
        .args(["bulk", "--yes", "--journal"])
        .arg(dir.path().join("journal"))
        .arg("--report")
        .arg(&report)
        .arg(&input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first flight has been answered and nothing more comes:
    // slow start lets two requests go, and the success may let one or two
    // more out before the first 429 is read; from then on the provider is
    // held, and every other line waits for it.
    let settled = || {
        let tally = tally.lock().unwrap();
        let received = server.received().len() as u64;
        (tally.revoked.len() == 1 && tally.throttled >= 1 && received == tally.throttled + 1)
            .then_some(received)
    };
    let mut last = None;
    let deadline = std::time::Instant::now() + support::PATIENCE;
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the first flight never settled: {} received",
            server.received().len()
        );
        let now = settled();
        if now.is_some() && now == last {
            break;
        }
        last = now;
        std::thread::sleep(Duration::from_millis(200));
    }
    let sent_before = server.received().len();
    // SAFETY: sending SIGINT to our own child.
    unsafe { libc::kill(libc::pid_t::try_from(child.id()).unwrap(), libc::SIGINT) };
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    // Stopped, not given up after the hold: had the waiting lines not been
    // stopped, they would have been sent again after the hold.
    assert_eq!(status.code(), Some(130), "{err}");
    assert_eq!(
        server.received().len(),
        sent_before,
        "nothing sent after Ctrl-C"
    );
    let lines = read_jsonl(&report);
    assert_eq!(
        lines.len(),
        1,
        "only the revoked key is reported: {lines:?}"
    );
    assert_eq!(lines[0]["outcome"], "revoked");
}

/// Runs `keys` Dolfin keys against `server` through the library, as an
/// embedder would: every event before the summary, and the summary.
fn embedded_run(
    server: &FaultServer,
    keys: u64,
) -> (
    Vec<revoker_host::bulk::JobEvent>,
    revoker_host::bulk::Summary,
) {
    use futures_util::StreamExt as _;
    use revoker_host::bulk::{BulkJob, InputSource, JobEvent, JobSpec};

    let dir = tempfile::tempdir().unwrap();
    let input = write_keys(dir.path(), keys);
    let host = revoker_host::Host::builder()
        .plugin_dir(support::target_dir())
        .base_url("dolfin", &server.uri())
        .credential("dolfin", DOLFIN_KEY.to_owned().into())
        .max_attempts(1)
        .build()
        .unwrap();
    let job = BulkJob::prepare(&host, JobSpec::new(InputSource::File(input))).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut seen = Vec::new();
        let mut events = std::pin::pin!(job.run());
        while let Some(event) = events.next().await {
            match event {
                JobEvent::Done(summary) => return (seen, summary),
                event => seen.push(event),
            }
        }
        panic!("the job ends with its summary");
    })
}

#[test]
fn an_embedder_gets_pace_events_and_the_summary_counts_the_throttles() {
    use revoker_host::bulk::JobEvent;

    const KEYS: u64 = 60;
    // A small burst: the first flight is throttled.
    let (server, tally) = limited_server(50.0, 5.0, Signal::Bare);
    let (events, summary) = embedded_run(&server, KEYS);
    let paces: Vec<_> = events
        .into_iter()
        .filter_map(|event| match event {
            JobEvent::Pace { provider, status } => Some((provider, status)),
            _ => None,
        })
        .collect();
    let tally = tally.lock().unwrap();
    assert!(summary.all_succeeded(), "{}", summary.to_human());
    assert_eq!(tally.revoked.len() as u64, KEYS);
    assert!(
        tally.throttled > 0,
        "the small burst throttled the first flight"
    );
    let dolfin = &summary.providers["dolfin"];
    assert_eq!(dolfin.throttled, tally.throttled);
    assert!(dolfin.flow.is_some_and(|flow| flow.rate.is_some()));
    assert!(
        summary.to_human().contains("held at about"),
        "{}",
        summary.to_human()
    );
    assert!(!paces.is_empty());
    assert!(
        paces
            .iter()
            .all(|(provider, status)| provider == "dolfin" && status.throttled > 0)
    );
}

#[test]
fn an_embedder_is_told_of_a_hold_while_it_lasts_not_only_when_a_line_ends() {
    use revoker_host::bulk::JobEvent;

    // One request in two seconds: the second key is throttled and the provider held.
    let (server, tally) = limited_server(0.5, 1.0, Signal::RetryAfter(2));
    let (events, summary) = embedded_run(&server, 2);
    assert!(summary.all_succeeded(), "{}", summary.to_human());
    let events: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            JobEvent::Pace { status, .. } => Some(("pace", status.held_for.is_some())),
            JobEvent::Finished { .. } => Some(("finished", false)),
            _ => None,
        })
        .collect();
    assert_eq!(tally.lock().unwrap().revoked.len(), 2);
    assert!(tally.lock().unwrap().throttled > 0);
    let held = events
        .iter()
        .position(|e| *e == ("pace", true))
        .unwrap_or_else(|| panic!("a pace event during the hold: {events:?}"));
    let last = events.iter().rposition(|e| e.0 == "finished").unwrap();
    assert!(
        held < last,
        "told of the hold before the held line ended: {events:?}"
    );
}
