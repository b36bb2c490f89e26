//! Reading Pinata's responses.
//!
//! The documents give only the successes: `{"data":null}` for a revoked gateway
//! key, `{"data":{"id","value","createdAt"}}` for a created one, and the JSON
//! string `"Revoked"` from the legacy API. Errors get the usual reading of their
//! status, with Pinata's error text (`{"error": "…"}`, `{"error": {"reason",
//! "details"}}` or `{"message": "…"}`) as the detail.

use revoker_plugin_api::{HttpResponse, Outcome, OutcomeKind, join_detail};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Created {
    id: String,
    value: String,
    #[serde(rename = "createdAt")]
    created_at: String,
}

/// 200 `{"data":null}`.
pub(crate) fn revoke_gateway_key(response: &HttpResponse) -> Outcome {
    match response.status {
        200 => match serde_json::from_slice::<Value>(&response.body) {
            Ok(Value::Object(body)) if body.get("data") == Some(&Value::Null) => {
                Outcome::new(OutcomeKind::Revoked)
            }
            _ => unexpected_body(response),
        },
        _ => failure(response),
    }
}

/// 200 `{"data":{"id","value","createdAt"}}`: `created`, with `value` (the new
/// key) marked secret.
pub(crate) fn create_gateway_key(response: &HttpResponse) -> Outcome {
    #[derive(Deserialize)]
    struct Body {
        data: Created,
    }
    match response.status {
        200 => match serde_json::from_slice::<Body>(&response.body) {
            Ok(Body { data }) => Outcome::new(OutcomeKind::Created)
                .created_field("id", &data.id, false)
                .created_field("value", &data.value, true)
                .created_field("createdAt", &data.created_at, false),
            // The key may exist now, but we cannot tell the user what it is.
            Err(_) => Outcome::new(OutcomeKind::Unknown).detail(
                "provider answered 200 but the body does not hold the new key \
                 (id, value, createdAt); check the gateway's keys",
            ),
        },
        _ => failure(response),
    }
}

/// 200 `"Revoked"`.
pub(crate) fn revoke_api_key(response: &HttpResponse) -> Outcome {
    match response.status {
        200 => {
            let text = response.body_text();
            let text = text.trim();
            let revoked = serde_json::from_str::<String>(text)
                .map(|s| s == "Revoked")
                .unwrap_or(text == "Revoked");
            if revoked {
                Outcome::new(OutcomeKind::Revoked)
            } else {
                unexpected_body(response)
            }
        }
        _ => failure(response),
    }
}

fn unexpected_body(response: &HttpResponse) -> Outcome {
    Outcome::new(OutcomeKind::ProviderError).detail(format!(
        "provider answered {} with an unexpected body: {}",
        response.status,
        response.body_snippet()
    ))
}

/// A non-200 status: its usual reading, with Pinata's error text (else a
/// snippet of the body).
fn failure(response: &HttpResponse) -> Outcome {
    Outcome::from_status(response.status).error_detail(response, error_text(&response.body))
}

/// Pinata's error text from `{"error": "…"}`, `{"error": {"reason", "details"}}`
/// or `{"message": "…"}`.
fn error_text(body: &[u8]) -> Option<String> {
    let Value::Object(body) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    match body.get("error") {
        Some(Value::String(error)) => Some(error.clone()),
        Some(Value::Object(error)) => {
            let field = |name| error.get(name).and_then(Value::as_str);
            join_detail(field("reason"), field("details"))
        }
        _ => body
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(status, body).header("Content-Type", "application/json; charset=utf-8")
    }

    #[test]
    fn gateway_key_revoked_on_data_null() {
        assert_eq!(
            revoke_gateway_key(&response(200, r#"{"data":null}"#)),
            Outcome::new(OutcomeKind::Revoked)
        );
    }

    #[test]
    fn gateway_key_200_with_other_body_is_provider_error() {
        for body in ["", "null", "{}", r#"{"data":{"id":"x"}}"#, "[1]", "\u{7f}"] {
            assert_eq!(
                revoke_gateway_key(&response(200, body)).kind,
                OutcomeKind::ProviderError,
                "{body:?}"
            );
        }
    }

    #[test]
    fn created_key_carries_its_fields_with_the_value_secret() {
        let body = r#"{"data":{"id":"e8fe078b-38e8-4472-94e7-9023205232d2","value":"key","createdAt":"2024-07-12T15:34:59.786198063Z"}}"#;
        let outcome = create_gateway_key(&response(200, body));
        assert_eq!(outcome.kind, OutcomeKind::Created);
        let fields: Vec<(&str, &str, bool)> = outcome
            .created
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str(), f.secret))
            .collect();
        assert_eq!(
            fields,
            [
                ("id", "e8fe078b-38e8-4472-94e7-9023205232d2", false),
                ("value", "key", true),
                ("createdAt", "2024-07-12T15:34:59.786198063Z", false),
            ]
        );
    }

    #[test]
    fn created_200_without_the_key_is_unknown() {
        for body in ["", r#"{"data":null}"#, r#"{"data":{"id":"x"}}"#] {
            assert_eq!(
                create_gateway_key(&response(200, body)).kind,
                OutcomeKind::Unknown
            );
        }
    }

    #[test]
    fn legacy_revoked_string() {
        assert_eq!(
            revoke_api_key(&response(200, "\"Revoked\"")).kind,
            OutcomeKind::Revoked
        );
        assert_eq!(
            revoke_api_key(&response(200, "Revoked\n")).kind,
            OutcomeKind::Revoked
        );
        assert_eq!(
            revoke_api_key(&response(200, "\"Nope\"")).kind,
            OutcomeKind::ProviderError
        );
    }

    #[test]
    fn errors_read_their_status_and_pinata_text() {
        let cases = [
            (
                401,
                r#"{"error":"Unauthorized"}"#,
                OutcomeKind::Unauthorized,
                "Unauthorized",
            ),
            (
                403,
                r#"{"error":{"reason":"NO_PERMISSION","details":"admin key required"}}"#,
                OutcomeKind::Forbidden,
                "NO_PERMISSION: admin key required",
            ),
            (
                404,
                r#"{"message":"not found"}"#,
                OutcomeKind::NotFound,
                "not found",
            ),
            (
                429,
                "",
                OutcomeKind::RateLimited,
                "unexpected HTTP status 429",
            ),
            (
                500,
                "<html>oops</html>",
                OutcomeKind::ProviderError,
                "<html>oops</html>",
            ),
            (
                400,
                r#"{"error":{"details":"bad id"}}"#,
                OutcomeKind::InvalidRequest,
                "bad id",
            ),
        ];
        for (status, body, kind, detail) in cases {
            for interpret in [revoke_gateway_key, create_gateway_key, revoke_api_key] {
                let outcome = interpret(&response(status, body));
                assert_eq!(outcome.kind, kind, "{status} {body}");
                assert_eq!(outcome.detail, detail, "{status} {body}");
            }
        }
    }
}
