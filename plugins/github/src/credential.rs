//! The credentials GitHub's "Revoke a list of credentials" endpoint takes,
//! known by their prefixes, and the check a value must pass before it is sent.
//!
//! GitHub's documentation of the endpoint
//! (<https://docs.github.com/en/rest/credentials/revoke?apiVersion=2022-11-28>)
//! names the accepted types by prefix only: it gives no length and no
//! alphabet for what follows. So the check is exactly that: a value must
//! start with one of the documented prefixes (as written: lowercase) and
//! have something after it. It may not hold control characters, which no
//! `string` parameter may (the host refuses them too). Anything else a
//! value holds is GitHub's to judge.
//!
//! Nothing here ever shows a value: a refusal names the problem by the
//! value's length and, when it has one, its documented prefix.

use std::fmt;

use revoker_plugin_api::PluginError;

/// The parameter that takes the credential itself.
pub const CREDENTIAL: &str = "credential";

/// One credential type the endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenType {
    /// Its documented prefix, e.g. `ghp_`.
    pub(crate) prefix: &'static str,
    /// What GitHub calls it.
    pub(crate) name: &'static str,
}

/// The accepted types, in the documentation's order.
pub(crate) const TOKEN_TYPES: &[TokenType] = &[
    TokenType {
        prefix: "ghp_",
        name: "personal access token (classic)",
    },
    TokenType {
        prefix: "github_pat_",
        name: "fine-grained personal access token",
    },
    TokenType {
        prefix: "gho_",
        name: "OAuth app access token",
    },
    TokenType {
        prefix: "ghu_",
        name: "GitHub App user-to-server token",
    },
    TokenType {
        prefix: "ghr_",
        name: "GitHub App refresh token",
    },
];

/// Why a value is not a credential the endpoint takes. It holds no part of
/// the value but its length and a documented prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    /// The value is empty.
    Empty,
    /// It holds a control character (a newline, a tab, NUL…).
    ControlCharacter { length: usize },
    /// It is a documented prefix with nothing after it.
    OnlyPrefix(&'static TokenType),
    /// It starts with no documented prefix.
    NoPrefix { length: usize, hint: Hint },
}

/// What may explain a value with no documented prefix, without showing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// Nothing to say.
    None,
    /// It starts with whitespace.
    LeadingWhitespace,
    /// It has a documented prefix in other letter case.
    LetterCase,
}

/// The type of credential `value` is, or why it is none the endpoint takes.
pub(crate) fn token_type(value: &str) -> Result<&'static TokenType, Problem> {
    if value.is_empty() {
        return Err(Problem::Empty);
    }
    let length = value.chars().count();
    if value.chars().any(char::is_control) {
        return Err(Problem::ControlCharacter { length });
    }
    if let Some(token_type) = TOKEN_TYPES.iter().find(|t| value.starts_with(t.prefix)) {
        return if value.len() == token_type.prefix.len() {
            Err(Problem::OnlyPrefix(token_type))
        } else {
            Ok(token_type)
        };
    }
    let hint = if value.starts_with(char::is_whitespace) {
        Hint::LeadingWhitespace
    } else if TOKEN_TYPES.iter().any(|t| {
        value
            .get(..t.prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(t.prefix))
    }) {
        Hint::LetterCase
    } else {
        Hint::None
    };
    Err(Problem::NoPrefix { length, hint })
}

/// `value` checked as parameter `credential`, `line` being its place in a
/// batch of several (1 first), if it is in one.
///
/// # Errors
///
/// An invalid-parameter error that names the problem, never the value.
pub(crate) fn check(value: &str, line: Option<usize>) -> Result<&'static TokenType, PluginError> {
    token_type(value).map_err(|problem| {
        let message = problem.to_string();
        let message = match line {
            Some(line) => format!("{message} (line {line} of the batch)"),
            None => message,
        };
        PluginError::invalid_param(CREDENTIAL, message)
    })
}

/// The documented prefixes, as a person reads them: `ghp_, …, gho_, ghu_ or ghr_`.
fn prefixes() -> String {
    let mut text = String::new();
    for (i, t) in TOKEN_TYPES.iter().enumerate() {
        if i > 0 {
            text.push_str(if i + 1 == TOKEN_TYPES.len() {
                " or "
            } else {
                ", "
            });
        }
        text.push_str(t.prefix);
    }
    text
}

