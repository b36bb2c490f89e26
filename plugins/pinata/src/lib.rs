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
//! The credential (an admin JWT) goes in `Authorization: Bearer …`, read from
//! `PINATA_JWT`.

mod requests;
mod responses;

use revoker_plugin_api::{
    AuthScheme, HttpRequest, HttpResponse, Manifest, OperationKind, OperationSpec, Outcome,
    ParamKind, ParamSpec, Params, PluginError, Provider,
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

impl Provider for Pinata {
    fn manifest() -> Manifest {
        let gateway_id =
            || ParamSpec::required("gateway-id", ParamKind::String, "the gateway's id");
        Manifest::new(
            "pinata",
            env!("CARGO_PKG_VERSION"),
            "https://api.pinata.cloud",
        )
        .description("Pinata IPFS gateway keys and API keys")
        .auth(AuthScheme::new("Authorization", "Bearer "))
        .credential_env("PINATA_JWT")
        .operation(
            OperationSpec::new(REVOKE_GATEWAY_KEY, OperationKind::Revoke)
                .summary("Revoke a gateway key")
                .idempotent(true)
                .param(gateway_id())
                .param(ParamSpec::required(
                    "key-id",
                    ParamKind::String,
                    "the gateway key's id",
                )),
        )
        .operation(
            OperationSpec::new(CREATE_GATEWAY_KEY, OperationKind::Create)
                .summary("Create a gateway key; its value is shown once")
                .idempotent(false)
                .param(gateway_id()),
        )
        .operation(
            OperationSpec::new(REVOKE_API_KEY, OperationKind::Revoke)
                .summary("Revoke an API key by its public key (needs an admin key)")
                .idempotent(true)
                .param(ParamSpec::required(
                    "api-key",
                    ParamKind::String,
                    "the public API key to revoke (not the secret, not the JWT)",
                )),
        )
    }

    fn plan(operation: &str, params: &Params) -> Result<HttpRequest, PluginError> {
        match operation {
            REVOKE_GATEWAY_KEY => requests::revoke_gateway_key(params),
            CREATE_GATEWAY_KEY => requests::create_gateway_key(params),
            REVOKE_API_KEY => requests::revoke_api_key(params),
            other => Err(PluginError::unknown_operation(other)),
        }
    }

    fn interpret(
        operation: &str,
        _params: &Params,
        response: &HttpResponse,
    ) -> Result<Outcome, PluginError> {
        match operation {
            REVOKE_GATEWAY_KEY => Ok(responses::revoke_gateway_key(response)),
            CREATE_GATEWAY_KEY => Ok(responses::create_gateway_key(response)),
            REVOKE_API_KEY => Ok(responses::revoke_api_key(response)),
            other => Err(PluginError::unknown_operation(other)),
        }
    }
}

revoker_plugin_api::export_provider!(Pinata);

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
    fn no_input_or_response_makes_it_panic() {
        revoker_plugin_api::testing::fuzz_provider::<Pinata>(512);
    }

    #[test]
    fn every_manifest_operation_can_be_planned_and_interpreted() {
        for op in Pinata::manifest().operations.iter() {
            let params = Params::from_pairs(op.params.iter().map(|p| (p.name.as_str(), "x1")));
            assert!(Pinata::plan(&op.name, &params).is_ok(), "{}", op.name);
            let response = HttpResponse::new(500, "");
            assert!(
                Pinata::interpret(&op.name, &params, &response).is_ok(),
                "{}",
                op.name
            );
        }
    }
}
