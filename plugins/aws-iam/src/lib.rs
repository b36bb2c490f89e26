//! Revoker provider plugin for [AWS IAM](https://docs.aws.amazon.com/IAM/latest/APIReference/)
//! access keys.
//!
//! Sans-IO: it plans requests and interprets responses; the host sends them,
//! and signs each one with AWS Signature Version 4 (service `iam`, region
//! `us-east-1`: IAM is global) from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
//! and, for temporary credentials, `AWS_SESSION_TOKEN`. The plugin never sees
//! them.
//!
//! | operation                | params                    | HTTP (AWS Query protocol)                                               |
//! |--------------------------|---------------------------|-------------------------------------------------------------------------|
//! | `deactivate-access-key`  | access-key-id, user-name? | `POST /`, form `Action=UpdateAccessKey&…&AccessKeyId=…&Status=Inactive` |
//! | `delete-access-key`      | access-key-id, user-name? | `POST /`, form `Action=DeleteAccessKey&…&AccessKeyId=…`                 |
//! | `lookup-access-key-user` | access-key-id             | `POST /`, form `Action=GetAccessKeyLastUsed&…&AccessKeyId=…`            |
//!
//! Without `user-name` IAM acts on the keys of the user whose credential signs
//! the request; a key of another user needs its owner's name. Deactivating is
//! reversible and is the step AWS recommends before deleting. IAM is eventually
//! consistent: a key just deactivated may still work for a few seconds.
//!
//! A key a scanner found resolves offline ([`Provider::resolve`]) by its id:
//! deactivate (then delete, if asked), with the owner's name from the
//! finding or from the lookup below.
//!
//! `lookup-access-key-user` revokes nothing: it asks IAM who owns a key
//! (`GetAccessKeyLastUsed`), and its outcome carries the owner's name as the
//! (public) field `user-name`, which the other two take. It is the lookup a
//! resolution runs first when a key id a scanner found comes without its
//! owner's name.

mod requests;
mod resolve;
mod responses;
mod xml;

use revoker_plugin_api::{
    Auth, Manifest, Method, Operation, OperationKind, OperationSpec, ParamKind, ParamSpec, Params,
    Provider, Resolution,
};

/// Operation: deactivate an access key (`UpdateAccessKey`, `Status=Inactive`).
pub const DEACTIVATE_ACCESS_KEY: &str = "deactivate-access-key";
/// Operation: delete an access key (`DeleteAccessKey`).
pub const DELETE_ACCESS_KEY: &str = "delete-access-key";
/// Operation: look up the IAM user who owns an access key
/// (`GetAccessKeyLastUsed`); its outcome's field `user-name` is the owner.
pub const LOOKUP_ACCESS_KEY_USER: &str = "lookup-access-key-user";

/// Parameter: the access key's id, `AKIA…` or `ASIA…`.
pub const ACCESS_KEY_ID: &str = "access-key-id";
/// Parameter: the IAM user who owns the key.
pub const USER_NAME: &str = "user-name";

/// The AWS IAM provider.
#[derive(Debug)]
pub struct AwsIam;

/// The IAM action an operation performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `UpdateAccessKey` with `Status=Inactive`.
    UpdateAccessKey,
    /// `DeleteAccessKey`.
    DeleteAccessKey,
    /// `GetAccessKeyLastUsed`: who owns the key.
    GetAccessKeyLastUsed,
}

impl Action {
    /// The action's name in the `Action` form field.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::UpdateAccessKey => "UpdateAccessKey",
            Self::DeleteAccessKey => "DeleteAccessKey",
            Self::GetAccessKeyLastUsed => "GetAccessKeyLastUsed",
        }
    }

    /// The root element of its success answer, e.g. `DeleteAccessKeyResponse`.
    pub(crate) fn response_element(self) -> &'static str {
        match self {
            Self::UpdateAccessKey => "UpdateAccessKeyResponse",
            Self::DeleteAccessKey => "DeleteAccessKeyResponse",
            Self::GetAccessKeyLastUsed => "GetAccessKeyLastUsedResponse",
        }
    }

    /// Whether it takes the key owner's `UserName` (the lookup finds it).
    pub(crate) fn takes_user_name(self) -> bool {
        self != Self::GetAccessKeyLastUsed
    }
}