/// The end of an invalid-parameter message: what follows `parameter "credential"`.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("must not be empty"),
            Self::ControlCharacter { length } => write!(
                f,
                "must not contain control characters, got a value of {length} characters \
                 that does"
            ),
            Self::OnlyPrefix(t) => write!(
                f,
                "must be a GitHub token, got only the prefix {} ({}) with nothing after it",
                t.prefix, t.name
            ),
            Self::NoPrefix { length, hint } => {
                write!(
                    f,
                    "must be a GitHub token that starts {}, got a value of {length} characters \
                     that does not",
                    prefixes()
                )?;
                match hint {
                    Hint::None => Ok(()),
                    Hint::LeadingWhitespace => f.write_str(" (it starts with whitespace)"),
                    Hint::LetterCase => f.write_str(" (the prefixes are lowercase)"),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::PluginErrorKind;

    use super::*;
    use crate::sample_token as sample;

    fn refused(value: &str) -> PluginError {
        let err = check(value, None).unwrap_err();
        assert_eq!(err.kind, PluginErrorKind::InvalidParam, "{value:?}");
        assert_eq!(err.param.as_ref().into_option().unwrap(), CREDENTIAL);
        // A value the message may hold without showing it: a documented prefix.
        if value.chars().count() > 4 && !prefixes().contains(value) {
            assert!(!err.message.contains(value), "{}", err.message);
            assert!(!format!("{err:?}").contains(value));
        }
        err
    }

    #[test]
    fn each_documented_prefix_is_accepted() {
        for t in TOKEN_TYPES {
            let value = sample(t.prefix);
            assert_eq!(check(&value, None), Ok(t), "{value}");
        }
        let prefixes: Vec<&str> = TOKEN_TYPES.iter().map(|t| t.prefix).collect();
        assert_eq!(prefixes, ["ghp_", "github_pat_", "gho_", "ghu_", "ghr_"]);
    }

    #[test]
    fn no_length_or_alphabet_is_imposed_after_the_prefix() {
        // The documentation gives none: a short, a long, an odd or a
        // non-ASCII rest is GitHub's to judge, and is sent.
        for value in [
            "ghp_x".to_owned(),
            format!("ghp_{}", "a".repeat(10_000)),
            "github_pat_11ABC_def-ghi".to_owned(),
            "gho_$%&\"\\/".to_owned(),
            "ghu_ inner space".to_owned(),
            "ghr_trailing ".to_owned(),
            "ghp_é日本".to_owned(),
        ] {
            assert!(check(&value, None).is_ok(), "{value:?}");
        }
    }

    #[test]
    fn a_bare_prefix_is_too_short() {
        for t in TOKEN_TYPES {
            let err = refused(t.prefix);
            assert_eq!(
                err.message,
                format!(
                    "parameter \"credential\" must be a GitHub token, got only the prefix {} ({}) \
                     with nothing after it",
                    t.prefix, t.name
                )
                .as_str()
            );
        }
        // Shorter than any prefix: no prefix at all.
        let err = refused("gh");
        assert!(err.message.contains("2 characters"), "{}", err.message);
    }

    #[test]
    fn other_prefixes_are_refused_by_length_only() {
        let err = refused("ghs_made-up-test-token-not-real");
        assert_eq!(
            err.message,
            "parameter \"credential\" must be a GitHub token that starts ghp_, github_pat_, \
             gho_, ghu_ or ghr_, got a value of 31 characters that does not"
        );
        for value in [
            "AKIAIOSFODNN7EXAMPLE",
            "xoxb-1234-5678-abcdef",
            "ghp",
            "github_pat",
            "ghp-made-up-test",
            "_ghp_made-up-test",
        ] {
            let err = refused(value);
            assert!(err.message.ends_with("that does not"), "{}", err.message);
        }
    }

    #[test]
    fn letter_case_and_leading_whitespace_are_named() {
        let err = refused("GHP_made-up-test-token-not-real");
        assert!(
            err.message.ends_with("(the prefixes are lowercase)"),
            "{}",
            err.message
        );
        let err = refused("Github_Pat_made-up-test");
        assert!(err.message.ends_with("(the prefixes are lowercase)"));
        let err = refused(" ghp_made-up-test-token-not-real");
        assert!(
            err.message.ends_with("(it starts with whitespace)"),
            "{}",
            err.message
        );
        assert!(err.message.contains("32 characters"));
    }

    #[test]
    fn control_characters_are_refused_like_any_string_parameter() {
        for value in [
            "ghp_made-up-test-token-not-real\n",
            "ghp_made-up-test\tmN1pQ3sT5vW7yZ9bC1dF3hJ5",
            "ghp_made-up-test\0",
            "\r\nghp_made-up-test",
        ] {
            let err = refused(value);
            assert!(
                err.message.contains("control characters"),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn empty_and_non_ascii_values() {
        assert_eq!(
            refused("").message,
            "parameter \"credential\" must not be empty"
        );
        // A Cyrillic "р" in the prefix: not the documented prefix.
        let err = refused("ghр_made-up-test-token-not-real");
        assert!(err.message.contains("31 characters"), "{}", err.message);
        assert!(err.message.ends_with("that does not"), "{}", err.message);
        let err = refused("日本語のトークン");
        assert!(err.message.contains("8 characters"), "{}", err.message);
    }

    #[test]
    fn a_batch_line_is_named_by_its_place() {
        let err = check("nope-not-a-token", Some(3)).unwrap_err();
        assert!(
            err.message.ends_with("(line 3 of the batch)"),
            "{}",
            err.message
        );
        assert!(!err.message.contains("nope-not-a-token"));
    }
}
