//! Dolfin: `POST /api-keys/{id}/revoke` with `x-dolfin-api-key`, every
//! documented status.

use serde_json::{Value, json};
use support::{DOLFIN_KEY, no_body, run_json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "5eb8b151-77b3-4e46-8243-5b6282131a9e";

fn problem(status: u16, title: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("Content-Type", "application/problem+json")
        .set_body_string(
            json!({"type": null, "title": title, "status": status, "detail": detail, "instance": null})
                .to_string(),
        )
}

async fn revoke_against(response: ResponseTemplate) -> (i32, Value) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/api-keys/{ID}/revoke")))
        .and(header("x-dolfin-api-key", DOLFIN_KEY))
        .and(no_body)
        .respond_with(response)
        .expect(1)
        .named("dolfin revoke")
        .mount(&server)
        .await;
    run_json(
        &[
            ("REVOKER_DOLFIN_BASE_URL", &server.uri()),
            ("DOLFIN_API_KEY", DOLFIN_KEY),
        ],
        &["dolfin", "revoke-api-key", "--id", ID],
    )
}

#[tokio::test]
async fn no_content_is_revoked() {
    let (code, result) =
        revoke_against(ResponseTemplate::new(204).insert_header("X-Request-Id", "req-dolfin-1"))
            .await;
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["outcome"], "revoked");
    assert_eq!(result["status"], 204);
    assert_eq!(result["attempts"], 1);
    assert_eq!(result["request_id"], "req-dolfin-1");
    assert_eq!(result["params"], json!({"id": ID}));
}

#[tokio::test]
async fn already_revoked_is_a_success() {
    let (code, result) = revoke_against(problem(
        409,
        "ApiKey.AlreadyRevoked",
        "key is already revoked",
    ))
    .await;
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["outcome"], "already-revoked");
    assert_eq!(
        result["detail"],
        "ApiKey.AlreadyRevoked: key is already revoked"
    );
}

#[tokio::test]
async fn not_found_fails() {
    let (code, result) =
        revoke_against(problem(404, "ApiKey.NotFound", "API key does not exist")).await;
    assert_eq!(code, 1, "{result}");
    assert_eq!(result["outcome"], "not-found");
    assert_eq!(result["status"], 404);
    assert_eq!(result["detail"], "ApiKey.NotFound: API key does not exist");
}

#[tokio::test]
async fn forbidden_fails() {
    let (code, result) = revoke_against(problem(
        403,
        "Member.Forbidden",
        "caller is not an Admin or Owner of this Client",
    ))
    .await;
    assert_eq!(code, 1, "{result}");
    assert_eq!(result["outcome"], "forbidden");
    assert_eq!(result["attempts"], 1, "a 403 is not retried");
}