fn key_id(operation: OperationSpec) -> OperationSpec {
    operation.param(ParamSpec::required(
        ACCESS_KEY_ID,
        ParamKind::String,
        "the access key's id: 20 characters, AKIA… (long-term) or ASIA… (temporary)",
    ))
}

fn key_params(operation: OperationSpec) -> OperationSpec {
    key_id(operation).param(ParamSpec::optional(
        USER_NAME,
        ParamKind::String,
        "the IAM user who owns the key; without it, the key must belong to the \
             user whose credential signs the request",
    ))
}

impl Provider for AwsIam {
    const OPERATIONS: &'static [Operation] = &[
        Operation::new(
            DEACTIVATE_ACCESS_KEY,
            OperationKind::Revoke,
            |params| requests::plan(Action::UpdateAccessKey, params),
            |_, response| Ok(responses::interpret(Action::UpdateAccessKey, response)),
        )
        .request(Method::Post, "/", "200 with <UpdateAccessKeyResponse>")
        .describe(|op| {
            key_params(
                op.summary(
                    "Deactivate an access key (UpdateAccessKey, Status=Inactive): \
                     reversible, the step AWS recommends before deleting",
                )
                .idempotent(true),
            )
        }),
        Operation::new(
            DELETE_ACCESS_KEY,
            OperationKind::Revoke,
            |params| requests::plan(Action::DeleteAccessKey, params),
            |_, response| Ok(responses::interpret(Action::DeleteAccessKey, response)),
        )
        .request(Method::Post, "/", "200 with <DeleteAccessKeyResponse>")
        .describe(|op| {
            key_params(
                op.summary("Delete an access key (DeleteAccessKey): irreversible")
                    .idempotent(true),
            )
        }),
        Operation::new(
            LOOKUP_ACCESS_KEY_USER,
            // Nothing is created, and nothing revoked: a read, safe to repeat.
            OperationKind::Revoke,
            |params| requests::plan(Action::GetAccessKeyLastUsed, params),
            |_, response| Ok(responses::interpret(Action::GetAccessKeyLastUsed, response)),
        )
        .request(
            Method::Post,
            "/",
            "200 with <GetAccessKeyLastUsedResponse> holding the owner's <UserName>",
        )
        .describe(|op| {
            key_id(
                op.summary(
                    "Look up the IAM user who owns an access key (GetAccessKeyLastUsed): \
                     revokes nothing; the outcome's field user-name is the owner",
                )
                .idempotent(true),
            )
        }),
    ];

    fn manifest() -> Manifest {
        Manifest::new(
            "aws-iam",
            env!("CARGO_PKG_VERSION"),
            "https://iam.amazonaws.com",
        )
        .description("AWS IAM access keys (deactivate, delete), signed with SigV4")
        .credential_env("AWS_ACCESS_KEY_ID")
        .operations(Self::OPERATIONS)
    }

    fn auth() -> Option<Auth> {
        Some(Auth::aws_sigv4("iam", "us-east-1"))
    }

    /// An access key id (the secret, one end of an `id:secret` pair, or the
    /// context's `access-key-id`) resolves to `deactivate-access-key` (then
    /// `delete-access-key` with `delete` = `true`), its owner from the
    /// context's `user-name` or `arn`, else looked up first; a temporary key,
    /// or a secret access key without its id, is unresolvable.
    fn resolve(secret: &str, hint: &str, context: &Params) -> Option<Resolution> {
        resolve::resolve(secret, hint, context)
    }
}

