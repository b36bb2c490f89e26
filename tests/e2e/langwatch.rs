//! LangWatch: `POST /api/gateway/v1/virtual-keys/{id}/revoke` with
//! `X-Auth-Token`, every documented status and the two seen in practice.

use serde_json::{Value, json};
use support::{LANGWATCH_KEY, json_response, no_body, run_json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "vk_01HXTESTKEY";

fn virtual_key(status: &str) -> Value {
    json!({"virtual_key": {
        "id": ID, "display_prefix": "lw_vk_live_01HX", "name": "ci", "description": null,
        "environment": "live", "status": status, "principal_user_id": null,
        "provider_credential_ids": [], "revision": "3", "last_used_at": null,
        "created_at": "2026-01-01T00:00:00Z"
    }})
}

async fn revoke_against(
    response: ResponseTemplate,
    expected_requests: u64,
    extra: &[&str],
) -> (i32, Value) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api/gateway/v1/virtual-keys/{ID}/revoke")))
        .and(header("x-auth-token", LANGWATCH_KEY))
        .and(no_body)
        .respond_with(response)
        .expect(expected_requests)
        .named("langwatch revoke")
        .mount(&server)
        .await;
    let mut args = vec!["langwatch", "revoke-virtual-key", "--id", ID];
    args.extend_from_slice(extra);
    run_json(
        &[
            ("REVOKER_LANGWATCH_BASE_URL", &server.uri()),
            ("LANGWATCH_API_KEY", LANGWATCH_KEY),
        ],
        &args,
    )
}

#[tokio::test]
async fn ok_with_revoked_status_is_revoked() {
    let (code, result) = revoke_against(json_response(200, virtual_key("revoked")), 1, &[]).await;
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["outcome"], "revoked");
    assert_eq!(result["status"], 200);
}

#[tokio::test]
async fn ok_with_active_status_is_not_counted_as_revoked() {
    let (code, result) = revoke_against(json_response(200, virtual_key("active")), 1, &[]).await;
    assert_eq!(code, 1, "{result}");
    assert_eq!(result["outcome"], "provider-error");
}

#[tokio::test]
async fn documented_client_errors_are_not_retried() {
    let cases = [
        (400, "bad_request", "invalid-request"),
        (401, "unauthorized", "unauthorized"),
        (403, "forbidden", "forbidden"),
        (404, "virtual_key_not_found", "not-found"),
        (422, "unprocessable", "invalid-request"),
    ];
    for (status, error, outcome) in cases {
        let body = json!({"error": error, "message": format!("status {status}")});
        let (code, result) = revoke_against(json_response(status, body), 1, &[]).await;
        assert_eq!(code, 1, "{status}: {result}");
        assert_eq!(result["outcome"], outcome, "{status}");
        assert_eq!(result["status"], status);
        assert_eq!(result["attempts"], 1);
        assert_eq!(result["detail"], format!("{error}: status {status}"));
    }
}

#[tokio::test]
async fn server_error_is_retried_then_reported() {
    let body = json!({"error": "internal_error", "message": "database unavailable"});
    let (code, result) =
        revoke_against(json_response(500, body), 2, &["--max-attempts", "2"]).await;
    assert_eq!(code, 1, "{result}");
    assert_eq!(result["outcome"], "provider-error");
    assert_eq!(result["attempts"], 2);
    assert_eq!(result["detail"], "internal_error: database unavailable");
}
