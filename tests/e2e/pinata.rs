//! Pinata: revoke a gateway key, create a gateway key, revoke a legacy API key,
//! with `Authorization: Bearer`, every documented response and the usual errors.

use serde_json::{Value, json};
use support::{PINATA_JWT, json_response, no_body, run_json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const GATEWAY: &str = "5eb8b151-77b3-4e46-8243-5b6282131a9e";
const KEY: &str = "5cfe30af-1de5-409e-be09-f261445a2df6";
const BEARER: &str = "Bearer test-pinata-jwt.made-up";

async fn run(
    mock: MockBuilder,
    response: ResponseTemplate,
    expected: u64,
    args: &[&str],
) -> (i32, Value) {
    assert_eq!(BEARER, format!("Bearer {PINATA_JWT}"));
    let server = MockServer::start().await;
    mock.and(header("authorization", BEARER))
        .respond_with(response)
        .expect(expected)
        .mount(&server)
        .await;
    run_json(
        &[
            ("REVOKER_PINATA_BASE_URL", &server.uri()),
            ("PINATA_JWT", PINATA_JWT),
        ],
        args,
    )
}

fn revoke_gateway_key() -> MockBuilder {
    Mock::given(method("DELETE"))
        .and(path(format!("/v3/gateways/{GATEWAY}/access_tokens/{KEY}")))
        .and(no_body)
}

fn create_gateway_key() -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(format!("/v3/gateways/{GATEWAY}/access_tokens")))
        .and(no_body)
}

fn revoke_api_key() -> MockBuilder {
    Mock::given(method("PUT"))
        .and(path("/users/revokeApiKey"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"apiKey": "public-key-123"})))
}

const REVOKE_GATEWAY_ARGS: &[&str] = &[
    "pinata",
    "revoke-gateway-key",
    "--gateway-id",
    GATEWAY,
    "--key-id",
    KEY,
];
const CREATE_ARGS: &[&str] = &["pinata", "create-gateway-key", "--gateway-id", GATEWAY];
const REVOKE_API_KEY_ARGS: &[&str] = &["pinata", "revoke-api-key", "--api-key", "public-key-123"];

#[tokio::test]
async fn gateway_key_revoked_on_data_null() {
    let response =
        json_response(200, json!({"data": null})).insert_header("X-Request-Id", "bef4599a");
    let (code, result) = run(revoke_gateway_key(), response, 1, REVOKE_GATEWAY_ARGS).await;
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["outcome"], "revoked");
    assert_eq!(result["request_id"], "bef4599a");
    assert_eq!(
        result["params"],
        json!({"gateway-id": GATEWAY, "key-id": KEY})
    );
}

#[tokio::test]
async fn gateway_key_errors() {
    let cases = [
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not-found"),
    ];
    for (status, outcome) in cases {
        let response = json_response(status, json!({"error": {"reason": "R", "details": "D"}}));
        let (code, result) = run(revoke_gateway_key(), response, 1, REVOKE_GATEWAY_ARGS).await;
        assert_eq!(code, 1, "{result}");
        assert_eq!(result["outcome"], outcome);
        assert_eq!(result["detail"], "R: D");
    }
}

#[tokio::test]
async fn created_key_is_shown_with_its_fields() {
    let response = json_response(
        200,
        json!({"data": {"id": "e8fe078b-38e8-4472-94e7-9023205232d2", "value": "new-gateway-key-value", "createdAt": "2024-07-12T15:34:59.786198063Z"}}),
    );
    let (code, result) = run(create_gateway_key(), response, 1, CREATE_ARGS).await;
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["outcome"], "created");
    assert_eq!(
        result["created"],
        json!({"id": "e8fe078b-38e8-4472-94e7-9023205232d2", "value": "new-gateway-key-value", "createdAt": "2024-07-12T15:34:59.786198063Z"})
    );
}

#[tokio::test]
async fn create_is_never_retried() {
    let (code, result) = run(
        create_gateway_key(),
        ResponseTemplate::new(503),
        1,
        CREATE_ARGS,
    )
    .await;
    assert_eq!(code, 1, "{result}");
    assert_eq!(result["outcome"], "provider-error");
    assert_eq!(result["attempts"], 1);
}

#[tokio::test]
async fn legacy_api_key_revoked() {
    let response = ResponseTemplate::new(200)
        .insert_header("Content-Type", "application/json")
        .set_body_string("\"Revoked\"");
    let (code, result) = run(revoke_api_key(), response, 1, REVOKE_API_KEY_ARGS).await;
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["outcome"], "revoked");
    assert_eq!(result["params"], json!({"api-key": "public-key-123"}));
}

#[tokio::test]
async fn legacy_api_key_rate_limited_is_retried_after_retry_after() {
    let server = MockServer::start().await;
    // First answer 429 with Retry-After: 0, then succeed.
    revoke_api_key()
        .and(header("authorization", BEARER))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    revoke_api_key()
        .and(header("authorization", BEARER))
        .respond_with(ResponseTemplate::new(200).set_body_string("\"Revoked\""))
        .expect(1)
        .mount(&server)
        .await;
    let (code, result) = run_json(
        &[
            ("REVOKER_PINATA_BASE_URL", &server.uri()),
            ("PINATA_JWT", PINATA_JWT),
        ],
        REVOKE_API_KEY_ARGS,
    );
    assert_eq!(code, 0, "{result}");
    assert_eq!(result["outcome"], "revoked");
    assert_eq!(result["attempts"], 2);
}
