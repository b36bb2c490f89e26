//! Revoker provider plugin for [GitHub](https://docs.github.com/en/rest/credentials/revoke?apiVersion=2022-11-28)
//! tokens, revoked by their value.
//!
//! Sans-IO: it plans requests and interprets responses; the host sends them.
//! GitHub's "Revoke a list of credentials" endpoint kills tokens the caller
//! does not own, so the plugin's auth kind is `none`: the host sends no
//! `Authorization` header (GitHub answers an authenticated request 403). The
//! token to kill is the operation's secret parameter `credential`, which the
//! host never shows, logs or records.
//!
//! | operation           | params                | HTTP                                                       |
//! |---------------------|-----------------------|------------------------------------------------------------|
//! | `revoke-credential` | credential (secret)   | `POST /credentials/revoke`, JSON `{"credentials": [...]}`  |
//!
//! * **Batched**: up to 1,000 credentials travel in one request; a single
//!   line is a batch of one.
//! * **Asynchronous**: GitHub answers `202 Accepted` and revokes later (and
//!   notifies the tokens' owners), so the host reports such a line
//!   `accepted`, not `revoked`. The answer does not say whether each token
//!   existed.
//! * **Accepted tokens**, by their documented prefixes: `ghp_` (personal
//!   access token, classic), `github_pat_` (fine-grained personal access
//!   token), `gho_` (OAuth app access token), `ghu_` (GitHub App
//!   user-to-server token), `ghr_` (GitHub App refresh token). GitHub
//!   documents no length or alphabet for what follows, so none is checked:
//!   a value must start with one of these prefixes (lowercase, as written)
//!   and have something after it, with no control characters. Anything else
//!   is refused before anything is sent, with a message that names the
//!   value's length, never the value.
//! * **Rate**: 60 unauthenticated requests an hour (up to 60,000 credentials),
//!   the manifest's default rate. Past it GitHub answers 403 or 429 with
//!   `x-ratelimit-remaining: 0`: that is `rate-limited`, never `forbidden`.
//! * **Scanners**: [`Provider::resolve`] claims a secret of one of these
//!   shapes, whatever the scanner called it, as `revoke-credential` with the
//!   secret as `credential` (filled by the host at send time; the resolution
//!   holds no secret).
//!
//! GitHub's answer says nothing of each credential, so one outcome stands for
//! every line of the request:
//!
//! | answer                                             | outcome           |
//! |----------------------------------------------------|-------------------|
//! | `202 Accepted`                                     | `revoked`, which the host reports `accepted` (the operation is asynchronous) |
//! | `403` or `429` with `x-ratelimit-remaining: 0`     | `rate-limited` (throttling, not a permission error) |
//! | `403` otherwise (GitHub's answer to an authenticated request) | `forbidden` |
//! | `422` (validation failed, or the endpoint has been spammed) | `invalid-request` for the whole batch: the host splits it to find the bad lines |
//! | `500` (internal error)                             | `provider-error`  |
//! | another `2xx`                                      | `provider-error`  |
//! | anything else                                      | the usual reading of its status (`429` `rate-limited`, `401` `unauthorized`, `404` `not-found`, `400` `invalid-request`, others `provider-error`) |
//!
//! The header is read in any letter case. An outcome's detail is GitHub's
//! `message` (and what its `errors` say), else a snippet of the body; every
//! credential of the request found in it is replaced by `<redacted>`.
//!
//! The base URL is `https://api.github.com` unless `REVOKER_GITHUB_BASE_URL`
//! (or the configuration) says otherwise; the tokens go nowhere else.
//!
//! Not here: confirming that a token is dead. GitHub answers `GET /user` 401
//! once a token is revoked, but only with the token itself as
//! `Authorization: Bearer`, which a plugin may not set and an auth kind of
//! one credential per provider cannot carry for each line.

mod credential;
mod requests;
mod responses;

use revoker_plugin_api::{
    Auth, Manifest, Method, Operation, OperationKind, ParamKind, ParamSpec, Params, Provider,
    RateLimit, Resolution, ResolvedCall,
};

pub use credential::CREDENTIAL;

/// Operation: revoke credentials by their value.
pub const REVOKE_CREDENTIAL: &str = "revoke-credential";

/// The most credentials one request carries, as GitHub documents.
pub const MAX_BATCH: u32 = requests::MAX_BATCH as u32;