revoker_plugin_api::export_provider!(AwsIam);
revoker_plugin_api::standard_tests!(
    AwsIam,
    samples = [
        (ACCESS_KEY_ID, "AKIAIOSFODNN7EXAMPLE"),
        (USER_NAME, "alice")
    ]
);

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{HttpResponse, OutcomeKind, Params};

    use super::*;

    #[test]
    fn manifest_describes_both_operations() {
        let manifest = AwsIam::manifest();
        assert_eq!(manifest.provider, "aws-iam");
        assert_eq!(manifest.default_base_url, "https://iam.amazonaws.com");
        assert!(!manifest.description.is_empty());
        assert_eq!(
            manifest
                .operations
                .iter()
                .map(|op| op.name.as_str())
                .collect::<Vec<_>>(),
            [
                DEACTIVATE_ACCESS_KEY,
                DELETE_ACCESS_KEY,
                LOOKUP_ACCESS_KEY_USER
            ]
        );
        let lookup = manifest.find_operation(LOOKUP_ACCESS_KEY_USER).unwrap();
        assert!(lookup.idempotent, "a read is safe to repeat");
        let params: Vec<(&str, bool)> = lookup
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.required))
            .collect();
        assert_eq!(params, [(ACCESS_KEY_ID, true)]);
        for name in [DEACTIVATE_ACCESS_KEY, DELETE_ACCESS_KEY] {
            let op = manifest.find_operation(name).unwrap();
            assert_eq!(op.kind, OperationKind::Revoke, "{name}");
            assert!(op.idempotent, "{name}");
            let params: Vec<(&str, bool)> = op
                .params
                .iter()
                .map(|p| (p.name.as_str(), p.required))
                .collect();
            assert_eq!(params, [(ACCESS_KEY_ID, true), (USER_NAME, false)]);
        }
    }

    #[test]
    fn each_declared_request_is_the_one_planned() {
        let samples = [
            (ACCESS_KEY_ID, "AKIAIOSFODNN7EXAMPLE"),
            (USER_NAME, "alice"),
        ];
        revoker_plugin_api::testing::check_requests_match_plan::<AwsIam>(&samples);
        revoker_plugin_api::testing::check_requests_match_plan::<AwsIam>(&samples[..1]);
        for detail in AwsIam::details() {
            // The Query protocol: every action is a form posted to `/`.
            assert_eq!(
                (detail.method.as_str(), detail.path.as_str()),
                ("POST", "/")
            );
            let action = match detail.operation.as_str() {
                DEACTIVATE_ACCESS_KEY => Action::UpdateAccessKey,
                DELETE_ACCESS_KEY => Action::DeleteAccessKey,
                _ => Action::GetAccessKeyLastUsed,
            };
            let success = format!("200 with <{}>", action.response_element());
            assert!(detail.success.starts_with(&success), "{}", detail.success);
        }
    }

    #[test]
    fn the_host_signs_with_sigv4_for_iam_in_us_east_1() {
        let auth = AwsIam::auth().unwrap();
        assert_eq!(auth, Auth::aws_sigv4("iam", "us-east-1"));
        assert_eq!(auth.part("access-key-id").unwrap().env, "AWS_ACCESS_KEY_ID");
        assert_eq!(
            auth.part("secret-access-key").unwrap().env,
            "AWS_SECRET_ACCESS_KEY"
        );
        assert!(!auth.part("session-token").unwrap().required);
        assert!(AwsIam::secret_params(DEACTIVATE_ACCESS_KEY).is_empty());
    }

    #[test]
    fn the_exported_module_declares_its_auth_kind() {
        let module = revoker_root_module();
        let manifest = module.manifest()().unwrap();
        assert_eq!(manifest.credential_env, "AWS_ACCESS_KEY_ID");
        // A host older than plugin API 1.2 would refuse it rather than send the
        // credential as a header.
        assert!(manifest.auth.header.contains("aws-sigv4"));
        let auth = module.auth().unwrap()().unwrap().into_option().unwrap();
        assert_eq!(auth.kind, "aws-sigv4");
        let features = module.requires().unwrap()().unwrap();
        let names: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["auth:aws-sigv4"]);
    }

    #[test]
    fn plan_and_interpret_meet_through_the_provider() {
        let params = Params::from_pairs([(ACCESS_KEY_ID, "AKIAIOSFODNN7EXAMPLE")]);
        let request = AwsIam::plan(DELETE_ACCESS_KEY, &params).unwrap();
        assert!(
            request
                .body_text()
                .unwrap()
                .starts_with("Action=DeleteAccessKey&")
        );
        let response = HttpResponse::new(
            200,
            "<DeleteAccessKeyResponse><ResponseMetadata><RequestId>r-1</RequestId>\
             </ResponseMetadata></DeleteAccessKeyResponse>",
        );
        let outcome = AwsIam::interpret(DELETE_ACCESS_KEY, &params, &response).unwrap();
        assert_eq!(outcome.kind, OutcomeKind::Revoked);
    }
}
