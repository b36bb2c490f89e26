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
    AuthScheme, HttpRequest, HttpResponse, Manifest, Method, Operation, OperationKind, Outcome,
    OutcomeKind, ParamKind, ParamSpec, Params, PluginError, Provider, RateLimit, path,
};

/// The Acme provider.
pub struct Acme;

impl Provider for Acme {
    // One entry per operation: the manifest lists them, and plan, interpret and
    // secret_params dispatch through them (an unknown operation is refused).
    const OPERATIONS: &'static [Operation] = &[
        Operation::new(
            "revoke-key",
            OperationKind::Revoke,
            plan_revoke_key,
            read_revoke_key,
        )
        // What it sends, as `revoker describe` shows it: each parameter of the
        // path as `{name}`. The plan function still builds the request; a test
        // below checks that the two agree.
        .request(
            Method::Delete,
            "/v1/keys/{id}",
            "204 No Content (409: revoked before)",
        )
        .describe(|op| {
            op.summary("Revoke an API key by its id")
                .idempotent(true)
                .param(ParamSpec::required("id", ParamKind::String, "the key's id"))
        }),
        Operation::new(
            "revoke-token",
            OperationKind::Revoke,
            plan_revoke_token,
            read_revoke_token,
        )
        .request(
            Method::Post,
            "/oauth/revoke",
            "200 OK (also for an unknown token)",
        )
        .describe(|op| {
            op.summary("Revoke an OAuth token (RFC 7009)")
                .idempotent(true)
                .param(ParamSpec::required(
                    "token",
                    ParamKind::String,
                    "the token itself",
                ))
        })
        // The token is the secret itself: Revoker never shows or records it.
        .secret_params(&["token"]),
    ];

    fn manifest() -> Manifest {
        Manifest::new(
            "acme",
            env!("CARGO_PKG_VERSION"),
            "https://api.acme.example",
        )
        .description("Acme API keys and OAuth tokens")
        .auth(AuthScheme::new("Authorization", "Bearer "))
        .credential_env("ACME_TOKEN")
        .default_rate(RateLimit {
            requests: 10,
            per_seconds: 1,
        })
        .operations(Self::OPERATIONS)
    }
}

revoker_plugin_api::export_provider!(Acme);

/// `DELETE /v1/keys/{id}`, the id one encoded path segment.
fn plan_revoke_key(params: &Params) -> Result<HttpRequest, PluginError> {
    let id = params.require_kind("id", ParamKind::String)?;
    Ok(HttpRequest::new(Method::Delete, path!("/v1/keys/{}", id)))
}

/// 204 revoked, 409 already revoked.
fn read_revoke_key(_params: &Params, response: &HttpResponse) -> Result<Outcome, PluginError> {
    Ok(match response.status {
        204 => Outcome::new(OutcomeKind::Revoked),
        409 => Outcome::new(OutcomeKind::AlreadyRevoked),
        status => failure(status, response),
    })
}

/// `POST /oauth/revoke` with `{"token": …}`.
fn plan_revoke_token(params: &Params) -> Result<HttpRequest, PluginError> {
    let token = params.require_kind("token", ParamKind::String)?;
    Ok(HttpRequest::new(Method::Post, "/oauth/revoke")
        .json_body(format!("{{\"token\":{}}}", json_string(token))))
}

/// 200 revoked (RFC 7009 answers 200 for an unknown token too).
fn read_revoke_token(_params: &Params, response: &HttpResponse) -> Result<Outcome, PluginError> {
    Ok(match response.status {
        200 => Outcome::new(OutcomeKind::Revoked),
        status => failure(status, response),
    })
}

/// Any other status: its usual reading, with a snippet of the body as the
/// detail. (A real plugin reads its provider's error text from the body, e.g.
/// with serde_json, and passes it instead of `None`.)
fn failure(status: u16, response: &HttpResponse) -> Outcome {
    Outcome::from_status(status).error_detail(response, None)
}

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

// The manifest is one Revoker serves, every operation plans and interprets, an
// unknown operation is refused, and no input or response makes it panic.
revoker_plugin_api::standard_tests!(Acme, fuzz_cases = 256);

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
        let read = |op, status| {
            Acme::interpret(op, &params, &HttpResponse::new(status, ""))
                .unwrap()
                .kind
        };
        assert_eq!(read("revoke-key", 204), OutcomeKind::Revoked);
        assert_eq!(read("revoke-key", 409), OutcomeKind::AlreadyRevoked);
        assert_eq!(read("revoke-key", 404), OutcomeKind::NotFound);
        assert_eq!(read("revoke-token", 200), OutcomeKind::Revoked);
        assert_eq!(read("revoke-token", 401), OutcomeKind::Unauthorized);
    }

    #[test]
    fn an_error_body_is_the_detail() {
        let response = HttpResponse::new(500, "<html>down</html>");
        let outcome = Acme::interpret("revoke-key", &Params::new(), &response).unwrap();
        assert_eq!(outcome.kind, OutcomeKind::ProviderError);
        assert_eq!(outcome.detail, "<html>down</html>");
    }

    #[test]
    fn each_declared_request_is_the_one_planned() {
        let details = Acme::details();
        assert_eq!(details.len(), 2);
        for (detail, (id, path)) in details.iter().zip([("k/1", "/v1/keys/k%2F1"), ("", "")]) {
            let params = Params::from_pairs([("id", id), ("token", "t1")]);
            let request = Acme::plan(&detail.operation, &params).unwrap();
            assert_eq!(detail.method, request.method.as_str());
            // The template, `{id}` filled with the encoded value.
            let expected = detail
                .path
                .replace("{id}", &revoker_plugin_api::encode_path_segment(id));
            assert_eq!(request.path, expected.as_str());
            if !path.is_empty() {
                assert_eq!(request.path, path);
            }
            assert!(!detail.success.is_empty());
        }
    }

    #[test]
    fn the_token_is_secret() {
        assert_eq!(Acme::secret_params("revoke-token"), ["token"]);
        assert!(Acme::secret_params("revoke-key").is_empty());
    }
}
