//! A plugin built against revoker-plugin-api 1.2.0: provider `basicold`, HTTP
//! Basic auth (the kinds 1.2 added), an operation table, `DELETE /keys/{id}`,
//! 204 revoked.

use revoker_plugin_api::{
    Auth, HttpRequest, Manifest, Method, Operation, OperationKind, Outcome, OutcomeKind,
    ParamKind, ParamSpec, Params, PluginError, Provider, path,
};

pub struct Basicold;

impl Provider for Basicold {
    const OPERATIONS: &'static [Operation] = &[Operation::new(
        "revoke",
        OperationKind::Revoke,
        plan_revoke,
        |_, response| {
            Ok(match response.status {
                204 => Outcome::new(OutcomeKind::Revoked),
                status => Outcome::from_status(status),
            })
        },
    )
    .describe(|op| {
        op.summary("Revoke a key by id")
            .idempotent(true)
            .param(ParamSpec::required("id", ParamKind::String, "the key's id"))
    })];

    fn manifest() -> Manifest {
        Manifest::new("basicold", "1.2.0", "https://basicold.example").operations(Self::OPERATIONS)
    }

    fn auth() -> Option<Auth> {
        Some(Auth::basic("BASICOLD_USER", "BASICOLD_PASSWORD"))
    }
}

fn plan_revoke(params: &Params) -> Result<HttpRequest, PluginError> {
    let id = params.require("id")?;
    Ok(HttpRequest::new(Method::Delete, path!("/keys/{}", id)))
}

revoker_plugin_api::export_provider!(Basicold);
