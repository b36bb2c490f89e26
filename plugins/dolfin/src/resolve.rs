//! What a secret a scanner found is to Dolfin: Dolfin documents no format for
//! its API keys, so only a scanner's hint naming Dolfin claims one; and
//! `revoke-api-key` takes the key's id (a UUID), which the key does not
//! reveal, so it needs that id and never guesses it.

use revoker_plugin_api::{Params, Resolution};

/// Why a Dolfin key needs its id, and where to find it.
pub(crate) const NEEDS_ID: &str = "a Dolfin API key: revoke-api-key takes the key's id (a \
    UUID), which the key does not reveal; find the id among the API keys of the Client it \
    belongs to, in Dolfin's dashboard or the API's listing of API keys, then revoke it with \
    revoke-api-key and that id (as an Admin or Owner of the Client)";

/// `needs-id` for a secret a scanner's hint says is Dolfin's; `None`
/// otherwise (Dolfin's keys have no documented shape to recognise).
pub(crate) fn resolve(_secret: &str, hint: &str, _context: &Params) -> Option<Resolution> {
    names_dolfin(hint).then(|| Resolution::needs_id(NEEDS_ID))
}

/// Whether a scanner's hint names Dolfin (`Dolfin`, `dolfin-api-key`,
/// `dolfin_api_key`…).
fn names_dolfin(hint: &str) -> bool {
    let letters: String = hint
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    letters.contains("dolfin")
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{Provider, ResolutionKind};

    use super::*;
    use crate::Dolfin;
    use revoker_plugin_api::testing::assert_no_secret;

    const KEY: &str = "dk_live_7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c2e";

    #[test]
    fn a_key_the_scanner_says_is_dolfins_needs_its_id() {
        for hint in [
            "Dolfin",
            "dolfin",
            "DOLFIN_API_KEY",
            "dolfin-api-key",
            " Dolfin ",
        ] {
            for secret in [KEY, "anything at all", ""] {
                let resolution = Dolfin::resolve(secret, hint, &Params::new())
                    .unwrap_or_else(|| panic!("{hint:?} is not claimed"));
                assert_eq!(resolution.kind, ResolutionKind::NeedsId);
                assert_eq!(resolution.reason, NEEDS_ID);
                assert!(resolution.calls.is_empty() && resolution.lookup.is_none());
                if !secret.is_empty() {
                    assert_no_secret(&resolution, &[secret]);
                }
            }
        }
        assert!(NEEDS_ID.contains("dashboard"));
        assert!(NEEDS_ID.contains("revoke-api-key"));
        assert!(NEEDS_ID.contains("(a UUID)"));
        // The context changes nothing: an id is never guessed from it.
        let context = Params::from_pairs([("id", "5eb8b151-77b3-4e46-8243-5b6282131a9e")]);
        let resolution = Dolfin::resolve(KEY, "Dolfin", &context).unwrap();
        assert_eq!(resolution.kind, ResolutionKind::NeedsId);
    }

    #[test]
    fn without_a_hint_naming_dolfin_nothing_is_claimed() {
        for (secret, hint) in [
            (KEY, ""),
            (KEY, "Generic"),
            (KEY, "Dolphin"),
            ("x-dolfin-api-key: abc", ""),
            ("sk-lw-abcdefghijklmnop", "LangWatch"),
            ("AKIAIOSFODNN7EXAMPLE", "AWS"),
        ] {
            assert_eq!(
                Dolfin::resolve(secret, hint, &Params::new()),
                None,
                "{secret:?} {hint:?}"
            );
        }
    }

    #[test]
    fn the_exported_module_resolves_through_the_provider() {
        let resolve = crate::revoker_root_module().resolve().unwrap();
        let answer = resolve(KEY.into(), "Dolfin".into(), &Params::new()).unwrap();
        assert_eq!(
            answer.into_option(),
            Dolfin::resolve(KEY, "Dolfin", &Params::new())
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
                secret in "\\PC{0,60}",
                hint in prop_oneof![Just(String::new()), Just("Dolfin".to_owned()), "\\PC{0,20}"],
                context in proptest::collection::vec(("[a-z-]{1,12}", "\\PC{0,20}"), 0..4),
            ) {
                let context = Params::from_pairs(context);
                if let Some(resolution) = Dolfin::resolve(&secret, &hint, &context) {
                    prop_assert_eq!(resolution.kind, ResolutionKind::NeedsId);
                    if secret.chars().count() >= 8 {
                        assert_no_secret(&resolution, &[&secret]);
                    }
                }
            }
        }
    }
}
