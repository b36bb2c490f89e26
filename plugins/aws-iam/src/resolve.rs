//! What a secret a scanner found is to AWS IAM: an access key is revoked by its
//! id (`AKIA…`), which a finding gives as the secret itself, as the first half
//! of an `id:secret` pair (TruffleHog's `RawV2`), or in its context
//! (`access-key-id`). The owner's user name, which `UpdateAccessKey` needs for
//! a key that is not the caller's, comes from the context (`user-name`, or a
//! user's `arn`), else from a lookup (`lookup-access-key-user`) run first.
//!
//! Offline and pure: decided from the shapes of the strings alone. The
//! secret access key is never returned; only the key's id, which is public.

use revoker_plugin_api::{Params, Resolution, ResolvedCall};

use crate::requests::{is_access_key_id, is_user_name, looks_like_secret_access_key};
use crate::{
    ACCESS_KEY_ID, DEACTIVATE_ACCESS_KEY, DELETE_ACCESS_KEY, LOOKUP_ACCESS_KEY_USER, USER_NAME,
};

/// Context: the ARN of the key's owner, e.g. `arn:aws:iam::123456789012:user/ci/deploy`.
const ARN: &str = "arn";
/// Context: `true` to delete the key once it is deactivated.
const DELETE: &str = "delete";

/// Why a temporary key is not resolved.
pub(crate) const TEMPORARY: &str = "a temporary AWS access key (ASIA…, issued by STS): IAM \
    cannot deactivate or delete it, and it expires on its own; to cut it off now, revoke the \
    role's active sessions (IAM console: the role, Revoke active sessions) or revoke the \
    credentials of the principal that issued it";

/// Why a secret access key without its id is not resolved.
pub(crate) const SECRET_WITHOUT_ID: &str = "an AWS secret access key without its access key \
    id: IAM revokes a key by its id (AKIA…), which the secret does not reveal; find the \
    access key id in the same file or commit and resolve the finding with it (context \
    access-key-id), or rotate all access keys of the user";

/// `secret` resolved, if it is an AWS access key (or a secret access key with
/// its id in `context`); `None` if nothing says it is AWS's.
pub(crate) fn resolve(secret: &str, hint: &str, context: &Params) -> Option<Resolution> {
    let secret = secret.trim();
    let context_id = context
        .get(ACCESS_KEY_ID)
        .map(str::trim)
        .filter(|id| is_access_key_id(id));
    let id = match key_id_in(secret) {
        Some(id) => id,
        // The secret names no key: it is AWS's if the scanner says so, or if
        // it has a secret access key's shape and the finding names a key id.
        None => {
            let shaped = looks_like_secret_access_key(secret);
            match context_id {
                Some(id) if shaped || is_aws_hint(hint) => id,
                None if shaped && is_aws_hint(hint) => {
                    return Some(Resolution::unresolvable(SECRET_WITHOUT_ID));
                }
                _ => return None,
            }
        }
    };
    if id.starts_with("ASIA") {
        return Some(Resolution::unresolvable(TEMPORARY));
    }
    let delete = context
        .get(DELETE)
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let user = owner(context, secret);
    let mut params = Params::from_pairs([(ACCESS_KEY_ID, id)]);
    if let Some(user) = user {
        params.insert(USER_NAME, user);
    }
    let mut calls = vec![ResolvedCall::new(DEACTIVATE_ACCESS_KEY, params.clone())];
    let mut what =
        format!("the AWS access key {id}: deactivate-access-key makes it inactive (reversible)");
    if delete {
        calls.push(ResolvedCall::new(DELETE_ACCESS_KEY, params));
        what.push_str(", then delete-access-key deletes it");
    }
    match user {
        Some(user) => Some(Resolution::resolved(
            &format!("{what}; its owner is IAM user {user}"),
            calls,
        )),
        None => Some(
            Resolution::resolved(
                &format!(
                    "{what}; its owner's user name, which IAM needs for a key that is not \
                     the caller's, is looked up first (lookup-access-key-user: \
                     GetAccessKeyLastUsed)"
                ),
                calls,
            )
            .after_lookup(
                ResolvedCall::new(
                    LOOKUP_ACCESS_KEY_USER,
                    Params::from_pairs([(ACCESS_KEY_ID, id)]),
                ),
                USER_NAME,
                USER_NAME,
            ),
        ),
    }
}

