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
//!
//! A LangWatch key a scanner found (`sk-lw-…`) is claimed as `needs-id`: the
//! revoke endpoint takes the virtual key's id, which the key does not reveal.

mod requests;
mod resolve;
mod responses;

use revoker_plugin_api::{
    AuthScheme, Manifest, Method, Operation, OperationKind, ParamKind, ParamSpec, Params, Provider,
    Resolution,
};

/// Operation: revoke a gateway virtual key.
pub const REVOKE_VIRTUAL_KEY: &str = "revoke-virtual-key";

/// The LangWatch provider.
#[derive(Debug)]
pub struct LangWatch;

impl Provider for LangWatch {
    const OPERATIONS: &'static [Operation] = &[Operation::new(
        REVOKE_VIRTUAL_KEY,
        OperationKind::Revoke,
        requests::revoke_virtual_key,
        |_, response| Ok(responses::revoke_virtual_key(response)),
    )
    .request(
        Method::Post,
        "/api/gateway/v1/virtual-keys/{id}/revoke",
        "200 with {\"virtual_key\": {\"status\": \"revoked\", …}}",
    )
    .describe(|op| {
        op.summary("Mark a virtual key as revoked; clients using it get 401 within ~60s")
            .idempotent(true)
            .param(ParamSpec::required(
                "id",
                ParamKind::String,
                "the virtual key's id",
            ))
    })];

    fn manifest() -> Manifest {
        Manifest::new(
            "langwatch",
            env!("CARGO_PKG_VERSION"),
            "https://app.langwatch.ai",
        )
        .description("LangWatch AI gateway virtual keys")
        .auth(AuthScheme::new("X-Auth-Token", ""))
        .credential_env("LANGWATCH_API_KEY")
        .operations(Self::OPERATIONS)
    }

    /// A LangWatch key (`sk-lw-…`, or a scanner's hint naming LangWatch)
    /// needs its virtual key's id, which the key does not reveal.
    fn resolve(secret: &str, hint: &str, context: &Params) -> Option<Resolution> {
        resolve::resolve(secret, hint, context)
    }
}

revoker_plugin_api::export_provider!(LangWatch);
revoker_plugin_api::standard_tests!(LangWatch);

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
    fn the_declared_request_is_the_one_planned() {
        revoker_plugin_api::testing::check_requests_match_plan::<LangWatch>(&[(
            "id",
            "vk_01HX/../a b",
        )]);
        let details = LangWatch::details();
        assert_eq!(details[0].method, "POST");
        assert_eq!(details[0].path, "/api/gateway/v1/virtual-keys/{id}/revoke");
    }
}
