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

use self::retry::{RetryPolicy, TransportFailure, parse_retry_after};
use crate::audit::{Attempt, AuditLog, Phase};
use crate::error::{AuditError, Error, Result as HostResult};
use crate::interpret::{Exchange, interpret};
use crate::model::RequestResult;
use crate::plan::PlannedRequest;
use crate::provider::{Credential, ProviderRuntime};

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
        let credential = provider.require_credential()?;
        match self.exchange(&planned, provider, credential, gate).await {
            Ok(exchange) => {
                let transport_error = exchange.response.as_ref().err().map(|(_, e)| e.clone());
                let result = interpret(planned, provider, exchange);
                if let Some(audit) = self.audit() {
                    let entry = Attempt {
                        provider: &result.provider,
                        operation: &result.operation,
                        params: &result.params,
                        attempt: result.attempts,
                        status: result.status,
                        phase: Phase::Outcome(result.outcome),
                        request_id: result.request_id.as_deref(),
                        error: transport_error.as_deref(),
                    };
                    if audit.is_required() {
                        // On failure the result is still returned (a created
                        // key's value must reach its caller), and nothing more
                        // is sent: see `Host::audit_failure`.
                        let _ = audit.record_durably(&entry);
                    } else {
                        audit.record(&entry);
                    }
                }
                Ok(Some(result))
            }
            Err(Abandoned::Stopped) => Ok(None),
            Err(Abandoned::BeforeSend(error)) => Err(error),
            Err(Abandoned::Audit(error)) => Err(Error::Audit(error)),
            Err(Abandoned::NoClient(why)) => Err(Error::HttpClient(why)),
        }
    }

    /// Sends `planned` to `provider` with `credential`, retrying as the policy
    /// allows, within the limits of `gate`.
    ///
    /// # Errors
    ///
    /// [`Abandoned`] if the gate stopped the request before it was first sent.
    async fn exchange(
        &self,
        planned: &PlannedRequest,
        provider: &ProviderRuntime,
        credential: &Credential,
        mut gate: SendGate<'_>,
    ) -> Result<Exchange, Abandoned> {
        let policy = &self.policy;
        let client = self.client().map_err(Abandoned::NoClient)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = {
                let _permits = match gate.stop {
                    Some(stop) => tokio::select! {
                        permits = provider.ready(gate.in_flight) => permits,
                        () = stop.stopped() => return Err(Abandoned::Stopped),
                    },
                    None => provider.ready(gate.in_flight).await,
                };
                if attempt == 1 {
                    if gate.stop.is_some_and(StopHandle::is_stopped) {
                        return Err(Abandoned::Stopped);
                    }
                    if let Some(step) = gate.before_first_send.take() {
                        step.await.map_err(Abandoned::BeforeSend)?;
                    }
                }
                // A required log has the attempt on disk before it goes out.
                if let Some(audit) = self.audit()
                    && audit.is_required()
                {
                    audit
                        .record_durably(&Attempt {
                            provider: &planned.request.provider,
                            operation: &planned.request.operation,
                            params: &planned.shown_params(),
                            attempt,
                            status: None,
                            phase: Phase::Sending,
                            request_id: None,
                            error: None,
                        })
                        .map_err(Abandoned::Audit)?;
                }
                self.send_once(client, planned, provider, credential).await
            };
            let wait = match &sent {
                Ok(response) => {
                    let retry_after = response
                        .header_value("retry-after")
                        .and_then(|value| parse_retry_after(value, SystemTime::now()));
                    policy.after_status(
                        attempt,
                        planned.idempotent,
                        response.status,
                        retry_after,
                        fastrand::f64(),
                    )
                }
                Err(_) => {
                    policy.after_transport_failure(attempt, planned.idempotent, fastrand::f64())
                }
            };
            let Some(wait) = wait else {
                return Ok(Exchange {
                    response: sent,
                    attempts: attempt,
                });
            };
            if let Some(audit) = self.audit() {
                audit.record(&Attempt {
                    provider: &planned.request.provider,
                    operation: &planned.request.operation,
                    params: &planned.shown_params(),
                    attempt,
                    status: sent.as_ref().ok().map(|r| r.status),
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
                attempt,
                status = sent.as_ref().ok().map(|r| r.status),
                error = sent.as_ref().err().map(|(_, e)| e.as_str()),
                wait_ms = wait.as_millis() as u64,
                "retrying"
            );
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

    async fn send_once(
        &self,
        client: &Client,
        planned: &PlannedRequest,
        provider: &ProviderRuntime,
        credential: &Credential,
    ) -> Result<HttpResponse, (TransportFailure, String)> {
        let method = match planned.http.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = client.request(method, planned.url.clone()).header(
            provider.auth_header.clone(),
            credential.header_value().clone(),
        );
        for (name, value) in &planned.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        if let Some(body) = planned.http.body.as_ref().into_option() {
            builder = builder.body(body.to_vec());
        }
        let mut response = builder.send().await.map_err(|e| transport_failure(&e))?;
        let status = response.status().as_u16();
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