/// GitHub's documented limit for unauthenticated requests: 60 an hour.
pub const DEFAULT_RATE: RateLimit = RateLimit {
    requests: 60,
    per_seconds: 3600,
};

/// The GitHub provider.
#[derive(Debug)]
pub struct Github;

impl Provider for Github {
    const OPERATIONS: &'static [Operation] = &[Operation::new(
        REVOKE_CREDENTIAL,
        OperationKind::Revoke,
        requests::revoke_credential,
        |params, response| Ok(responses::revoke_credential(params, response)),
    )
    .describe(|op| {
        op.summary(
            "Revoke a GitHub token by its value, whoever owns it: GitHub takes it (202), \
             revokes it later and notifies its owner",
        )
        .idempotent(true)
        .param(ParamSpec::required(
            CREDENTIAL,
            ParamKind::String,
            "the token itself: ghp_…, github_pat_…, gho_…, ghu_… or ghr_…",
        ))
    })
    .secret_params(&[CREDENTIAL])
    .request(Method::Post, requests::PATH, "202 Accepted")
    .batched(
        MAX_BATCH,
        requests::revoke_credentials,
        |items, response| Ok(vec![responses::revoke_credentials(items, response)]),
    )
    .asynchronous()];

    fn manifest() -> Manifest {
        Manifest::new(
            "github",
            env!("CARGO_PKG_VERSION"),
            "https://api.github.com",
        )
        .description(
            "GitHub tokens (ghp_, github_pat_, gho_, ghu_, ghr_), revoked by their value \
                 with no credential of your own",
        )
        .default_rate(DEFAULT_RATE)
        .operations(Self::OPERATIONS)
    }

    fn auth() -> Option<Auth> {
        Some(Auth::none())
    }

    fn resolve(secret: &str, _hint: &str, _context: &Params) -> Option<Resolution> {
        let token_type = credential::token_type(secret).ok()?;
        let reason = format!(
            "GitHub token: {} ({}…), revoked by its value",
            token_type.name, token_type.prefix
        );
        Some(Resolution::resolved(
            &reason,
            [ResolvedCall::new(REVOKE_CREDENTIAL, Params::new()).with_secret_param(CREDENTIAL)],
        ))
    }
}

/// A made-up token with `prefix`: not of the shape of a real one (which
/// secret scanners look for), since none is needed.
#[cfg(test)]
pub(crate) fn sample_token(prefix: &str) -> String {
    format!("{prefix}made-up-test-token-not-real")
}

revoker_plugin_api::export_provider!(Github);
revoker_plugin_api::standard_tests!(
    Github,
    samples = [(CREDENTIAL, "ghp_made-up-test-token-not-real")]
);

#[cfg(test)]
mod tests {
    use revoker_plugin_api::abi_stable::std_types::{ROption, RSlice, RStr};
    use revoker_plugin_api::{HttpResponse, OutcomeKind, PluginErrorKind, ResolutionKind, testing};

    use super::*;

    #[test]
    fn manifest_describes_the_documented_endpoint() {
        let manifest = testing::exported_manifest::<Github>();
        assert_eq!(manifest.provider, "github");
        assert_eq!(manifest.default_base_url, "https://api.github.com");
        assert!(!manifest.description.is_empty());
        assert_eq!(
            manifest.default_rate,
            ROption::RSome(RateLimit {
                requests: 60,
                per_seconds: 3600
            })
        );
        assert_eq!(manifest.operations.len(), 1);
        let op = manifest.find_operation(REVOKE_CREDENTIAL).unwrap();
        assert_eq!(op.kind, OperationKind::Revoke);
        assert!(
            op.idempotent,
            "a batch may be sent again only if idempotent"
        );
        assert_eq!(op.params.len(), 1);
        assert_eq!(op.params[0].name, CREDENTIAL);
        assert!(op.params[0].required);
        assert_eq!(Github::secret_params(REVOKE_CREDENTIAL), [CREDENTIAL]);
    }

    #[test]
    fn the_declared_request_is_what_plan_sends() {
        testing::check_requests_match_plan::<Github>(&[(CREDENTIAL, &sample_token("ghp_"))]);
    }

    #[test]
    fn details_say_batched_asynchronous_post() {
        let details = Github::details();
        assert_eq!(details.len(), 1);
        let details = &details[0];
        assert_eq!(details.operation, REVOKE_CREDENTIAL);
        assert_eq!(details.method, "POST");
        assert_eq!(details.path, "/credentials/revoke");
        assert_eq!(details.success, "202 Accepted");
        assert_eq!(details.batch, 1000);
        assert!(details.asynchronous);
    }

