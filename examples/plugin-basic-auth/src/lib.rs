//! Revoker provider plugin for the (imaginary) Twilly API, which authenticates
//! with HTTP Basic as Twilio's does: the account SID is the user, the auth token
//! the password.
//!
//! | operation        | params                    | HTTP                                                        |
//! |------------------|---------------------------|-------------------------------------------------------------|
//! | `revoke-api-key` | account-sid, key-sid      | `DELETE /2010-04-01/Accounts/{account-sid}/Keys/{key-sid}.json` |
//!
//! The plugin only declares the auth ([`Provider::auth`]); the host reads the
//! parts `user` (`TWILLY_ACCOUNT_SID`) and `password` (`TWILLY_AUTH_TOKEN`),
//! sends `Authorization: Basic base64(user:password)`, and never gives the
//! token to the plugin. The account SID is declared public, so the host may
//! show it and fills `account-sid` with it when a request leaves it out.
//!
//! Sans-IO: the plugin plans requests and reads responses; Revoker sends them.

use revoker_plugin_api::{
    Auth, HttpRequest, HttpResponse, Manifest, Method, OperationDetails, OperationKind,
    OperationSpec, Outcome, OutcomeKind, ParamKind, ParamSpec, Params, PluginError, Provider,
    RateLimit, encode_path_segment,
};

/// The Twilly provider.
pub struct Twilly;

impl Provider for Twilly {
    fn manifest() -> Manifest {
        Manifest::new(
            "twilly",
            env!("CARGO_PKG_VERSION"),
            "https://api.twilly.example",
        )
        .description("Twilly API keys (HTTP Basic: account SID and auth token)")
        .default_rate(RateLimit {
            requests: 10,
            per_seconds: 1,
        })
        .operation(
            OperationSpec::new("revoke-api-key", OperationKind::Revoke)
                .summary("Delete an API key of an account")
                .idempotent(true)
                .param(ParamSpec::required(
                    "account-sid",
                    ParamKind::String,
                    "the account's SID (AC…); by default the credential's own, TWILLY_ACCOUNT_SID",
                ))
                .param(ParamSpec::required(
                    "key-sid",
                    ParamKind::String,
                    "the key's SID (SK…)",
                )),
        )
    }

    fn auth() -> Option<Auth> {
        Some(
            Auth::basic("TWILLY_ACCOUNT_SID", "TWILLY_AUTH_TOKEN")
                // The account SID is an identifier, not a secret: it may be shown,
                // and it is the account whose keys are revoked unless told otherwise.
                .public_part("user")
                .part_as_param("user", "account-sid"),
        )
    }

    /// What each operation sends, as `revoker describe` shows it (plugin API
    /// 1.3). A plugin with an operation table says it with
    /// `Operation::request` instead.
    fn details() -> Vec<OperationDetails> {
        let mut revoke = OperationDetails::new("revoke-api-key");
        revoke.method = Method::Delete.as_str().into();
        revoke.path = "/2010-04-01/Accounts/{account-sid}/Keys/{key-sid}.json".into();
        revoke.success = "204 No Content".into();
        vec![revoke]
    }

    fn plan(operation: &str, params: &Params) -> Result<HttpRequest, PluginError> {
        match operation {
            "revoke-api-key" => {
                let account = sid(params, "account-sid", "AC")?;
                let key = sid(params, "key-sid", "SK")?;
                Ok(HttpRequest::new(
                    Method::Delete,
                    format!("/2010-04-01/Accounts/{account}/Keys/{key}.json"),
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
        if operation != "revoke-api-key" {
            return Err(PluginError::unknown_operation(operation));
        }
        Ok(match response.status {
            204 => Outcome::new(OutcomeKind::Revoked),
            404 => Outcome::new(OutcomeKind::NotFound).detail(response.body_snippet()),
            401 => Outcome::new(OutcomeKind::Unauthorized).detail(response.body_snippet()),
            status => Outcome::from_status(status).detail(response.body_snippet()),
        })
    }
}

revoker_plugin_api::export_provider!(Twilly);

/// Parameter `name`, which must start with `prefix` (`AC` for an account, `SK`
/// for a key), percent-encoded for the path.
fn sid(params: &Params, name: &str, prefix: &str) -> Result<String, PluginError> {
    let value = params.require(name)?;
    if !value.starts_with(prefix) || value.len() <= prefix.len() {
        return Err(PluginError::invalid_param(
            name,
            format!("must be a SID starting with {prefix}"),
        ));
    }
    Ok(encode_path_segment(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoke_is_a_delete_under_the_account() {
        let params = Params::from_pairs([("account-sid", "AC1"), ("key-sid", "SK/2")]);
        let request = Twilly::plan("revoke-api-key", &params).unwrap();
        assert_eq!(request.method, Method::Delete);
        assert_eq!(request.path, "/2010-04-01/Accounts/AC1/Keys/SK%2F2.json");
        assert!(request.body.is_none());
    }

    #[test]
    fn the_declared_request_is_the_one_planned() {
        let params = Params::from_pairs([("account-sid", "AC1"), ("key-sid", "SK/2")]);
        let request = Twilly::plan("revoke-api-key", &params).unwrap();
        let details = Twilly::details();
        assert_eq!(details.len(), 1);
        assert_eq!(details[0].operation, "revoke-api-key");
        assert_eq!(details[0].method, request.method.as_str());
        let path = details[0]
            .path
            .replace("{account-sid}", "AC1")
            .replace("{key-sid}", &encode_path_segment("SK/2"));
        assert_eq!(request.path, path.as_str());
        assert_eq!(details[0].success, "204 No Content");
    }

    #[test]
    fn a_sid_of_the_wrong_kind_is_refused() {
        let params = Params::from_pairs([("account-sid", "SK1"), ("key-sid", "SK2")]);
        let error = Twilly::plan("revoke-api-key", &params).unwrap_err();
        assert_eq!(error.param.into_option().unwrap(), "account-sid");
    }

    #[test]
    fn the_account_sid_is_a_public_part_that_fills_its_param() {
        let auth = Twilly::auth().unwrap();
        assert_eq!(auth.kind, "basic");
        let user = auth.part("user").unwrap();
        assert!(!user.secret);
        assert_eq!(user.param.as_ref().into_option().unwrap(), "account-sid");
        assert!(auth.part("password").unwrap().secret);
    }

    #[test]
    fn documented_answers_are_read() {
        let params = Params::new();
        let read = |status| {
            Twilly::interpret("revoke-api-key", &params, &HttpResponse::new(status, ""))
                .unwrap()
                .kind
        };
        assert_eq!(read(204), OutcomeKind::Revoked);
        assert_eq!(read(404), OutcomeKind::NotFound);
        assert_eq!(read(401), OutcomeKind::Unauthorized);
        assert_eq!(read(500), OutcomeKind::ProviderError);
    }

    #[test]
    fn no_input_or_response_makes_it_panic() {
        revoker_plugin_api::testing::fuzz_provider::<Twilly>(256);
    }
}
