//! Interpreting: the exchange with the provider (its last answer, or why there
//! was none) turned into a [`RequestResult`] by the plugin's `interpret`.

use revoker_plugin_api::{HttpResponse, Params};

use crate::model::{FieldValue, Outcome, Request, RequestResult};
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
    let shown = secret.map(|secret| crate::plan::shown_params(&request.params, &secret));
    let mut result = unread(request, &exchange);
    let Exchange {
        response, gave_up, ..
    } = exchange;
    match response {
        Ok(response) => {
            answered(&mut result, &response);
            let interpreted =
                provider
                    .plugin
                    .interpret(&result.operation, &result.params, &response);
            let asynchronous = provider.plugin.is_asynchronous(&result.operation);
            match interpreted {
                Ok(outcome) => read_outcome(&mut result, outcome, asynchronous),
                Err(error) => plugin_failed(&mut result, &error),
            }
        }
        Err((failure, message)) => unanswered(&mut result, failure, message, idempotent),
    }
    if let Some(why) = gave_up {
        given_up(&mut result, why);
    }
    if let Some(shown) = shown {
        result.params = shown;
    }
    result
}

/// Turns the exchange of a batch (one request for the lines `lines`) into a
/// result per line, in order, through the plugin's `interpret_batch`: one
/// outcome it gives is every line's; one per line is each its own. Also
/// whether the answer was one for the whole batch (so a refusal says nothing
/// of which line was bad).
pub(crate) fn interpret_batch(
    lines: &[PlannedRequest],
    provider: &ProviderRuntime,
    exchange: Exchange,
) -> (Vec<RequestResult>, bool) {
    let Some(first) = lines.first() else {
        return (Vec::new(), true);
    };
    let mut whole = true;
    let operation = first.request.operation.as_str();
    let mut results: Vec<RequestResult> = lines
        .iter()
        .map(|line| unread(line.shown_request(), &exchange))
        .collect();
    match &exchange.response {
        Ok(response) => {
            let items: Vec<Params> = lines.iter().map(|l| l.request.params.clone()).collect();
            let asynchronous = provider.plugin.is_asynchronous(operation);
            match provider.plugin.interpret_batch(operation, &items, response) {
                Ok(outcomes) => {
                    let one_for_all = outcomes.len() == 1 && lines.len() > 1;
                    whole = one_for_all;
                    for (i, result) in results.iter_mut().enumerate() {
                        answered(result, response);
                        let outcome = if one_for_all {
                            &outcomes[0]
                        } else {
                            &outcomes[i]
                        };
                        read_outcome(result, outcome.clone(), asynchronous);
                    }
                }
                Err(error) => {
                    for result in &mut results {
                        answered(result, response);
                        plugin_failed(result, &error);
                    }
                }
            }
        }
        Err((failure, message)) => {
            for result in &mut results {
                // Only idempotent revocations are batched.
                unanswered(result, *failure, message.clone(), true);
            }
        }
    }
    if let Some(why) = &exchange.gave_up {
        for result in &mut results {
            given_up(result, why.clone());
        }
    }
    redact_batch_details(&mut results, lines);
    (results, whole)
}

/// Each result's detail with every secret of the batch's lines redacted:
/// one answer for a batch may quote any of its lines' secrets, and is copied
/// to every line. (The plugin redacts too; the host does not rely on it.)
fn redact_batch_details(results: &mut [RequestResult], lines: &[PlannedRequest]) {
    let forms: Vec<String> = lines
        .iter()
        .filter_map(|line| {
            let secret = line.secret.as_deref()?;
            Some(crate::plan::secret_forms(&line.request.params, secret))
        })
        .flatten()
        .collect();
    if forms.is_empty() {
        return;
    }
    let mut done: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for result in results {
        let Some(detail) = result.detail.take() else {
            continue;
        };
        let redacted = done.entry(detail).or_insert_with_key(|detail| {
            crate::plan::redact_forms(std::borrow::Cow::Borrowed(detail.as_str()), forms.clone())
                .into_owned()
        });
        result.detail = Some(redacted.clone());
    }
}

/// The result of `request` before its answer is read: its attempts, an
/// outcome still unknown.
fn unread(request: Request, exchange: &Exchange) -> RequestResult {
    RequestResult {
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
    }
}

/// The parts of a result every answer gives: its status and request id.
fn answered(result: &mut RequestResult, response: &HttpResponse) {
    result.status = Some(response.status);
    result.request_id = response.header_value("x-request-id").map(str::to_owned);
}

/// What the plugin made of the answer, in `result`; a success of an
/// asynchronous operation is only `accepted`.
fn read_outcome(
    result: &mut RequestResult,
    outcome: revoker_plugin_api::Outcome,
    asynchronous: bool,
) {
    result.outcome = match outcome.kind.into() {
        Outcome::Revoked | Outcome::AlreadyRevoked if asynchronous => Outcome::Accepted,
        outcome => outcome,
    };
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

/// The plugin panicked, crashed or failed reading the answer: its fault, not
/// the provider's.
fn plugin_failed(result: &mut RequestResult, error: &impl std::fmt::Display) {
    result.outcome = Outcome::PluginError;
    result.detail = Some(error.to_string());
}

/// No answer came: why, and whether the request is safe to repeat.
fn unanswered(
    result: &mut RequestResult,
    failure: TransportFailure,
    message: String,
    idempotent: bool,
) {
    if failure == TransportFailure::Refused {
        result.outcome = Outcome::Unauthorized;
        result.detail = Some(message);
        return;
    }
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

/// Given up while its provider throttled it: `rate-limited`, whatever the
/// plugin made of the last answer; the next run with the journal sends it
/// again.
fn given_up(result: &mut RequestResult, why: String) {
    result.outcome = Outcome::RateLimited;
    result.detail = Some(match result.detail.take() {
        Some(detail) if result.status.is_some() => format!("{why} (last answer: {detail})"),
        _ => why,
    });
}
