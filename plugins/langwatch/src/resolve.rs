//! What a secret a scanner found is to LangWatch: a LangWatch key (`sk-lw-…`)
//! is its provider's, but `revoke-virtual-key` takes the virtual key's id,
//! which the key does not reveal, so it needs that id and never guesses it.

use revoker_plugin_api::{Params, Resolution};

/// The prefix of LangWatch's keys.
const PREFIX: &str = "sk-lw-";

/// Why a LangWatch key needs its id, and where to find it.
pub(crate) const NEEDS_ID: &str = "a LangWatch key (sk-lw-…): revoke-virtual-key takes the \
    virtual key's id, which the key does not reveal; find the id in the LangWatch dashboard's \
    list of virtual keys (match the key's display prefix) or in the API's listing of virtual \
    keys, then revoke it with revoke-virtual-key and that id. A project API key (the \
    X-Auth-Token) is no virtual key: rotate it in the project's settings";

/// `needs-id` for a LangWatch key (its prefix, or a scanner's hint naming
/// LangWatch); `None` otherwise.
pub(crate) fn resolve(secret: &str, hint: &str, _context: &Params) -> Option<Resolution> {
    let secret = secret.trim();
    let shaped = secret.len() > PREFIX.len() && secret.starts_with(PREFIX);
    (shaped || names_langwatch(hint)).then(|| Resolution::needs_id(NEEDS_ID))
}

/// Whether a scanner's hint names LangWatch (`LangWatch`, `langwatch-api-key`,
/// `langwatch_api_key`…).
fn names_langwatch(hint: &str) -> bool {
    let letters: String = hint
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    letters.contains("langwatch")
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{Provider, ResolutionKind};

    use super::*;
    use crate::LangWatch;
    use revoker_plugin_api::testing::assert_no_secret;

    const KEY: &str = "sk-lw-Q2hhbmdlTWVBZnRlclVzZTAxMjM0NTY3ODk";

    #[test]
    fn a_langwatch_key_needs_its_id_and_says_where_to_find_it() {
        for (secret, hint) in [
            (KEY, ""),
            (KEY, "LangWatch"),
            (KEY, "Generic"),
            (" sk-lw-Zq9\n", ""),
            ("sk-lw-Q", ""),
            // The scanner's word for it, whatever the shape.
            ("0123456789abcdef", "LangWatch"),
            ("0123456789abcdef", "langwatch-api-key"),
            ("0123456789abcdef", "LANGWATCH_API_KEY"),
            ("0123456789abcdef", "Lang Watch"),
        ] {
            let resolution = LangWatch::resolve(secret, hint, &Params::new())
                .unwrap_or_else(|| panic!("{hint:?} is not claimed"));
            assert_eq!(resolution.kind, ResolutionKind::NeedsId);
            assert_eq!(resolution.reason, NEEDS_ID);
            assert!(resolution.calls.is_empty() && resolution.lookup.is_none());
            // The reason names the prefix, which is public, and nothing after it.
            let secret = secret.trim();
            assert_no_secret(
                &resolution,
                &[secret.strip_prefix(PREFIX).unwrap_or(secret)],
            );
        }
        assert!(NEEDS_ID.contains("dashboard"));
        assert!(NEEDS_ID.contains("revoke-virtual-key"));
        assert!(NEEDS_ID.contains("listing of virtual keys"));
        // The context changes nothing: an id is never guessed from it.
        let context = Params::from_pairs([("id", "vk_1"), ("delete", "true")]);
        let resolution = LangWatch::resolve(KEY, "", &context).unwrap();
        assert_eq!(resolution.kind, ResolutionKind::NeedsId);
    }

    #[test]
    fn what_is_not_langwatchs_is_not_claimed() {
        for (secret, hint) in [
            ("", ""),
            ("sk-lw-", ""),
            ("sk-lw", ""),
            ("sk-lwx-abc", ""),
            ("SK-LW-abc", ""),
            ("x sk-lw-abc", ""),
            ("sk-proj-abcdefghijklmnop", "OpenAI"),
            ("AKIAIOSFODNN7EXAMPLE", "AWS"),
            ("eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "JWT"),
            ("0123456789abcdef", "Lang"),
            ("0123456789abcdef", "watch"),
        ] {
            assert_eq!(
                LangWatch::resolve(secret, hint, &Params::new()),
                None,
                "{secret:?} {hint:?}"
            );
        }
    }

    #[test]
    fn the_exported_module_resolves_through_the_provider() {
        let resolve = crate::revoker_root_module().resolve().unwrap();
        let answer = resolve(KEY.into(), "".into(), &Params::new()).unwrap();
        assert_eq!(
            answer.into_option(),
            LangWatch::resolve(KEY, "", &Params::new())
        );
    }

    mod arbitrary {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, FileFailurePersistence};

        use super::*;

        proptest! {
            #![proptest_config(Config {
                cases: 512,
                failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
                ..Config::default()
            })]

            #[test]
            fn resolve_never_panics_nor_repeats_the_secret(
                secret in prop_oneof!["\\PC{0,60}", "sk-lw-[A-Za-z0-9_-]{8,48}"],
                hint in prop_oneof![Just(String::new()), Just("LangWatch".to_owned()), "\\PC{0,20}"],
                context in proptest::collection::vec(("[a-z-]{1,12}", "\\PC{0,20}"), 0..4),
            ) {
                let context = Params::from_pairs(context);
                let resolution = LangWatch::resolve(&secret, &hint, &context);
                if secret.starts_with("sk-lw-") && secret.len() > 6 {
                    prop_assert!(resolution.is_some());
                }
                if let Some(resolution) = resolution {
                    prop_assert_eq!(resolution.kind, ResolutionKind::NeedsId);
                    let secret = secret.trim();
                    let after = secret.strip_prefix(PREFIX).unwrap_or(secret);
                    if after.chars().count() >= 8 {
                        assert_no_secret(&resolution, &[secret, after]);
                    }
                }
            }
        }
    }
}
