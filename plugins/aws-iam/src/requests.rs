//! The requests IAM's Query API documents: `POST /` with a form body.

use revoker_plugin_api::{HttpRequest, Method, Params, PluginError};

use crate::{ACCESS_KEY_ID, Action, USER_NAME};

/// The IAM API version every request names.
const VERSION: &str = "2010-05-08";

/// `POST /`, form `Action=<action>&Version=2010-05-08&AccessKeyId=…`, then
/// `Status=Inactive` for `UpdateAccessKey`, then `UserName=…` if given (and
/// the action takes it: `GetAccessKeyLastUsed` does not).
pub(crate) fn plan(action: Action, params: &Params) -> Result<HttpRequest, PluginError> {
    let key_id = params.require(ACCESS_KEY_ID)?;
    check_access_key_id(key_id)?;
    let user_name = params.get(USER_NAME).filter(|_| action.takes_user_name());
    if let Some(user_name) = user_name {
        check_user_name(user_name)?;
    }
    let mut form = vec![
        ("Action", action.name()),
        ("Version", VERSION),
        ("AccessKeyId", key_id),
    ];
    if action == Action::UpdateAccessKey {
        form.push(("Status", "Inactive"));
    }
    if let Some(user_name) = user_name {
        form.push(("UserName", user_name));
    }
    Ok(HttpRequest::new(Method::Post, "/").form_body(form))
}

/// An access key id: 20 characters, `AKIA` (long-term) or `ASIA` (temporary),
/// then A–Z and 2–7.
///
/// The error shows at most the value's first 4 characters, and none of a value
/// that looks like a secret access key.
fn check_access_key_id(value: &str) -> Result<(), PluginError> {
    if is_access_key_id(value) {
        return Ok(());
    }
    const EXPECTED: &str =
        "must be an AWS access key id (20 characters: AKIA or ASIA, then A-Z and 2-7)";
    let length = value.chars().count();
    if looks_like_secret_access_key(value) {
        return Err(PluginError::invalid_param(
            ACCESS_KEY_ID,
            format_args!(
                "{EXPECTED}, got a value of {length} characters that looks like a secret \
                 access key: never pass the secret, give the key's id"
            ),
        ));
    }
    let start: String = value.chars().take(4).collect();
    Err(PluginError::invalid_param(
        ACCESS_KEY_ID,
        format_args!("{EXPECTED}, got {length} characters starting {start:?}"),
    ))
}

/// Whether `value` is an access key id: 20 characters, `AKIA` or `ASIA`, then
/// A–Z and 2–7.
pub(crate) fn is_access_key_id(value: &str) -> bool {
    value.len() == 20
        && (value.starts_with("AKIA") || value.starts_with("ASIA"))
        && value
            .bytes()
            .all(|b| matches!(b, b'A'..=b'Z' | b'2'..=b'7'))
}

/// 40 characters of the base64 alphabet, at least one of them not upper case
/// or a digit: the shape of a secret access key, which an id never has.
pub(crate) fn looks_like_secret_access_key(value: &str) -> bool {
    value.len() == 40
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'/' || b == b'+')
        && value
            .bytes()
            .any(|b| b.is_ascii_lowercase() || b == b'/' || b == b'+')
}

/// Whether `value` is an IAM user name (see [`check_user_name`]).
pub(crate) fn is_user_name(value: &str) -> bool {
    check_user_name(value).is_ok()
}

