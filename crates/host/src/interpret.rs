//! Interpreting: the exchange with the provider (its last answer, or why there
//! was none) turned into a [`RequestResult`] by the plugin's `interpret`.

use revoker_plugin_api::HttpResponse;

use crate::model::{FieldValue, Outcome, RequestResult};
use crate::plan::PlannedRequest;
use crate::provider::ProviderRuntime;

/// What went wrong with an attempt that got no HTTP response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportFailure {
    /// The connection was never made: the request did not reach the provider.
    NotSent,
    /// The request may have reached the provider (timeout, reset, closed).
    MaybeSent,
    /// The request was not sent: the provider refused the credential before
    /// it (an OAuth2 token endpoint said no).
    Refused,
}

/// What the exchange with the provider came to.
#[derive(Debug)]
pub(crate) struct Exchange {
    /// The last response, or why there was none.
    pub response: Result<HttpResponse, (TransportFailure, String)>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// How many of its answers were throttled (429, 503 with `Retry-After`).
    pub throttled: u32,
    /// Why it was given up while its provider throttled it, if it was.
    pub gave_up: Option<String>,
}

/// Turns the exchange into a result, through the plugin's `interpret`.
pub(crate) fn interpret(
    planned: PlannedRequest,
    provider: &ProviderRuntime,
    exchange: Exchange,
) -> RequestResult {
    let PlannedRequest {
        request,
        idempotent,
        secret,
        ..
    } = planned;
    let shown = secret.map(|secret| request.params.redacted(&secret));
    let mut result = RequestResult {
        outcome: Outcome::Unknown,
        status: None,
        request_id: None,
        attempts: exchange.attempts,
        throttled: exchange.throttled,
        detail: None,
        created: Vec::new(),
        provider: request.provider,
        operation: request.operation,
        params: request.params,
    };
    let Exchange {
        response, gave_up, ..
    } = exchange;
    match response {
        Ok(response) => {
            result.status = Some(response.status);
            result.request_id = response.header_value("x-request-id").map(str::to_owned);
            match provider
                .plugin
                .interpret(&result.operation, &result.params, &response)
            {
                Ok(outcome) => {
                    result.outcome = outcome.kind.into();
                    result.detail = Some(outcome.detail.to_string()).filter(|d| !d.is_empty());
                    if let Some(id) = outcome.request_id.into_option() {
                        result.request_id = Some(id.into());
                    }
                    result.created = outcome
                        .created
                        .into_iter()
                        .map(|field| {
                            let value = if field.secret {
                                FieldValue::Secret(field.value.into_string().into())
                            } else {
                                FieldValue::Plain(field.value.into())
                            };
                            (field.name.into(), value)
                        })
                        .collect();
                }
                // The plugin panicked, crashed or failed reading the answer:
                // its fault, not the provider's.
                Err(error) => {
                    result.outcome = Outcome::PluginError;
                    result.detail = Some(error.to_string());
                }
            }
        }
        Err((TransportFailure::Refused, message)) => {
            result.outcome = Outcome::Unauthorized;
            result.detail = Some(message);
        }
        Err((failure, message)) => {
            result.outcome = if idempotent || failure == TransportFailure::NotSent {
                Outcome::TransportError
            } else {
                Outcome::Unknown
            };
            result.detail = Some(if result.outcome == Outcome::Unknown {
                format!(
                    "{message}; the request may have reached the provider, and is not safe to repeat: check before retrying"
                )
            } else {
                message
            });
        }
    }
    if let Some(why) = gave_up {
        // Throttled, whatever the plugin made of the last answer: the next run
        // with the journal sends it again.
        result.outcome = Outcome::RateLimited;
        result.detail = Some(match result.detail.take() {
            Some(detail) if result.status.is_some() => format!("{why} (last answer: {detail})"),
            _ => why,
        });
    }
    if let Some(shown) = shown {
        result.params = shown;
    }
    result
}
