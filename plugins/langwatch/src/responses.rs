//! Reading LangWatch's responses: the revoked key on 200, `{error, message}`
//! otherwise.

use revoker_plugin_api::{HttpResponse, Outcome, OutcomeKind, join_detail};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Revoked {
    virtual_key: VirtualKey,
}

#[derive(Debug, Deserialize)]
struct VirtualKey {
    status: String,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: String,
    message: Option<String>,
}

/// 200 with `virtual_key.status == "revoked"`; 400 / 422 invalid; 401
/// unauthorized; 403 forbidden; 404 `virtual_key_not_found`; 500 provider error.
pub(crate) fn revoke_virtual_key(response: &HttpResponse) -> Outcome {
    match response.status {
        200 => revoked_key(response),
        status => {
            let error = serde_json::from_slice::<ErrorBody>(&response.body).ok();
            let kind = match status {
                400 | 422 => OutcomeKind::InvalidRequest,
                401 => OutcomeKind::Unauthorized,
                403 => OutcomeKind::Forbidden,
                404 => OutcomeKind::NotFound,
                500 => OutcomeKind::ProviderError,
                _ => Outcome::from_status(status).kind,
            };
            let text = error.and_then(|body| join_detail(Some(body.error), body.message));
            let detail = response
                .error_detail(text)
                .unwrap_or_else(|| format!("HTTP status {status}"));
            Outcome::new(kind).detail(detail)
        }
    }
}

fn revoked_key(response: &HttpResponse) -> Outcome {
    match serde_json::from_slice::<Revoked>(&response.body) {
        Ok(body) if body.virtual_key.status == "revoked" => Outcome::new(OutcomeKind::Revoked),
        Ok(body) => Outcome::new(OutcomeKind::ProviderError).detail(format!(
            "provider answered 200 but the key's status is {:?}, not \"revoked\"",
            body.virtual_key.status
        )),
        Err(_) => Outcome::new(OutcomeKind::ProviderError).detail(format!(
            "provider answered 200 with an unexpected body: {}",
            response.body_snippet()
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn virtual_key(status: &str) -> serde_json::Value {
        json!({
            "virtual_key": {
                "id": "vk_01HX",
                "display_prefix": "lw_vk_live_01HX",
                "name": "ci",
                "description": null,
                "environment": "live",
                "status": status,
                "principal_user_id": null,
                "provider_credential_ids": ["pc_1"],
                "revision": "7",
                "last_used_at": null,
                "created_at": "2026-01-01T00:00:00Z"
            }
        })
    }

    fn json_response(status: u16, body: serde_json::Value) -> HttpResponse {
        HttpResponse::new(status, body.to_string()).header("Content-Type", "application/json")
    }

    #[test]
    fn ok_with_revoked_status_is_revoked() {
        let outcome = revoke_virtual_key(&json_response(200, virtual_key("revoked")));
        assert_eq!(outcome, Outcome::new(OutcomeKind::Revoked));
    }

    #[test]
    fn ok_with_active_status_is_not_a_success() {
        let outcome = revoke_virtual_key(&json_response(200, virtual_key("active")));
        assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        assert!(outcome.detail.contains("\"active\""));
    }

    #[test]
    fn ok_with_unexpected_body_is_a_provider_error() {
        for body in ["", "{}", "null", "{\"virtual_key\":{}}", "\u{0}\u{1}"] {
            let outcome = revoke_virtual_key(&HttpResponse::new(200, body));
            assert_eq!(outcome.kind, OutcomeKind::ProviderError, "{body:?}");
        }
    }

    #[test]
    fn documented_errors_map_to_outcomes_with_their_text() {
        let cases = [
            (400, "bad_request", OutcomeKind::InvalidRequest),
            (401, "unauthorized", OutcomeKind::Unauthorized),
            (403, "forbidden", OutcomeKind::Forbidden),
            (404, "virtual_key_not_found", OutcomeKind::NotFound),
            (422, "unprocessable_entity", OutcomeKind::InvalidRequest),
            (500, "internal_error", OutcomeKind::ProviderError),
        ];
        for (status, error, kind) in cases {
            let body = json!({"error": error, "message": "something happened"});
            let outcome = revoke_virtual_key(&json_response(status, body));
            assert_eq!(outcome.kind, kind, "{status}");
            assert_eq!(
                outcome.detail,
                format!("{error}: something happened").as_str()
            );
        }
    }

    #[test]
    fn message_is_optional() {
        let outcome = revoke_virtual_key(&json_response(
            404,
            json!({"error": "virtual_key_not_found"}),
        ));
        assert_eq!(outcome.detail, "virtual_key_not_found");
    }

    #[test]
    fn undocumented_statuses_and_bodies() {
        let outcome = revoke_virtual_key(&HttpResponse::new(429, ""));
        assert_eq!(outcome.kind, OutcomeKind::RateLimited);
        assert_eq!(outcome.detail, "HTTP status 429");
        let outcome = revoke_virtual_key(&HttpResponse::new(502, "<html>bad gateway</html>"));
        assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        assert_eq!(outcome.detail, "<html>bad gateway</html>");
    }
}
