//! Revoker provider plugin for the (imaginary) AcmeAuth API, whose requests
//! carry an OAuth 2.0 access token got with the client-credentials grant
//! (RFC 6749 §4.4).
//!
//! | operation    | params | HTTP                        |
//! |--------------|--------|-----------------------------|
//! | `revoke-key` | id     | `POST /v1/keys/{id}/revoke` |
//!
//! The plugin only declares the auth ([`Provider::auth`]). The host reads the
//! parts `client-id` (`ACMEAUTH_CLIENT_ID`) and `client-secret`
//! (`ACMEAUTH_CLIENT_SECRET`), asks `POST /oauth/token` on the provider's base
//! URL for a token with scope `keys:revoke`, sends it as
//! `Authorization: Bearer …`, caches it until shortly before it expires, and
//! fetches another when the API answers 401. Neither the secret nor the token
//! ever reaches the plugin or any output.
//!
//! Sans-IO: the plugin plans requests and reads responses; Revoker sends them.

use revoker_plugin_api::{
    Auth, HttpRequest, HttpResponse, Manifest, Method, OperationDetails, OperationKind,
    OperationSpec, Outcome, OutcomeKind, ParamKind, ParamSpec, Params, PluginError, Provider,
    RateLimit, encode_path_segment,
};

/// The AcmeAuth provider.
pub struct AcmeAuth;

impl Provider for AcmeAuth {
    fn manifest() -> Manifest {
        Manifest::new(
            "acmeauth",
            env!("CARGO_PKG_VERSION"),
            "https://api.acmeauth.example",
        )
        .description("AcmeAuth API keys (OAuth 2.0 client credentials)")
        .default_rate(RateLimit {
            requests: 10,
            per_seconds: 1,
        })
        .operation(
            OperationSpec::new("revoke-key", OperationKind::Revoke)
                .summary("Revoke an API key by its id")
                .idempotent(true)
                .param(ParamSpec::required("id", ParamKind::String, "the key's id")),
        )
    }

    fn auth() -> Option<Auth> {
        Some(Auth::oauth2_client_credentials(
            "/oauth/token",
            "keys:revoke",
            "ACMEAUTH_CLIENT_ID",
            "ACMEAUTH_CLIENT_SECRET",
        ))
    }

    /// What each operation sends, as `revoker describe` shows it (plugin API
    /// 1.3). A plugin with an operation table says it with
    /// `Operation::request` instead.
    fn details() -> Vec<OperationDetails> {
        let mut revoke = OperationDetails::new("revoke-key");
        revoke.method = Method::Post.as_str().into();
        revoke.path = "/v1/keys/{id}/revoke".into();
        revoke.success = "200 OK or 204 No Content (409: revoked before)".into();
        vec![revoke]
    }

    fn plan(operation: &str, params: &Params) -> Result<HttpRequest, PluginError> {
        match operation {
            "revoke-key" => {
                let id = encode_path_segment(params.require("id")?);
                Ok(HttpRequest::new(
                    Method::Post,
                    format!("/v1/keys/{id}/revoke"),
                ))
            }
            other => Err(PluginError::unknown_operation(other)),
        }
    }

    fn interpret(
        operation: &str,
        _params: &Params,
        response: &HttpResponse,
    ) -> Result<Outcome, PluginError> {
        if operation != "revoke-key" {
            return Err(PluginError::unknown_operation(operation));
        }
        Ok(match response.status {
            200 | 204 => Outcome::new(OutcomeKind::Revoked),
            409 => Outcome::new(OutcomeKind::AlreadyRevoked),
            status => Outcome::from_status(status).detail(response.body_snippet()),
        })
    }
}

revoker_plugin_api::export_provider!(AcmeAuth);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_key_posts_to_the_encoded_id() {
        let request = AcmeAuth::plan("revoke-key", &Params::from_pairs([("id", "k/1")])).unwrap();
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path, "/v1/keys/k%2F1/revoke");
        assert!(request.body.is_none());
    }

    #[test]
    fn the_declared_request_is_the_one_planned() {
        let request = AcmeAuth::plan("revoke-key", &Params::from_pairs([("id", "k/1")])).unwrap();
        let details = AcmeAuth::details();
        assert_eq!(details.len(), 1);
        assert_eq!(details[0].operation, "revoke-key");
        assert_eq!(details[0].method, request.method.as_str());
        let path = details[0].path.replace("{id}", &encode_path_segment("k/1"));
        assert_eq!(request.path, path.as_str());
        assert!(details[0].success.starts_with("200 OK or 204 No Content"));
    }

    #[test]
    fn the_auth_is_client_credentials_with_its_scope() {
        let auth = AcmeAuth::auth().unwrap();
        assert_eq!(auth.kind, "oauth2-client-credentials");
        assert_eq!(auth.setting("token-path"), Some("/oauth/token"));
        assert_eq!(auth.setting("scope"), Some("keys:revoke"));
        assert_eq!(auth.part("client-id").unwrap().env, "ACMEAUTH_CLIENT_ID");
        assert!(auth.parts.iter().all(|p| p.secret));
    }

    #[test]
    fn documented_answers_are_read() {
        let params = Params::new();
        let read = |status| {
            AcmeAuth::interpret("revoke-key", &params, &HttpResponse::new(status, ""))
                .unwrap()
                .kind
        };
        assert_eq!(read(204), OutcomeKind::Revoked);
        assert_eq!(read(409), OutcomeKind::AlreadyRevoked);
        assert_eq!(read(404), OutcomeKind::NotFound);
        assert_eq!(read(401), OutcomeKind::Unauthorized);
    }

    #[test]
    fn no_input_or_response_makes_it_panic() {
        revoker_plugin_api::testing::fuzz_provider::<AcmeAuth>(256);
    }
}