/// The access key id `secret` is or holds: the whole of it, or one end of an
/// id and secret access key pair (`id:secret`, `id secret`, `idsecret`, or
/// the other way round).
fn key_id_in(secret: &str) -> Option<&str> {
    if is_access_key_id(secret) {
        return Some(secret);
    }
    let separator = |c: char| matches!(c, ':' | ',' | ';' | '|' | '=') || c.is_whitespace();
    let head = secret.get(..20).filter(|id| is_access_key_id(id));
    if let Some(id) = head {
        let rest = secret[20..].trim_start_matches(separator);
        if looks_like_secret_access_key(rest) {
            return Some(id);
        }
    }
    let tail = secret
        .len()
        .checked_sub(20)
        .and_then(|at| secret.get(at..))
        .filter(|id| is_access_key_id(id))?;
    let rest = secret[..secret.len() - 20].trim_end_matches(separator);
    looks_like_secret_access_key(rest).then_some(tail)
}

/// The key owner's user name the finding gives: `user-name`, else the last
/// segment of a user's ARN (`arn:aws:iam::ACCOUNT:user/PATH/NAME`); never
/// one that holds `secret` or a long piece of it (a mistaken context).
fn owner<'c>(context: &'c Params, secret: &str) -> Option<&'c str> {
    let named = context
        .get(USER_NAME)
        .map(str::trim)
        .filter(|name| is_user_name(name));
    named
        .or_else(|| context.get(ARN).and_then(user_of_arn))
        .filter(|name| !name.contains(secret) && (name.len() < 8 || !secret.contains(name)))
}

