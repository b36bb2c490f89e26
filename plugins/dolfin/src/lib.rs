//! Revoker provider plugin for [Dolfin](https://docs.dolfinai.co) API keys.
//!
//! Sans-IO: it plans requests and interprets responses; the host sends them.
//!
//! | operation        | params    | HTTP                           |
//! |------------------|-----------|--------------------------------|
//! | `revoke-api-key` | id (uuid) | `POST /api-keys/{id}/revoke`   |
//!
//! The credential goes in `x-dolfin-api-key`, read from `DOLFIN_API_KEY`.
//!
//! Dolfin documents no format for its keys: a key a scanner found is claimed
//! only when the scanner's hint names Dolfin, as `needs-id` (the revoke
//! endpoint takes the key's id, which the key does not reveal).

mod requests;
mod resolve;
mod responses;

use revoker_plugin_api::{
    AuthScheme, Manifest, Method, Operation, OperationKind, ParamKind, ParamSpec, Params, Provider,
    Resolution,
};

/// Operation: revoke an API key.
pub const REVOKE_API_KEY: &str = "revoke-api-key";

/// The Dolfin provider.
#[derive(Debug)]
pub struct Dolfin;

impl Provider for Dolfin {
    const OPERATIONS: &'static [Operation] = &[Operation::new(
        REVOKE_API_KEY,
        OperationKind::Revoke,
        requests::revoke_api_key,
        |_, response| Ok(responses::revoke_api_key(response)),
    )
    .request(
        Method::Post,
        "/api-keys/{id}/revoke",
        "204 No Content (409 ApiKey.AlreadyRevoked: revoked before)",
    )
    .describe(|op| {
        op.summary("Revoke an active API key so it can no longer be used")
            .idempotent(true)
            .param(ParamSpec::required(
                "id",
                ParamKind::Uuid,
                "the API key's id (a UUID)",
            ))
    })];

    fn manifest() -> Manifest {
        Manifest::new(
            "dolfin",
            env!("CARGO_PKG_VERSION"),
            "https://api.dolfinai.co",
        )
        .description("Dolfin (AR & AP) API keys")
        .auth(AuthScheme::new("x-dolfin-api-key", ""))
        .credential_env("DOLFIN_API_KEY")
        .operations(Self::OPERATIONS)
    }

    /// A key a scanner's hint says is Dolfin's (Dolfin documents no key
    /// format) needs its id, which the key does not reveal.
    fn resolve(secret: &str, hint: &str, context: &Params) -> Option<Resolution> {
        resolve::resolve(secret, hint, context)
    }
}

revoker_plugin_api::export_provider!(Dolfin);
revoker_plugin_api::standard_tests!(Dolfin);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_describes_the_documented_endpoint() {
        let manifest = Dolfin::manifest();
        assert_eq!(manifest.provider, "dolfin");
        assert_eq!(manifest.auth, AuthScheme::new("x-dolfin-api-key", ""));
        assert_eq!(manifest.credential_env, "DOLFIN_API_KEY");
        let op = manifest.find_operation(REVOKE_API_KEY).unwrap();
        assert!(op.idempotent);
        assert_eq!(op.params[0].kind, ParamKind::Uuid);
    }

    #[test]
    fn the_declared_request_is_the_one_planned() {
        revoker_plugin_api::testing::check_requests_match_plan::<Dolfin>(&[]);
        revoker_plugin_api::testing::check_requests_match_plan::<Dolfin>(&[(
            "id",
            "5CFE30AF-1DE5-409E-BE09-F261445A2DF6",
        )]);
        let details = Dolfin::details();
        assert_eq!(details[0].method, "POST");
        assert_eq!(details[0].path, "/api-keys/{id}/revoke");
        assert!(details[0].success.starts_with("204 No Content"));
    }
}
