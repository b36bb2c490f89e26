//! Sending a planned request: one shared HTTP client, the provider's rate limit
//! and concurrency, retries by the [`RetryPolicy`], a bounded response body, and
//! the audit entry of every attempt (this is the one place that writes them).

pub(crate) mod retry;
mod stop;

pub use self::stop::StopHandle;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use reqwest::Client;
use revoker_plugin_api::abi_stable::std_types::RVec;
use revoker_plugin_api::{Header, HttpResponse, Method};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use self::retry::{AfterThrottle, RetryPolicy};
use crate::audit::{Attempt, AuditLog, Phase};
use crate::auth::{AuthFailure, Authenticator};
use crate::error::{AuditError, Error, Result as HostResult};
use crate::flow::{Signal, read_signal};
use crate::interpret::{Exchange, TransportFailure, interpret, interpret_batch};
use crate::model::{Outcome, RequestResult};
use crate::plan::PlannedRequest;
use crate::provider::{ProviderRuntime, Stalled};

/// A step awaited just before a request is first sent.
pub(crate) type BeforeSend<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

/// What a caller asks of a request besides the provider's own limits.
#[derive(Default)]
pub(crate) struct SendGate<'a> {
    /// The caller's limit on requests in flight, across providers.
    pub in_flight: Option<&'a Semaphore>,
    /// Once stopped, a request not yet sent (waiting for its provider's rate,
    /// or for a retry) is abandoned at once.
    pub stop: Option<&'a StopHandle>,
    /// Awaited once, just before the first send, holding the request's slots
    /// (e.g. to record durably that a create is about to go out).
    pub before_first_send: Option<BeforeSend<'a>>,
    /// Told each time the request is to go again.
    pub on_retry: Option<&'a (dyn Fn(Retry) + Send + Sync)>,
}

/// A request that goes again: what its last send got, and how long it waits
/// (besides its provider's pace).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Retry {
    /// How many times it was sent so far.
    pub sends: u32,
    /// The HTTP status of the last answer, if there was one.
    pub status: Option<u16>,
    /// Whether the provider throttled it (it goes again at the provider's
    /// pace, using up no attempt).
    pub throttled: bool,
    /// Why there was no answer, if there was none (no URL, no secret).
    pub error: Option<String>,
    /// How long it waits before going again, on top of the provider's pace.
    pub wait: Duration,
}

/// Why a request was never sent.
#[derive(Debug)]
pub(crate) enum Abandoned {
    /// The caller stopped it.
    Stopped,
    /// The `before_first_send` step failed (the journal could not record it).
    BeforeSend(Error),
    /// The audit log is required and cannot be written.
    Audit(AuditError),
    /// The HTTP client could not be set up.
    NoClient(String),
}

/// HTTP client settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpOptions {
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long one attempt may take, from sending to the end of the body.
    pub request_timeout: Duration,
    /// The most bytes of a response body read; the rest is cut off.
    pub body_limit: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            body_limit: 1024 * 1024,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Executor {
    /// Built on first use: loading the system's root certificates costs more
    /// than the whole of `revoker providers` or a dry run.
    client: OnceLock<Result<Client, String>>,
    options: HttpOptions,
    policy: RetryPolicy,
    audit: Option<Arc<AuditLog>>,
    /// The proxy the configuration names; the environment's are ignored.
    proxy: Option<reqwest::Url>,
}

impl Executor {
    pub(crate) fn new(
        options: HttpOptions,
        policy: RetryPolicy,
        audit: Option<Arc<AuditLog>>,
        proxy: Option<reqwest::Url>,
    ) -> Self {
        Self {
            client: OnceLock::new(),
            options,
            policy,
            audit,
            proxy,
        }
    }

    /// The audit log, if requests are recorded.
    pub(crate) fn audit(&self) -> Option<&AuditLog> {
        self.audit.as_deref()
    }