/// The user an IAM user's ARN names, if `arn` is one.
fn user_of_arn(arn: &str) -> Option<&str> {
    let mut parts = arn.trim().splitn(6, ':');
    let (scheme, partition, service, region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let partition_ok = partition == "aws" || partition.starts_with("aws-");
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if scheme != "arn" || !partition_ok || service != "iam" || !region.is_empty() || !account_ok {
        return None;
    }
    let path = resource.strip_prefix("user/")?;
    let name = path.rsplit('/').next()?;
    is_user_name(name).then_some(name)
}

/// Whether a scanner's hint names AWS: TruffleHog's `AWS` and `AWSSessionKey`,
/// gitleaks' `aws-access-token`, GitHub's `aws_access_key_id` and
/// `aws_secret_access_key`.
fn is_aws_hint(hint: &str) -> bool {
    let hint = hint.trim().to_ascii_lowercase();
    hint == "aws"
        || hint.starts_with("aws-")
        || hint.starts_with("aws_")
        || hint.starts_with("aws ")
        || hint.starts_with("awssession")
        || hint.starts_with("amazon")
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{Provider, ResolutionKind};

    use super::*;
    use crate::AwsIam;
    use revoker_plugin_api::testing::assert_no_secret;

    const ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const TEMPORARY_ID: &str = "ASIAY34FZKBOKMUTVV7A";

    fn context(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied())
    }

    fn resolved(secret: &str, hint: &str, pairs: &[(&str, &str)]) -> Resolution {
        let resolution = AwsIam::resolve(secret, hint, &context(pairs))
            .unwrap_or_else(|| panic!("{hint:?} with {pairs:?} is not claimed"));
        assert_eq!(
            resolution.kind,
            ResolutionKind::Resolved,
            "{}",
            resolution.reason
        );
        assert_no_secret(&resolution, &[SECRET]);
        resolution
    }

    /// The calls' operations and parameters.
    fn calls(resolution: &Resolution) -> Vec<(String, Params)> {
        resolution
            .calls
            .iter()
            .map(|call| {
                assert!(call.secret_param.is_none());
                (call.operation.to_string(), call.params.clone())
            })
            .collect()
    }

    fn key(user: Option<&str>) -> Params {
        let mut params = Params::from_pairs([(ACCESS_KEY_ID, ID)]);
        if let Some(user) = user {
            params.insert(USER_NAME, user);
        }
        params
    }

    #[test]
    fn a_key_id_resolves_to_deactivate_after_looking_up_its_owner() {
        for (secret, hint) in [
            (ID, "AWS"),
            (ID, ""),
            (ID, "aws-access-token"),
            (ID, "aws_access_key_id"),
            ("  AKIAIOSFODNN7EXAMPLE\n", "AWS"),
        ] {
            let resolution = resolved(secret, hint, &[]);
            assert_eq!(
                calls(&resolution),
                [(DEACTIVATE_ACCESS_KEY.to_owned(), key(None))]
            );
            let lookup = resolution.lookup.as_ref().into_option().unwrap();
            assert_eq!(lookup.call.operation, LOOKUP_ACCESS_KEY_USER);
            assert_eq!(lookup.call.params, key(None));
            assert!(lookup.call.secret_param.is_none());
            assert_eq!(
                (lookup.field.as_str(), lookup.fills.as_str()),
                (USER_NAME, USER_NAME)
            );
            assert!(resolution.reason.contains(ID), "{}", resolution.reason);
            assert!(resolution.reason.contains("looked up first"));
            assert!(!resolution.reason.contains("delete-access-key"));
        }
    }

    #[test]
    fn the_owner_comes_from_the_context_user_name_or_arn() {
        for pairs in [
            &[(USER_NAME, "alice")][..],
            &[(USER_NAME, " alice ")],
            &[(ARN, "arn:aws:iam::123456789012:user/alice")],
            &[(
                ARN,
                "arn:aws:iam::123456789012:user/division_abc/subdivision_xyz/alice",
            )],
            &[(ARN, "arn:aws-cn:iam::123456789012:user/alice")],
            &[(ARN, "arn:aws-us-gov:iam::123456789012:user/ops/alice")],
            // The user name wins over the ARN; an invalid one is passed over.
            &[
                (USER_NAME, "alice"),
                (ARN, "arn:aws:iam::123456789012:user/bob"),
            ],
            &[
                (USER_NAME, "not valid/"),
                (ARN, "arn:aws:iam::123456789012:user/alice"),
            ],
            &[
                (USER_NAME, ""),
                (ARN, "arn:aws:iam::123456789012:user/alice"),
            ],
        ] {
            let resolution = resolved(ID, "AWS", pairs);
            assert_eq!(
                calls(&resolution),
                [(DEACTIVATE_ACCESS_KEY.to_owned(), key(Some("alice")))],
                "{pairs:?}"
            );
            assert!(resolution.lookup.is_none(), "{pairs:?}");
            assert!(resolution.reason.ends_with("its owner is IAM user alice"));
        }
    }

    #[test]
    fn an_arn_that_is_no_users_leads_to_the_lookup() {
        for arn in [
            "arn:aws:iam::123456789012:root",
            "arn:aws:iam::123456789012:role/deploy",
            "arn:aws:sts::123456789012:assumed-role/deploy/session",
            "arn:aws:iam::12345678901:user/alice",
            "arn:aws:iam::12345678901a:user/alice",
            "arn:aws:iam:us-east-1:123456789012:user/alice",
            "arn:gcp:iam::123456789012:user/alice",
            "arn:aws:iam::123456789012:user/",
            "arn:aws:iam::123456789012:user/ops/",
            "arn:aws:iam::123456789012:user/al ice",
            "arn:aws:iam::123456789012",
            "user/alice",
            "",
        ] {
            let resolution = resolved(ID, "AWS", &[(ARN, arn)]);
            assert_eq!(calls(&resolution)[0].1, key(None), "{arn}");
            assert!(resolution.lookup.is_some(), "{arn}");
        }
    }

    #[test]
    fn a_user_name_that_holds_the_secret_is_never_repeated() {
        let plain = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEYxx";
        assert!(is_user_name(plain) && looks_like_secret_access_key(plain));
        let pair = format!("{ID}:{plain}");
        for name in [plain, &plain[4..30], &pair[..30]] {
            let resolution = AwsIam::resolve(&pair, "AWS", &context(&[(USER_NAME, name)])).unwrap();
            assert!(resolution.lookup.is_some(), "{name}");
            assert_no_secret(&resolution, &[plain, &pair]);
        }
    }

    #[test]
    fn with_delete_the_key_is_deactivated_then_deleted() {
        for value in ["true", "TRUE", " true "] {
            let resolution = resolved(ID, "AWS", &[(DELETE, value), (USER_NAME, "alice")]);
            assert_eq!(
                calls(&resolution),
                [
                    (DEACTIVATE_ACCESS_KEY.to_owned(), key(Some("alice"))),
                    (DELETE_ACCESS_KEY.to_owned(), key(Some("alice"))),
                ]
            );
            assert!(
                resolution
                    .reason
                    .contains("then delete-access-key deletes it")
            );
        }
        let resolution = resolved(ID, "AWS", &[(DELETE, "true")]);
        assert_eq!(resolution.calls.len(), 2);
        assert!(resolution.lookup.is_some(), "the lookup fills both calls");
        for value in ["false", "", "yes", "1"] {
            let resolution = resolved(ID, "AWS", &[(DELETE, value)]);
            assert_eq!(resolution.calls.len(), 1, "{value:?}");
        }
    }

    #[test]
    fn a_pair_of_id_and_secret_resolves_by_its_id_and_never_repeats_the_secret() {
        for pair in [
            format!("{ID}:{SECRET}"),
            format!("{ID}{SECRET}"),
            format!("{ID} {SECRET}"),
            format!("{ID},{SECRET}"),
            format!("{ID}\n{SECRET}"),
            format!("{SECRET}:{ID}"),
            format!("{SECRET}{ID}"),
        ] {
            for hint in ["AWS", ""] {
                let resolution = resolved(&pair, hint, &[]);
                assert_eq!(calls(&resolution)[0].1, key(None), "{hint}");
                assert_no_secret(&resolution, &[SECRET, &pair]);
            }
        }
        // The id the secret holds wins over the context's.
        let other = "AKIAJ5RHYDWXLF2RLQHA";
        let resolution = resolved(&format!("{ID}:{SECRET}"), "AWS", &[(ACCESS_KEY_ID, other)]);
        assert_eq!(calls(&resolution)[0].1, key(None));
    }

    #[test]
    fn a_secret_with_its_id_in_the_context_resolves_by_that_id() {
        for hint in ["AWS", "aws_secret_access_key", ""] {
            for id in [ID, " AKIAIOSFODNN7EXAMPLE "] {
                let resolution = resolved(SECRET, hint, &[(ACCESS_KEY_ID, id)]);
                assert_eq!(calls(&resolution)[0].1, key(None), "{hint}");
                assert_no_secret(&resolution, &[SECRET]);
            }
        }
        // With the scanner's word for it, whatever the secret's shape.
        let resolution = resolved("some-other-shape", "AWS", &[(ACCESS_KEY_ID, ID)]);
        assert_eq!(calls(&resolution)[0].1, key(None));
        assert_no_secret(&resolution, &["some-other-shape"]);
    }

    #[test]
    fn a_secret_without_its_id_is_unresolvable_and_says_where_to_look() {
        for (hint, pairs) in [
            ("AWS", &[][..]),
            ("aws-secret-access-key", &[]),
            ("aws_secret_access_key", &[]),
            ("AWS", &[(ACCESS_KEY_ID, "AKIA-not-an-id")]),
            ("AWS", &[(USER_NAME, "alice")]),
        ] {
            let resolution = AwsIam::resolve(SECRET, hint, &context(pairs)).unwrap();
            assert_eq!(resolution.kind, ResolutionKind::Unresolvable, "{hint}");
            assert_eq!(resolution.reason, SECRET_WITHOUT_ID);
            assert!(resolution.calls.is_empty() && resolution.lookup.is_none());
            assert_no_secret(&resolution, &[SECRET]);
        }
        assert!(SECRET_WITHOUT_ID.contains("same file or commit"));
        assert!(SECRET_WITHOUT_ID.contains("rotate all access keys of the user"));
    }

    #[test]
    fn a_temporary_key_is_unresolvable_and_says_what_to_do() {
        for (secret, pairs) in [
            (TEMPORARY_ID.to_owned(), &[][..]),
            (format!("{TEMPORARY_ID}:{SECRET}"), &[]),
            (SECRET.to_owned(), &[(ACCESS_KEY_ID, TEMPORARY_ID)]),
            (
                TEMPORARY_ID.to_owned(),
                &[(USER_NAME, "alice"), (DELETE, "true")],
            ),
        ] {
            let resolution = AwsIam::resolve(&secret, "AWSSessionKey", &context(pairs)).unwrap();
            assert_eq!(resolution.kind, ResolutionKind::Unresolvable);
            assert_eq!(resolution.reason, TEMPORARY);
            assert!(resolution.calls.is_empty() && resolution.lookup.is_none());
            assert_no_secret(&resolution, &[SECRET, &secret]);
        }
        assert!(TEMPORARY.contains("expires"));
        assert!(TEMPORARY.contains("revoke the role's active sessions"));
    }

    #[test]
    fn what_is_not_aws_is_not_claimed() {
        for (secret, hint, pairs) in [
            // A secret access key alone: nothing says it is AWS's.
            (SECRET, "", &[][..]),
            (SECRET, "Generic", &[]),
            ("ghp_16C7e42F292c6912E7710c838347Ae178B4a", "GitHub", &[]),
            ("sk-lw-abcdefghijklmnop", "LangWatch", &[]),
            ("eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "JWT", &[]),
            ("AKIBIOSFODNN7EXAMPLE", "", &[]),
            ("AIDAIOSFODNN7EXAMPLE", "", &[]),
            ("AKIAIOSFODNN7EXAMPL0", "", &[]),
            ("akiaiosfodnn7example", "", &[]),
            ("AKIAIOSFODNN7EXAMPLEX", "", &[]),
            ("", "", &[]),
            // The scanner says AWS, but neither the secret nor the finding names a key.
            ("not-a-key", "AWS", &[]),
            ("", "AWS", &[]),
        ] {
            assert_eq!(
                AwsIam::resolve(secret, hint, &context(pairs)),
                None,
                "{secret:?} {hint:?}"
            );
        }
        // A key id in the context of another provider's finding claims nothing.
        let pairs = [(ACCESS_KEY_ID, ID)];
        assert_eq!(AwsIam::resolve("ghp_x", "GitHub", &context(&pairs)), None);
        // A pair whose halves are not an id and a secret.
        for pair in [
            format!("{ID}:short"),
            format!("{ID}:{SECRET}x"),
            format!("{ID}::{}", "A".repeat(40)),
            format!("x{ID}:{SECRET}"),
        ] {
            assert_eq!(AwsIam::resolve(&pair, "", &Params::new()), None, "{pair}");
        }
    }

    #[test]
    fn every_call_is_one_the_plugin_plans() {
        for pairs in [
            &[(DELETE, "true")][..],
            &[(DELETE, "true"), (USER_NAME, "alice")],
        ] {
            let resolution = resolved(ID, "AWS", pairs);
            let lookup = resolution.lookup.as_ref().into_option();
            for call in resolution.calls.iter().chain(lookup.map(|l| &l.call)) {
                let mut params = call.params.clone();
                if lookup.is_some() && call.operation != LOOKUP_ACCESS_KEY_USER {
                    // As the host fills it from the lookup's outcome.
                    params.insert(USER_NAME, "bob");
                }
                let request = AwsIam::plan(&call.operation, &params).unwrap();
                let body = request.body_text().unwrap().to_owned();
                assert!(body.contains("&AccessKeyId=AKIAIOSFODNN7EXAMPLE"), "{body}");
            }
        }
    }

    #[test]
    fn the_exported_module_resolves_through_the_provider() {
        let resolve = crate::revoker_root_module().resolve().unwrap();
        let answer = resolve(ID.into(), "AWS".into(), &Params::new()).unwrap();
        assert_eq!(
            answer.into_option(),
            AwsIam::resolve(ID, "AWS", &Params::new())
        );
    }

    mod arbitrary {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, FileFailurePersistence};

        use super::*;

        fn hints() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(String::new()),
                Just("AWS".to_owned()),
                Just("aws-access-token".to_owned()),
                "\\PC{0,20}",
            ]
        }

        proptest! {
            #![proptest_config(Config {
                cases: 512,
                failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
                ..Config::default()
            })]

            #[test]
            fn resolve_never_panics_on_anything(
                secret in "\\PC{0,80}",
                hint in hints(),
                context in proptest::collection::vec(
                    (
                        prop_oneof![
                            Just(ACCESS_KEY_ID.to_owned()),
                            Just(USER_NAME.to_owned()),
                            Just(ARN.to_owned()),
                            Just(DELETE.to_owned()),
                            "[a-z-]{1,12}",
                        ],
                        prop_oneof![Just(ID.to_owned()), Just("true".to_owned()), "\\PC{0,40}"],
                    ),
                    0..5,
                ),
            ) {
                let context = Params::from_pairs(context);
                if let Some(resolution) = AwsIam::resolve(&secret, &hint, &context) {
                    // What holds no key id is returned nowhere (a key id is
                    // public, and a short string may be any word).
                    let secret = secret.trim();
                    if key_id_in(secret).is_none() && secret.chars().count() >= 8 {
                        assert_no_secret(&resolution, &[secret]);
                    }
                }
            }

            #[test]
            fn a_pair_never_gives_back_its_secret(
                id in "AKIA[A-Z2-7]{16}",
                secret in "[A-Za-z0-9/+]{39}[a-z/+]",
                separator in prop_oneof![Just(""), Just(":"), Just(" "), Just(",")],
                reversed in any::<bool>(),
                hint in hints(),
                context in proptest::collection::vec(
                    (prop_oneof![Just(USER_NAME), Just(ARN), Just(DELETE)], "\\PC{0,40}"),
                    0..3,
                ),
            ) {
                let pair = if reversed {
                    format!("{secret}{separator}{id}")
                } else {
                    format!("{id}{separator}{secret}")
                };
                let context = Params::from_pairs(context);
                let resolution = AwsIam::resolve(&pair, &hint, &context).unwrap();
                prop_assert_eq!(resolution.kind, ResolutionKind::Resolved);
                prop_assert_eq!(resolution.calls[0].params.get(ACCESS_KEY_ID), Some(id.as_str()));
                assert_no_secret(&resolution, &[&secret, &pair]);
                // Alone, the secret resolves by the context's id or not at all.
                let alone = AwsIam::resolve(&secret, &hint, &context);
                if let Some(resolution) = alone {
                    assert_no_secret(&resolution, &[&secret]);
                }
            }
        }
    }
}