    #[test]
    fn the_exported_module_sends_no_credential_and_needs_a_1_3_host() {
        let module = revoker_root_module();
        let manifest = module.manifest()().unwrap();
        // A host older than plugin API 1.2 refuses it rather than send a header.
        assert!(
            manifest.auth.header.contains("none"),
            "{}",
            manifest.auth.header
        );
        let auth = module.auth().unwrap()().unwrap().into_option().unwrap();
        assert_eq!(auth, Auth::none());
        let features = module.requires().unwrap()().unwrap();
        let names: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["auth:none", "batch", "outcome:accepted"]);
    }

    #[test]
    fn a_batch_goes_through_the_exported_module() {
        let module = revoker_root_module();
        let items: Vec<Params> = ["ghp_one", "gho_two"]
            .iter()
            .map(|t| Params::from_pairs([(CREDENTIAL, *t)]))
            .collect();
        let operation = RStr::from(REVOKE_CREDENTIAL);
        let request = module.plan_batch().unwrap()(operation, RSlice::from(&items[..])).unwrap();
        assert_eq!(
            request.body_text(),
            Some(r#"{"credentials":["ghp_one","gho_two"]}"#)
        );
        let outcomes = module.interpret_batch().unwrap()(
            operation,
            RSlice::from(&items[..]),
            &HttpResponse::new(202, ""),
        )
        .unwrap();
        assert_eq!(outcomes.len(), 1, "one outcome for every line");
        assert_eq!(outcomes[0].kind, OutcomeKind::Revoked);
        let outcomes = module.interpret_batch().unwrap()(
            operation,
            RSlice::from(&items[..]),
            &HttpResponse::new(422, ""),
        )
        .unwrap();
        assert_eq!(outcomes[0].kind, OutcomeKind::InvalidRequest);
        let err =
            module.plan_batch().unwrap()(operation, RSlice::from(&[] as &[Params])).unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::Internal);
    }

    #[test]
    fn plan_refuses_a_bad_token_before_anything_is_sent_without_showing_it() {
        let secret = "not-a-github-token-but-secret-anyway";
        let params = Params::from_pairs([(CREDENTIAL, secret)]);
        let err = Github::plan(REVOKE_CREDENTIAL, &params).unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::InvalidParam);
        assert!(!err.message.contains(secret));
        assert!(!format!("{err:?}").contains(secret));
        let err = Github::plan_batch(REVOKE_CREDENTIAL, &[params]).unwrap_err();
        assert!(!format!("{err:?}").contains(secret));
        let err = revoker_root_module().plan()(
            RStr::from(REVOKE_CREDENTIAL),
            &Params::from_pairs([(CREDENTIAL, secret)]),
        )
        .unwrap_err();
        assert!(!format!("{err:?}").contains(secret));
    }

    #[test]
    fn resolve_claims_every_documented_shape_whatever_the_hint() {
        for t in credential::TOKEN_TYPES {
            let secret = sample_token(t.prefix);
            for hint in [
                "",
                "Github",
                "github-pat",
                "AWS",
                "slack-webhook",
                "anything",
            ] {
                let resolution = Github::resolve(&secret, hint, &Params::new()).unwrap();
                assert_eq!(resolution.kind, ResolutionKind::Resolved);
                assert_eq!(resolution.calls.len(), 1);
                assert_eq!(
                    resolution.calls[0],
                    ResolvedCall::new(REVOKE_CREDENTIAL, Params::new())
                        .with_secret_param(CREDENTIAL)
                );
                assert!(resolution.lookup.is_none());
                assert!(resolution.reason.contains(t.name), "{}", resolution.reason);
                // No part of the secret past its public prefix.
                let debug = format!("{resolution:?}");
                assert!(!debug.contains(&secret[t.prefix.len()..]), "{debug}");
            }
        }
        let context = Params::from_pairs([("delete", "true")]);
        assert!(Github::resolve(&sample_token("github_pat_"), "", &context).is_some());
    }

    #[test]
    fn resolve_leaves_other_secrets_alone() {
        for secret in [
            "",
            "ghp_",
            "github_pat_",
            "ghs_made-up-test-token-not-real",
            "GHP_made-up-test-token-not-real",
            " ghp_made-up-test-token-not-real",
            "ghp_made-up-test-token-not-real\n",
            "AKIAIOSFODNN7EXAMPLE",
            "xoxb-1234",
            "ghр_made-up-test",
        ] {
            assert_eq!(
                Github::resolve(secret, "github", &Params::new()),
                None,
                "{secret:?}"
            );
        }
    }

    #[test]
    fn resolve_through_the_exported_module() {
        let module = revoker_root_module();
        let secret = sample_token("ghu_");
        let resolution =
            module.resolve().unwrap()(RStr::from(secret.as_str()), RStr::from(""), &Params::new())
                .unwrap()
                .into_option()
                .unwrap();
        assert_eq!(
            resolution.calls[0].secret_param,
            ROption::RSome(CREDENTIAL.into())
        );
        assert!(!format!("{resolution:?}").contains(&secret));
        let none = module.resolve().unwrap()(RStr::from("nope"), RStr::from(""), &Params::new());
        assert_eq!(none.unwrap().into_option(), None);
    }

    #[test]
    fn plan_and_resolve_agree() {
        for secret in ["ghp_x", "ghp_", "gh", "ghs_x", "github_pat_ab c", "ghr_\t"] {
            let params = Params::from_pairs([(CREDENTIAL, secret)]);
            assert_eq!(
                Github::plan(REVOKE_CREDENTIAL, &params).is_ok(),
                Github::resolve(secret, "", &Params::new()).is_some(),
                "{secret:?}"
            );
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn strings() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "\\PC{0,64}",
                "(ghp_|github_pat_|gho_|ghu_|ghr_|ghs_|GHP_| )[\\s\\S]{0,64}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 512,
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            #[test]
            fn plan_and_resolve_never_panic(secret in strings(), hint in any::<String>()) {
                let params = Params::from_pairs([(CREDENTIAL, secret.as_str())]);
                let planned = Github::plan(REVOKE_CREDENTIAL, &params);
                let batch = Github::plan_batch(REVOKE_CREDENTIAL, &[params.clone(), params.clone()]);
                let resolved = Github::resolve(&secret, &hint, &Params::new());
                prop_assert_eq!(planned.is_ok(), resolved.is_some());
                prop_assert_eq!(planned.is_ok(), batch.is_ok());
                match planned {
                    Ok(request) => {
                        let body: serde_json::Value =
                            serde_json::from_str(request.body_text().unwrap()).unwrap();
                        prop_assert_eq!(&body["credentials"][0], &serde_json::Value::from(secret.clone()));
                    }
                    Err(error) => {
                        prop_assert_eq!(error.kind, PluginErrorKind::InvalidParam);
                        // A value the message may hold without showing it: a
                        // documented prefix, or a few characters of the words.
                        if secret.chars().count() > 11 {
                            prop_assert!(!error.message.contains(secret.as_str()), "{}", error.message);
                        }
                    }
                }
                if let Some(resolution) = resolved {
                    let debug = format!("{resolution:?}");
                    let token_type = credential::token_type(&secret).unwrap();
                    let rest = &secret[token_type.prefix.len()..];
                    if rest.chars().count() > 8 {
                        prop_assert!(!debug.contains(rest), "{}", debug);
                    }
                }
            }

            #[test]
            fn answers_never_panic_and_never_show_a_credential(
                secret in "(ghp_|gho_)[A-Za-z0-9]{12,40}",
                status in any::<u16>(),
                remaining in proptest::option::of("[0-9 ]{0,3}"),
                filler in "\\PC{0,300}",
            ) {
                let items = [Params::from_pairs([(CREDENTIAL, secret.as_str())])];
                let body = format!("{filler}{secret}{filler}");
                let mut response = HttpResponse::new(status, body);
                if let Some(remaining) = remaining {
                    response = response.header("X-RateLimit-Remaining", &remaining);
                }
                let outcomes = Github::interpret_batch(REVOKE_CREDENTIAL, &items, &response).unwrap();
                prop_assert_eq!(outcomes.len(), 1);
                prop_assert!(!outcomes[0].detail.contains(secret.as_str()), "{}", outcomes[0].detail);
                let single = Github::interpret(REVOKE_CREDENTIAL, &items[0], &response).unwrap();
                prop_assert_eq!(&single, &outcomes[0]);
            }
        }
    }
}
