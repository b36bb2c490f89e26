//! Revoker provider plugin for [LangWatch](https://langwatch.ai/docs) gateway
//! virtual keys.
//!
//! Sans-IO: it plans requests and interprets responses; the host sends them.
//!
//! | operation            | params | HTTP                                               |
//! |----------------------|--------|----------------------------------------------------|
//! | `revoke-virtual-key` | id     | `POST /api/gateway/v1/virtual-keys/{id}/revoke`    |
//!
//! The credential (a project API key, `sk-lw-…`) goes in `X-Auth-Token`, read
//! from `LANGWATCH_API_KEY`.

mod requests;
mod responses;

use revoker_plugin_api::{
    AuthScheme, HttpRequest, HttpResponse, Manifest, OperationKind, OperationSpec, Outcome,
    ParamKind, ParamSpec, Params, PluginError, Provider,
};

/// Operation: revoke a gateway virtual key.
pub const REVOKE_VIRTUAL_KEY: &str = "revoke-virtual-key";

/// The LangWatch provider.
#[derive(Debug)]
pub struct LangWatch;

impl Provider for LangWatch {
    fn manifest() -> Manifest {
        Manifest::new(
            "langwatch",
            env!("CARGO_PKG_VERSION"),
            "https://app.langwatch.ai",
        )
        .description("LangWatch AI gateway virtual keys")
        .auth(AuthScheme::new("X-Auth-Token", ""))
        .credential_env("LANGWATCH_API_KEY")
        .operation(
            OperationSpec::new(REVOKE_VIRTUAL_KEY, OperationKind::Revoke)
                .summary("Mark a virtual key as revoked; clients using it get 401 within ~60s")
                .idempotent(true)
                .param(ParamSpec::required(
                    "id",
                    ParamKind::String,
                    "the virtual key's id",
                )),
        )
    }

    fn plan(operation: &str, params: &Params) -> Result<HttpRequest, PluginError> {
        match operation {
            REVOKE_VIRTUAL_KEY => requests::revoke_virtual_key(params),
            other => Err(PluginError::unknown_operation(other)),
        }
    }

    fn interpret(
        operation: &str,
        _params: &Params,
        response: &HttpResponse,
    ) -> Result<Outcome, PluginError> {
        match operation {
            REVOKE_VIRTUAL_KEY => Ok(responses::revoke_virtual_key(response)),
            other => Err(PluginError::unknown_operation(other)),
        }
    }
}

revoker_plugin_api::export_provider!(LangWatch);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_describes_the_documented_endpoint() {
        let manifest = LangWatch::manifest();
        assert_eq!(manifest.provider, "langwatch");
        assert_eq!(manifest.default_base_url, "https://app.langwatch.ai");
        assert_eq!(manifest.auth, AuthScheme::new("X-Auth-Token", ""));
        assert_eq!(manifest.credential_env, "LANGWATCH_API_KEY");
        assert!(
            manifest
                .find_operation(REVOKE_VIRTUAL_KEY)
                .unwrap()
                .idempotent
        );
    }

    #[test]
    fn no_input_or_response_makes_it_panic() {
        revoker_plugin_api::testing::fuzz_provider::<LangWatch>(512);
    }

    #[test]
    fn unknown_operation_is_an_error() {
        let response = HttpResponse::new(200, "");
        let err = LangWatch::interpret("revoke", &Params::new(), &response).unwrap_err();
        assert_eq!(err.message, "unknown operation \"revoke\"");
    }
}
