//! A plugin built against revoker-plugin-api 1.0.0: provider `oldtimer`, one
//! operation, `POST /keys/{id}/revoke`, 204 revoked.

use revoker_plugin_api::{
    AuthScheme, HttpRequest, HttpResponse, Manifest, Method, OperationKind, OperationSpec,
    Outcome, OutcomeKind, ParamKind, ParamSpec, Params, PluginError, Provider,
    encode_path_segment,
};

pub struct Oldtimer;

impl Provider for Oldtimer {
    fn manifest() -> Manifest {
        Manifest::new("oldtimer", "1.0.0", "https://oldtimer.example")
            .auth(AuthScheme::new("X-Oldtimer-Key", ""))
            .operation(
                OperationSpec::new("revoke", OperationKind::Revoke)
                    .idempotent(true)
                    .param(ParamSpec::required("id", ParamKind::String, "the key")),
            )
    }

    fn plan(_: &str, params: &Params) -> Result<HttpRequest, PluginError> {
        let id = encode_path_segment(params.require("id")?);
        Ok(HttpRequest::new(Method::Post, format!("/keys/{id}/revoke")))
    }

    fn interpret(_: &str, _: &Params, response: &HttpResponse) -> Result<Outcome, PluginError> {
        Ok(match response.status {
            204 => Outcome::new(OutcomeKind::Revoked),
            status => Outcome::from_status(status),
        })
    }
}

revoker_plugin_api::export_provider!(Oldtimer);
