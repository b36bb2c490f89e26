//! Revoker provider plugin for the (imaginary) Acme API: a template.
//!
//! | operation      | params          | HTTP                                          |
//! |----------------|-----------------|-----------------------------------------------|
//! | `revoke-key`   | id              | `DELETE /v1/keys/{id}`                        |
//! | `revoke-token` | token (secret)  | `POST /oauth/revoke`, body `{"token": …}`     |
//!
//! The credential goes in `Authorization: Bearer …`, read from `ACME_TOKEN`.
//!
//! Sans-IO: the plugin plans requests and reads responses; Revoker sends them.

use revoker_plugin_api::{
    AuthScheme, HttpRequest, HttpResponse, Manifest, Method, OperationKind, OperationSpec,
    Outcome, OutcomeKind, ParamKind, ParamSpec, Params, PluginError, Provider, RateLimit,
    encode_path_segment,
};

/// The Acme provider.
pub struct Acme;

impl Provider for Acme {
    fn manifest() -> Manifest {
        Manifest::new("acme", env!("CARGO_PKG_VERSION"), "https://api.acme.example")
            .description("Acme API keys and OAuth tokens")
            .auth(AuthScheme::new("Authorization", "Bearer "))
            .credential_env("ACME_TOKEN")
            .default_rate(RateLimit { requests: 10, per_seconds: 1 })
            .operation(
                OperationSpec::new("revoke-key", OperationKind::Revoke)
                    .summary("Revoke an API key by its id")
                    .idempotent(true)
                    .param(ParamSpec::required("id", ParamKind::String, "the key's id")),
            )
            .operation(
                OperationSpec::new("revoke-token", OperationKind::Revoke)
                    .summary("Revoke an OAuth token (RFC 7009)")
                    .idempotent(true)
                    .param(ParamSpec::required("token", ParamKind::String, "the token itself")),
            )
    }

    fn plan(operation: &str, params: &Params) -> Result<HttpRequest, PluginError> {
        match operation {
            "revoke-key" => {
                let id = encode_path_segment(params.require("id")?);
                Ok(HttpRequest::new(Method::Delete, format!("/v1/keys/{id}")))
            }
            "revoke-token" => {
                let token = params.require("token")?;
                Ok(HttpRequest::new(Method::Post, "/oauth/revoke")
                    .json_body(format!("{{\"token\":{}}}", json_string(token))))
            }
            other => Err(PluginError::unknown_operation(other)),
        }
    }

    fn interpret(
        operation: &str,
        _params: &Params,
        response: &HttpResponse,
    ) -> Result<Outcome, PluginError> {
        Ok(match (operation, response.status) {
            ("revoke-key", 204) | ("revoke-token", 200) => Outcome::new(OutcomeKind::Revoked),
            ("revoke-key", 409) => Outcome::new(OutcomeKind::AlreadyRevoked),
            (_, status) => Outcome::from_status(status).detail(response.body_snippet()),
        })
    }

    fn secret_params(operation: &str) -> Vec<String> {
        // The token is the secret itself: Revoker never shows or records it.
        match operation {
            "revoke-token" => vec!["token".into()],
            _ => Vec::new(),
        }
    }
}

revoker_plugin_api::export_provider!(Acme);

/// `text` as a JSON string (a plugin may use serde_json instead).
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_key_is_a_delete_of_the_encoded_id() {
        let request = Acme::plan("revoke-key", &Params::from_pairs([("id", "k/1")])).unwrap();
        assert_eq!(request.method, Method::Delete);
        assert_eq!(request.path, "/v1/keys/k%2F1");
        assert!(request.body.is_none());
    }

    #[test]
    fn revoke_token_posts_the_token_as_json() {
        let request = Acme::plan("revoke-token", &Params::from_pairs([("token", "t\"1")])).unwrap();
        assert_eq!(request.path, "/oauth/revoke");
        assert_eq!(request.body_text(), Some(r#"{"token":"t\"1"}"#));
    }

    #[test]
    fn documented_answers_are_read() {
        let params = Params::new();
        let read = |op, status| Acme::interpret(op, &params, &HttpResponse::new(status, "")).unwrap().kind;
        assert_eq!(read("revoke-key", 204), OutcomeKind::Revoked);
        assert_eq!(read("revoke-key", 409), OutcomeKind::AlreadyRevoked);
        assert_eq!(read("revoke-key", 404), OutcomeKind::NotFound);
        assert_eq!(read("revoke-token", 200), OutcomeKind::Revoked);
        assert_eq!(read("revoke-token", 401), OutcomeKind::Unauthorized);
    }

    #[test]
    fn the_token_is_secret() {
        assert_eq!(Acme::secret_params("revoke-token"), ["token"]);
        assert!(Acme::secret_params("revoke-key").is_empty());
    }

    #[test]
    fn no_input_or_response_makes_it_panic() {
        revoker_plugin_api::testing::fuzz_provider::<Acme>(256);
    }
}
