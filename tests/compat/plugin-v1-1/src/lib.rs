//! A plugin built against revoker-plugin-api 1.1.0: provider `secretive`, one
//! operation, `POST /tokens/revoke` with the token itself in the body, declared
//! secret (the function 1.1 added), 200 revoked.

use revoker_plugin_api::{
    AuthScheme, HttpRequest, HttpResponse, Manifest, Method, OperationKind, OperationSpec,
    Outcome, OutcomeKind, ParamKind, ParamSpec, Params, PluginError, Provider,
};

pub struct Secretive;

impl Provider for Secretive {
    fn manifest() -> Manifest {
        Manifest::new("secretive", "1.1.0", "https://secretive.example")
            .auth(AuthScheme::new("X-Secretive-Key", ""))
            .operation(
                OperationSpec::new("revoke-token", OperationKind::Revoke)
                    .idempotent(true)
                    .param(ParamSpec::required("token", ParamKind::String, "the token")),
            )
    }

    fn plan(_: &str, params: &Params) -> Result<HttpRequest, PluginError> {
        let token = params.require("token")?;
        Ok(HttpRequest::new(Method::Post, "/tokens/revoke")
            .json_body(format!("{{\"token\":{token:?}}}")))
    }

    fn interpret(_: &str, _: &Params, response: &HttpResponse) -> Result<Outcome, PluginError> {
        Ok(match response.status {
            200 => Outcome::new(OutcomeKind::Revoked),
            status => Outcome::from_status(status),
        })
    }

    fn secret_params(_: &str) -> Vec<String> {
        vec!["token".to_owned()]
    }
}

revoker_plugin_api::export_provider!(Secretive);