/// An IAM user name: 1 to 128 characters of `[\w+=,.@-]` (`\w` being ASCII
/// letters, digits and `_`).
fn check_user_name(value: &str) -> Result<(), PluginError> {
    const EXPECTED: &str =
        "must be an IAM user name (1 to 128 of the characters A-Z a-z 0-9 _ + = , . @ -)";
    let bad = value.chars().enumerate().find(|(_, c)| {
        !(c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-'))
    });
    let why = match (value.len(), bad) {
        (0, _) => "got an empty value".to_owned(),
        (_, Some((at, c))) => format!("got {c:?} at character {}", at + 1),
        (129.., None) => format!("got {} characters", value.len()),
        (_, None) => return Ok(()),
    };
    Err(PluginError::invalid_param(
        USER_NAME,
        format_args!("{EXPECTED}, {why}"),
    ))
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{PluginErrorKind, abi_stable::std_types::ROption};

    use super::*;

    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

    fn body(action: Action, pairs: &[(&str, &str)]) -> String {
        let request = plan(action, &Params::from_pairs(pairs.iter().copied())).unwrap();
        assert_eq!(request.method, Method::Post);
        assert_eq!(request.path, "/");
        assert_eq!(request.headers.len(), 1, "{:?}", request.headers);
        assert_eq!(request.headers[0].name, "Content-Type");
        assert_eq!(request.headers[0].value, FORM);
        request.body_text().unwrap().to_owned()
    }

    fn refused(action: Action, pairs: &[(&str, &str)]) -> PluginError {
        let err = plan(action, &Params::from_pairs(pairs.iter().copied())).unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::InvalidParam, "{pairs:?}");
        err
    }

    #[test]
    fn deactivate_is_update_access_key_with_status_inactive() {
        assert_eq!(
            body(Action::UpdateAccessKey, &[(ACCESS_KEY_ID, KEY)]),
            "Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId=AKIAIOSFODNN7EXAMPLE&Status=Inactive"
        );
        assert_eq!(
            body(
                Action::UpdateAccessKey,
                &[(ACCESS_KEY_ID, KEY), (USER_NAME, "alice")]
            ),
            "Action=UpdateAccessKey&Version=2010-05-08&AccessKeyId=AKIAIOSFODNN7EXAMPLE&Status=Inactive&UserName=alice"
        );
    }

    #[test]
    fn delete_is_delete_access_key() {
        assert_eq!(
            body(Action::DeleteAccessKey, &[(ACCESS_KEY_ID, KEY)]),
            "Action=DeleteAccessKey&Version=2010-05-08&AccessKeyId=AKIAIOSFODNN7EXAMPLE"
        );
        assert_eq!(
            body(
                Action::DeleteAccessKey,
                &[(USER_NAME, "alice"), (ACCESS_KEY_ID, KEY)]
            ),
            "Action=DeleteAccessKey&Version=2010-05-08&AccessKeyId=AKIAIOSFODNN7EXAMPLE&UserName=alice"
        );
    }

    #[test]
    fn lookup_is_get_access_key_last_used_without_a_user_name() {
        assert_eq!(
            body(Action::GetAccessKeyLastUsed, &[(ACCESS_KEY_ID, KEY)]),
            "Action=GetAccessKeyLastUsed&Version=2010-05-08&AccessKeyId=AKIAIOSFODNN7EXAMPLE"
        );
        // The action has no UserName: one given is not sent, nor checked.
        assert_eq!(
            body(
                Action::GetAccessKeyLastUsed,
                &[(ACCESS_KEY_ID, KEY), (USER_NAME, "not checked/")]
            ),
            "Action=GetAccessKeyLastUsed&Version=2010-05-08&AccessKeyId=AKIAIOSFODNN7EXAMPLE"
        );
        let err = refused(Action::GetAccessKeyLastUsed, &[(ACCESS_KEY_ID, "AKIA")]);
        assert_eq!(err.param, ROption::RSome(ACCESS_KEY_ID.into()));
        let err = refused(Action::GetAccessKeyLastUsed, &[]);
        assert_eq!(err.message, "parameter \"access-key-id\" is required");
    }

    #[test]
    fn user_names_are_form_encoded() {
        // Unencoded, a `+` would reach IAM as a space and an `=` would split the pair.
        let user = "ci+deploy=bot,ops@example.com_x-y.z";
        assert!(
            body(
                Action::DeleteAccessKey,
                &[(ACCESS_KEY_ID, KEY), (USER_NAME, user)]
            )
            .ends_with("&UserName=ci%2Bdeploy%3Dbot%2Cops%40example.com_x-y.z")
        );
        assert!(
            body(
                Action::UpdateAccessKey,
                &[(ACCESS_KEY_ID, KEY), (USER_NAME, "a+b")]
            )
            .ends_with("&Status=Inactive&UserName=a%2Bb")
        );
    }

    #[test]
    fn temporary_key_ids_are_accepted() {
        let body = body(
            Action::UpdateAccessKey,
            &[(ACCESS_KEY_ID, "ASIAY34FZKBOKMUTVV7A")],
        );
        assert!(
            body.contains("&AccessKeyId=ASIAY34FZKBOKMUTVV7A&"),
            "{body}"
        );
    }

    #[test]
    fn invalid_key_ids_are_refused_naming_the_form_and_not_echoing_them() {
        for bad in [
            "AKIBIOSFODNN7EXAMPLE",  // wrong prefix
            "AROAIOSFODNN7EXAMPLE",  // a role id, not a key id
            "AIDAIOSFODNN7EXAMPLE",  // a user id
            "AKIAIOSFODNN7EXAMPL",   // 19
            "AKIAIOSFODNN7EXAMPLEE", // 21
            "akiaiosfodnn7example",  // lower case
            "AKIAIOSFODNN7EXAMPLe",
            "AKIAIOSFODNN7EXAMPL0", // 0, 1, 8 and 9 are not in the alphabet
            "AKIAIOSFODNN7EXAMPL1",
            "AKIAIOSFODNN7EXAMPL8",
            "AKIAIOSFODNN7EXAMPL9",
            "AKIA IOSFODNN7EXAMPL",
            " AKIAIOSFODNN7EXAMPLE",
            "AKIAIOSFODNN7EXAMPLÉ",
            "AKIA",
            "A",
        ] {
            for action in [Action::UpdateAccessKey, Action::DeleteAccessKey] {
                let err = refused(action, &[(ACCESS_KEY_ID, bad)]);
                assert_eq!(err.param, ROption::RSome(ACCESS_KEY_ID.into()));
                assert!(
                    err.message.starts_with(
                        "parameter \"access-key-id\" must be an AWS access key id \
                         (20 characters: AKIA or ASIA, then A-Z and 2-7), got "
                    ),
                    "{}",
                    err.message
                );
                // Nothing of the value but its length and first 4 characters.
                let four: String = bad.chars().take(4).collect();
                let got = format!(", got {} characters starting {four:?}", bad.chars().count());
                assert!(err.message.ends_with(&got), "{bad:?}: {}", err.message);
            }
        }
        let err = refused(
            Action::DeleteAccessKey,
            &[(ACCESS_KEY_ID, "AKIAIOSFODNN7EXAMPL0")],
        );
        assert!(
            err.message
                .ends_with(r#"got 20 characters starting "AKIA""#)
        );
    }

    #[test]
    fn a_secret_access_key_given_as_the_id_is_not_echoed_at_all() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let err = refused(Action::UpdateAccessKey, &[(ACCESS_KEY_ID, secret)]);
        assert!(err.message.contains("looks like a secret access key"));
        assert!(!err.message.contains("wJal"), "{}", err.message);
    }

    #[test]
    fn a_missing_or_empty_key_id_is_refused() {
        let err = refused(Action::UpdateAccessKey, &[]);
        assert_eq!(err.message, "parameter \"access-key-id\" is required");
        let err = refused(Action::DeleteAccessKey, &[(USER_NAME, "alice")]);
        assert_eq!(err.message, "parameter \"access-key-id\" is required");
        let err = refused(Action::DeleteAccessKey, &[(ACCESS_KEY_ID, "")]);
        assert_eq!(err.message, "parameter \"access-key-id\" must not be empty");
    }

    #[test]
    fn user_names_are_checked() {
        let longest = "u".repeat(128);
        for good in ["a", "Alice_1", "+=,.@-_", longest.as_str()] {
            let body = body(
                Action::DeleteAccessKey,
                &[(ACCESS_KEY_ID, KEY), (USER_NAME, good)],
            );
            assert!(body.contains("&UserName="), "{good}");
        }
        let too_long = "u".repeat(129);
        for (bad, why) in [
            ("", "got an empty value"),
            ("alice smith", "got ' ' at character 6"),
            ("path/alice", "got '/' at character 5"),
            ("alice&Status=Active", "got '&' at character 6"),
            ("josé", "got 'é' at character 4"),
            ("a\nb", "got '\\n' at character 2"),
            (too_long.as_str(), "got 129 characters"),
        ] {
            for action in [Action::UpdateAccessKey, Action::DeleteAccessKey] {
                let err = refused(action, &[(ACCESS_KEY_ID, KEY), (USER_NAME, bad)]);
                assert_eq!(err.param, ROption::RSome(USER_NAME.into()));
                assert_eq!(
                    err.message,
                    format!(
                        "parameter \"user-name\" must be an IAM user name (1 to 128 of the \
                         characters A-Z a-z 0-9 _ + = , . @ -), {why}"
                    )
                    .as_str()
                );
            }
        }
    }
}
