//! Revoker provider plugin for [Pinata](https://docs.pinata.cloud) gateway keys
//! and API keys.
//!
//! Sans-IO: it plans requests and interprets responses; the host sends them.
//!
//! | operation            | params             | HTTP                                                      |
//! |----------------------|--------------------|-----------------------------------------------------------|
//! | `revoke-gateway-key` | gateway-id, key-id | `DELETE /v3/gateways/{gateway-id}/access_tokens/{key-id}` |
//! | `create-gateway-key` | gateway-id         | `POST /v3/gateways/{gateway-id}/access_tokens`            |
//! | `revoke-api-key`     | api-key            | `PUT /users/revokeApiKey`, body `{"apiKey": …}`           |
//!
//! A Pinata API key a scanner found (a JWT) resolves offline to `revoke-api-key`:
//! its payload names its public key (`scopedKeyKey`).
//!
//! The credential (an admin JWT) goes in `Authorization: Bearer …`, read from
//! `PINATA_JWT`.

mod requests;
mod resolve;
mod responses;

use revoker_plugin_api::{
    AuthScheme, Manifest, Method, Operation, OperationKind, ParamKind, ParamSpec, Params, Provider,
    Resolution,
};

/// Operation: revoke a gateway key (access token).
pub const REVOKE_GATEWAY_KEY: &str = "revoke-gateway-key";
/// Operation: create a gateway key (access token).
pub const CREATE_GATEWAY_KEY: &str = "create-gateway-key";
/// Operation: revoke a (legacy) API key by its public key.
pub const REVOKE_API_KEY: &str = "revoke-api-key";

/// The Pinata provider.
#[derive(Debug)]
pub struct Pinata;

fn gateway_id() -> ParamSpec {
    ParamSpec::required("gateway-id", ParamKind::String, "the gateway's id")
}

impl Provider for Pinata {
    const OPERATIONS: &'static [Operation] = &[
        Operation::new(
            REVOKE_GATEWAY_KEY,
            OperationKind::Revoke,
            requests::revoke_gateway_key,
            |_, response| Ok(responses::revoke_gateway_key(response)),
        )
        .request(
            Method::Delete,
            "/v3/gateways/{gateway-id}/access_tokens/{key-id}",
            "200 with {\"data\": null}",
        )
        .describe(|op| {
            op.summary("Revoke a gateway key")
                .idempotent(true)
                .param(gateway_id())
                .param(ParamSpec::required(
                    "key-id",
                    ParamKind::String,
                    "the gateway key's id",
                ))
        }),
        Operation::new(
            CREATE_GATEWAY_KEY,
            OperationKind::Create,
            requests::create_gateway_key,
            |_, response| Ok(responses::create_gateway_key(response)),
        )
        .request(
            Method::Post,
            "/v3/gateways/{gateway-id}/access_tokens",
            "200 with {\"data\": {\"id\", \"value\", \"createdAt\"}}",
        )
        .describe(|op| {
            op.summary("Create a gateway key; its value is shown once")
                .idempotent(false)
                .param(gateway_id())
        }),
        Operation::new(
            REVOKE_API_KEY,
            OperationKind::Revoke,
            requests::revoke_api_key,
            |_, response| Ok(responses::revoke_api_key(response)),
        )
        .request(Method::Put, "/users/revokeApiKey", "200 with \"Revoked\"")
        .describe(|op| {
            op.summary("Revoke an API key by its public key (needs an admin key)")
                .idempotent(true)
                .param(ParamSpec::required(
                    "api-key",
                    ParamKind::String,
                    "the public API key to revoke (not the secret, not the JWT)",
                ))
        }),
    ];

    fn manifest() -> Manifest {
        Manifest::new(
            "pinata",
            env!("CARGO_PKG_VERSION"),
            "https://api.pinata.cloud",
        )
        .description("Pinata IPFS gateway keys and API keys")
        .auth(AuthScheme::new("Authorization", "Bearer "))
        .credential_env("PINATA_JWT")
        .operations(Self::OPERATIONS)
    }

    /// A Pinata API key (a JWT whose payload is a scoped key) resolves to
    /// `revoke-api-key` with its public key; another JWT is not Pinata's.
    fn resolve(secret: &str, hint: &str, context: &Params) -> Option<Resolution> {
        resolve::resolve(secret, hint, context)
    }
}

revoker_plugin_api::export_provider!(Pinata);
revoker_plugin_api::standard_tests!(Pinata);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_describes_the_three_documented_endpoints() {
        let manifest = Pinata::manifest();
        assert_eq!(manifest.provider, "pinata");
        assert_eq!(manifest.auth, AuthScheme::new("Authorization", "Bearer "));
        assert_eq!(manifest.credential_env, "PINATA_JWT");
        let names: Vec<&str> = manifest
            .operations
            .iter()
            .map(|op| op.name.as_str())
            .collect();
        assert_eq!(
            names,
            [REVOKE_GATEWAY_KEY, CREATE_GATEWAY_KEY, REVOKE_API_KEY]
        );
        let create = manifest.find_operation(CREATE_GATEWAY_KEY).unwrap();
        assert_eq!(create.kind, OperationKind::Create);
        assert!(!create.idempotent, "a create must never be retried blindly");
    }

    #[test]
    fn each_declared_request_is_the_one_planned() {
        revoker_plugin_api::testing::check_requests_match_plan::<Pinata>(&[
            ("gateway-id", "5eb8b151-77b3-4e46-8243-5b6282131a9e"),
            ("key-id", "k/1 ä?"),
            ("api-key", "0a1b2c3d4e5f60718293"),
        ]);
        let details = Pinata::details();
        assert_eq!(details[2].method, "PUT");
        assert_eq!(details[2].path, "/users/revokeApiKey");
        assert_eq!(details[2].success, "200 with \"Revoked\"");
    }
}