    fn client(&self) -> Result<&Client, String> {
        let client = self.client.get_or_init(|| {
            // With reqwest's `rustls-no-provider`, the process picks the crypto
            // provider; keep one an embedding program installed.
            if rustls::crypto::CryptoProvider::get_default().is_none() {
                let _ = rustls::crypto::ring::default_provider().install_default();
            }
            let builder = match &self.proxy {
                Some(proxy) => Client::builder().proxy(
                    reqwest::Proxy::all(proxy.clone())
                        .map_err(|e| format!("cannot use the configured proxy: {e}"))?,
                ),
                // `HTTP_PROXY` and friends would get the credential header of
                // every http:// request, in the clear: never read them.
                None => Client::builder().no_proxy(),
            };
            builder
                .user_agent(concat!("revoker/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(self.options.connect_timeout)
                .timeout(self.options.request_timeout)
                // A redirect would carry the credential header to wherever it points.
                .redirect(reqwest::redirect::Policy::none())
                .tcp_nodelay(true)
                .build()
                .map_err(|e| format!("cannot set up the HTTP client: {e}"))
        });
        client.as_ref().map_err(Clone::clone)
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Sends `planned` within `gate` and interprets the answer; `Ok(None)` if
    /// the gate abandoned it before it was sent. Every attempt is recorded in
    /// the audit log, the last with its outcome.
    ///
    /// # Errors
    ///
    /// [`Error::MissingCredential`], [`Error::HttpClient`], or the journal or
    /// the required audit log failing: in each case nothing more was sent.
    pub(crate) async fn send(
        &self,
        planned: PlannedRequest,
        provider: &ProviderRuntime,
        gate: SendGate<'_>,
    ) -> HostResult<Option<RequestResult>> {
        let results = self
            .send_then(planned, provider, gate, |planned, exchange| {
                (vec![interpret(planned, provider, exchange)], false)
            })
            .await?;
        Ok(results.map(|mut results| results.pop().expect("one result")))
    }

    /// Sends `batch`, one request for the lines `lines` of a batched
    /// operation, as [`Executor::send`] sends one: the same flow control,
    /// retries and audit; a result per line, in order, and whether the batch
    /// is to be split (refused as a whole as invalid: one bad line fails it
    /// all, and which one is not known), when those results are not final and
    /// the audit log records the attempt as retried.
    pub(crate) async fn send_batch(
        &self,
        batch: PlannedRequest,
        lines: &[PlannedRequest],
        provider: &ProviderRuntime,
        gate: SendGate<'_>,
    ) -> HostResult<Option<(Vec<RequestResult>, bool)>> {
        let split = std::sync::atomic::AtomicBool::new(false);
        let results = self
            .send_then(batch, provider, gate, |_, exchange| {
                let (results, one_for_all) = interpret_batch(lines, provider, exchange);
                let refused_whole = one_for_all
                    && lines.len() > 1
                    && results
                        .iter()
                        .all(|r| r.outcome == Outcome::InvalidRequest && r.status.is_some());
                split.store(refused_whole, std::sync::atomic::Ordering::Relaxed);
                (results, refused_whole)
            })
            .await?;
        Ok(results.map(|results| (results, split.into_inner())))
    }

    /// Sends `planned`, reads the exchange with `read` (its results, and
    /// whether they are not final: the request is sent again in parts) and
    /// records each result's outcome in the audit log (or, not final, the
    /// attempt as retried).
    async fn send_then(
        &self,
        planned: PlannedRequest,
        provider: &ProviderRuntime,
        gate: SendGate<'_>,
        read: impl FnOnce(PlannedRequest, Exchange) -> (Vec<RequestResult>, bool),
    ) -> HostResult<Option<Vec<RequestResult>>> {
        let credential = provider.require_credential()?;
        match self.exchange(&planned, provider, credential, gate).await {
            Ok(exchange) => {
                let transport_error = exchange.response.as_ref().err().map(|(_, e)| e.clone());
                let (results, not_final) = read(planned, exchange);
                // A line given up before it was ever sent is no request to record.
                if let Some(audit) = self.audit() {
                    let recorded: Vec<&RequestResult> =
                        results.iter().filter(|r| r.attempts > 0).collect();
                    for (i, result) in recorded.iter().enumerate() {
                        let entry = Attempt {
                            provider: &result.provider,
                            operation: &result.operation,
                            params: &result.params,
                            attempt: result.attempts,
                            status: result.status,
                            phase: if not_final {
                                Phase::Retried
                            } else {
                                Phase::Outcome(result.outcome)
                            },
                            request_id: result.request_id.as_deref(),
                            error: transport_error.as_deref(),
                        };
                        if audit.is_required() && i + 1 == recorded.len() {
                            // On failure the result is still returned (a created
                            // key's value must reach its caller), and nothing more
                            // is sent: see `Host::audit_failure`. The last
                            // entry's sync carries those before it.
                            let _ = audit.record_durably(&entry);
                        } else {
                            audit.record(&entry);
                        }
                    }
                }
                Ok(Some(results))
            }
            Err(Abandoned::Stopped) => Ok(None),
            Err(Abandoned::BeforeSend(error)) => Err(error),
            Err(Abandoned::Audit(error)) => Err(Error::Audit(error)),
            Err(Abandoned::NoClient(why)) => Err(Error::HttpClient(why)),
        }
    }

    /// Sends `planned` to `provider` with `credential`, retrying as the policy
    /// allows, within the limits of `gate`. A throttled answer goes to the
    /// provider's flow controller and the request waits for it and goes again,
    /// using up no attempt, until the provider has throttled with no progress
    /// for the policy's `give_up_after`.
    ///
    /// # Errors
    ///
    /// [`Abandoned`] if the gate stopped the request before it was first sent.
    async fn exchange(
        &self,
        planned: &PlannedRequest,
        provider: &ProviderRuntime,
        credential: &Authenticator,
        mut gate: SendGate<'_>,
    ) -> Result<Exchange, Abandoned> {
        let policy = &self.policy;
        let client = self.client().map_err(Abandoned::NoClient)?;
        let since = Instant::now();
        // Every send; those that were throttled; those that count as attempts.
        let (mut sends, mut throttled, mut attempt) = (0, 0, 0);
        // Whether it was sent again for a new OAuth2 token (once at most).
        let mut renewed = false;
        let mut last: Option<Result<HttpResponse, (TransportFailure, String)>> = None;
        loop {
            let ready = provider
                .pacer()
                .ready(gate.in_flight, since, policy.give_up_after);
            let ready = match gate.stop {
                Some(stop) => tokio::select! {
                    ready = ready => ready,
                    () = stop.stopped() => return Err(Abandoned::Stopped),
                },
                None => ready.await,
            };
            let permits = match ready {
                Ok(permits) => permits,
                Err(Stalled(stalled)) => {
                    return Ok(Exchange {
                        response: last.unwrap_or_else(|| {
                            Err((TransportFailure::NotSent, "not sent".to_owned()))
                        }),
                        attempts: sends,
                        throttled,
                        gave_up: Some(stalled_message(provider, stalled, sends)),
                    });
                }
            };
            if sends == 0 {
                if gate.stop.is_some_and(StopHandle::is_stopped) {
                    return Err(Abandoned::Stopped);
                }
                if let Some(step) = gate.before_first_send.take() {
                    step.await.map_err(Abandoned::BeforeSend)?;
                }
            }
            sends += 1;
            // A required log has the attempt on disk before it goes out.
            if let Some(audit) = self.audit()
                && audit.is_required()
            {
                audit
                    .record_durably(&Attempt {
                        provider: &planned.request.provider,
                        operation: &planned.request.operation,
                        params: &planned.shown_params(),
                        attempt: sends,
                        status: None,
                        phase: Phase::Sending,
                        request_id: None,
                        error: None,
                    })
                    .map_err(Abandoned::Audit)?;
            }
            let mut token_refused = false;
            let sent = self
                .send_once(client, planned, credential, &mut token_refused)
                .await;
            if let Err((TransportFailure::Refused, _)) = &sent {
                // The credential itself was refused before the request went:
                // sending again would be refused again.
                drop(permits);
                return Ok(Exchange {
                    response: sent,
                    attempts: sends,
                    throttled,
                    gave_up: None,
                });
            }
            let signal = match &sent {
                Ok(response) => {
                    let mut signal = read_signal(
                        response.status,
                        response
                            .headers
                            .iter()
                            .map(|h| (h.name.as_str(), h.value.as_str())),
                        SystemTime::now(),
                    );
                    if !signal.throttled && stated_throttle(provider, planned, response) {
                        signal.throttled = true;
                    }
                    permits.answered(&signal);
                    signal
                }
                // No answer: the request is counted out of flight.
                Err(_) => {
                    drop(permits);
                    Signal::default()
                }
            };
            let status = sent.as_ref().ok().map(|r| r.status);
            let mut decision = None;
            if signal.throttled
                && let Some(status) = status
            {
                let stalled = provider
                    .pacer()
                    .stalled_since()
                    .map_or(Duration::ZERO, |stalled| stalled.max(since).elapsed());
                match policy.after_throttle(planned.idempotent, status, signal.retry_after, stalled)
                {
                    AfterThrottle::Attempt => {}
                    AfterThrottle::Resend => {
                        throttled += 1;
                        decision = Some(None);
                    }
                    AfterThrottle::TooLong(wait) => {
                        throttled += 1;
                        let why = format!(
                            "{} asked to wait {}, longer than the {} Revoker waits; \
                             the next run with the journal sends it again",
                            provider.plugin.provider(),
                            human_duration(wait),
                            human_duration(policy.max_retry_after)
                        );
                        decision = Some(Some(why));
                    }
                    AfterThrottle::Stalled(stalled) => {
                        throttled += 1;
                        decision = Some(Some(stalled_message(provider, stalled, sends)));
                    }
                }
            }
            let wait = match decision {
                Some(Some(gave_up)) => {
                    return Ok(Exchange {
                        response: sent,
                        attempts: sends,
                        throttled,
                        gave_up: Some(gave_up),
                    });
                }
                // Throttled: resent once the flow controller allows.
                Some(None) => None,
                // A cached OAuth2 token the provider stopped taking (it
                // answered 401): resent at once with a new one, using up no
                // attempt. A 401 did nothing, but only what is safe to
                // repeat is ever sent twice.
                None if token_refused && planned.idempotent && !renewed => {
                    renewed = true;
                    None
                }
                None => {
                    attempt += 1;
                    let wait = match &sent {
                        Ok(response) => policy.after_status(
                            attempt,
                            planned.idempotent,
                            response.status,
                            signal.retry_after,
                            fastrand::f64(),
                        ),
                        Err(_) => policy.after_transport_failure(
                            attempt,
                            planned.idempotent,
                            fastrand::f64(),
                        ),
                    };
                    let Some(wait) = wait else {
                        return Ok(Exchange {
                            response: sent,
                            attempts: sends,
                            throttled,
                            gave_up: None,
                        });
                    };
                    Some(wait)
                }
            };
            if let Some(audit) = self.audit() {
                audit.record(&Attempt {
                    provider: &planned.request.provider,
                    operation: &planned.request.operation,
                    params: &planned.shown_params(),
                    attempt: sends,
                    status,
                    phase: Phase::Retried,
                    request_id: sent
                        .as_ref()
                        .ok()
                        .and_then(|r| r.header_value("x-request-id")),
                    error: sent.as_ref().err().map(|(_, e)| e.as_str()),
                });
            }
            tracing::info!(
                provider = %planned.request.provider,
                operation = %planned.request.operation,
                attempt = sends,
                status,
                throttled = signal.throttled,
                error = sent.as_ref().err().map(|(_, e)| e.as_str()),
                wait_ms = wait.map_or(0, |wait| wait.as_millis() as u64),
                "retrying"
            );
            if let Some(on_retry) = gate.on_retry {
                on_retry(Retry {
                    sends,
                    status,
                    throttled: signal.throttled,
                    error: sent.as_ref().err().map(|(_, e)| e.clone()),
                    wait: wait.unwrap_or_default(),
                });
            }
            last = Some(sent);
            let Some(wait) = wait else { continue };
            match gate.stop {
                // A line waiting to be retried is left for the next run.
                Some(stop) => tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = stop.stopped() => return Err(Abandoned::Stopped),
                },
                None => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Sends `planned` once; `token_refused` is set if the provider refused
    /// an OAuth2 token cached before it, which is dropped.
    async fn send_once(
        &self,
        client: &Client,
        planned: &PlannedRequest,
        credential: &Authenticator,
        token_refused: &mut bool,
    ) -> Result<HttpResponse, (TransportFailure, String)> {
        let method = match planned.http.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = client.request(method, planned.url.clone());
        for (name, value) in &planned.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some(body) = planned.http.body.as_ref().into_option() {
            builder = builder.body(body.to_vec());
        }
        let mut request = builder.build().map_err(|e| transport_failure(&e))?;
        // Last, so that a signature covers the request as it goes.
        let token = credential
            .authorize(client, &mut request)
            .await
            .map_err(|failure| match failure {
                AuthFailure::Refused(why) => (TransportFailure::Refused, why),
                AuthFailure::Unavailable(why) => (TransportFailure::NotSent, why),
            })?;
        let mut response = client
            .execute(request)
            .await
            .map_err(|e| transport_failure(&e))?;
        let status = response.status().as_u16();
        *token_refused = credential.answered(status, token.as_ref()).await;
        let headers: RVec<Header> = response
            .headers()
            .iter()
            .map(|(name, value)| Header {
                name: name.as_str().into(),
                value: String::from_utf8_lossy(value.as_bytes()).as_ref().into(),
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| transport_failure(&e))? {
            let room = self.options.body_limit - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                tracing::warn!(
                    provider = %planned.request.provider,
                    limit = self.options.body_limit,
                    "response body cut off at the size limit"
                );
                break;
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(
            provider = %planned.request.provider,
            operation = %planned.request.operation,
            status,
            bytes = body.len(),
            "response"
        );
        Ok(HttpResponse {
            status,
            headers,
            body: body.into(),
        })
    }
}

/// Whether the provider said, in the body of an error answer its headers and
/// status do not mark as throttled, that it throttled the request (AWS's
/// `Throttling` comes as a 400): the plugin reads the body, and says
/// `rate-limited`. The plugin is asked only about error answers, so a success
/// costs nothing.
fn stated_throttle(
    provider: &ProviderRuntime,
    planned: &PlannedRequest,
    response: &HttpResponse,
) -> bool {
    let throttled = |kind: revoker_plugin_api::OutcomeKind| {
        kind == revoker_plugin_api::OutcomeKind::RateLimited
    };
    let operation = &planned.request.operation;
    response.status >= 400
        && match &planned.batch {
            // A batch is read with its lines' parameters: throttled if any is.
            Some(items) => provider
                .plugin
                .interpret_batch(operation, items, response)
                .is_ok_and(|outcomes| outcomes.iter().any(|o| throttled(o.kind))),
            None => provider
                .plugin
                .interpret(operation, &planned.request.params, response)
                .is_ok_and(|outcome| throttled(outcome.kind)),
        }
}

/// Why a request was given up: its provider throttled with no progress.
fn stalled_message(provider: &ProviderRuntime, stalled: Duration, sends: u32) -> String {
    let name = provider.plugin.provider();
    let throttled = provider.flow_status().throttled;
    let sent = if sends == 0 {
        "it was not sent".to_owned()
    } else {
        format!("sent {sends} times")
    };
    format!(
        "{name} throttled every request for {} with no progress ({throttled} throttled answers); \
         {sent}; the next run with the journal sends it again",
        human_duration(stalled)
    )
}

/// `2m 5s`, `45s`, `1.5s`.
fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 3600 {
        format!("{}h {}m", secs / 3600, secs % 3600 / 60)
    } else if secs >= 60 {
        format!("{}m {}s", secs / 60, secs % 60)
    } else if secs >= 10 {
        format!("{secs}s")
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

/// Classifies a `reqwest` error: was the request possibly sent, and what happened,
/// in words that carry no URL.
fn transport_failure(error: &reqwest::Error) -> (TransportFailure, String) {
    let mut root: &dyn std::error::Error = error;
    while let Some(source) = root.source() {
        root = source;
    }
    let cause = root.to_string();
    if error.is_connect() {
        (
            TransportFailure::NotSent,
            format!("could not connect: {cause}"),
        )
    } else if error.is_timeout() {
        (
            TransportFailure::MaybeSent,
            "timed out waiting for the response".to_owned(),
        )
    } else {
        (
            TransportFailure::MaybeSent,
            format!("no complete response: {cause}"),
        )
    }
}
