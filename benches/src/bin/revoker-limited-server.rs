//! A local Dolfin-like server with a rate limit its clients are not told, for
//! `benches/rate_limits.sh`: a token bucket of LIMIT requests a second holding
//! BURST at most (default: one second's worth); a request over the limit gets
//! a 429, signalled as STYLE:
//!
//! - `retry-after`: `Retry-After: 1`;
//! - `bare`: nothing else;
//! - `x-ratelimit`: `X-RateLimit-Limit/Remaining/Reset` on every answer;
//! - `ietf`: `RateLimit-Policy` and `RateLimit` on every answer.
//!
//! `GET /stats` answers `{"revoked":…,"ok":…,"throttled":…}`: distinct keys
//! revoked, 2xx answers, 429 answers.
//!
//! `revoker-limited-server PORT LIMIT STYLE [BURST]`

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    RetryAfter,
    Bare,
    XRateLimit,
    Ietf,
}

#[derive(Debug)]
struct State {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    style: Style,
    revoked: HashSet<String>,
    ok: u64,
    throttled: u64,
}

impl State {
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

    fn answer(&mut self, path: &str) -> Response<Full<Bytes>> {
        if path == "/stats" {
            let body = format!(
                r#"{{"revoked":{},"ok":{},"throttled":{}}}"#,
                self.revoked.len(),
                self.ok,
                self.throttled
            );
            return Response::new(Full::new(Bytes::from(body)));
        }
        let admitted = self.admit();
        let mut response = Response::new(Full::new(Bytes::new()));
        if admitted {
            self.ok += 1;
            if let Some(key) = path.split('/').nth(2) {
                self.revoked.insert(key.to_owned());
            }
            *response.status_mut() = StatusCode::NO_CONTENT;
        } else {
            self.throttled += 1;
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        }
        let remaining = self.tokens.floor() as u64;
        let reset = ((self.burst - self.tokens) / self.rate).ceil().max(0.0) as u64;
        let quota = self.burst.floor() as u64;
        let window = (self.burst / self.rate).ceil() as u64;
        let headers: Vec<(&'static str, String)> = match self.style {
            Style::RetryAfter if !admitted => vec![("retry-after", "1".into())],
            Style::RetryAfter | Style::Bare => vec![],
            Style::XRateLimit => vec![
                ("x-ratelimit-limit", quota.to_string()),
                ("x-ratelimit-remaining", remaining.to_string()),
                ("x-ratelimit-reset", reset.to_string()),
            ],
            Style::Ietf => vec![
                (
                    "ratelimit-policy",
                    format!("\"default\";q={quota};w={window}"),
                ),
                ("ratelimit", format!("\"default\";r={remaining};t={reset}")),
            ],
        };
        for (name, value) in headers {
            response
                .headers_mut()
                .insert(name, value.parse().expect("a valid header value"));
        }
        response
    }
}

fn main() {
    let usage =
        "usage: revoker-limited-server PORT LIMIT retry-after|bare|x-ratelimit|ietf [BURST]";
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().and_then(|p| p.parse().ok()).expect(usage);
    let rate: f64 = args.next().and_then(|l| l.parse().ok()).expect(usage);
    let style = match args.next().as_deref() {
        Some("retry-after") => Style::RetryAfter,
        Some("bare") => Style::Bare,
        Some("x-ratelimit") => Style::XRateLimit,
        Some("ietf") => Style::Ietf,
        _ => panic!("{usage}"),
    };
    let burst: f64 = args
        .next()
        .map_or(rate.max(1.0), |b| b.parse().expect(usage));
    let state = Arc::new(Mutex::new(State {
        rate,
        burst,
        tokens: burst,
        last: Instant::now(),
        style,
        revoked: HashSet::new(),
        ok: 0,
        throttled: 0,
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind 127.0.0.1");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let state = Arc::clone(&state);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let response = state
                        .lock()
                        .expect("not poisoned")
                        .answer(request.uri().path());
                    async move { Ok::<_, Infallible>(response) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
