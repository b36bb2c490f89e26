//! What a secret a scanner found is to Pinata: a Pinata API key is a JWT
//! whose payload names its public key (`scopedKeyKey`), which
//! `revoke-api-key` takes.
//!
//! Only the payload (the middle, base64url part) is read: no signature check,
//! no network. It is JSON with `userInformation` (the owner), `authenticationType`
//! (`scopedKey` for an API key), `scopedKeyKey` (the public key) and
//! `scopedKeySecret` (the secret, never read here beyond its comparison with
//! the public key).

use revoker_plugin_api::{Params, Resolution, ResolvedCall};
use serde_json::{Map, Value};

use crate::REVOKE_API_KEY;

/// The longest secret read as a JWT: a Pinata key is well under 1 KiB.
const MAX_JWT_BYTES: usize = 16 * 1024;
/// The longest public key accepted (Pinata's are 20 hexadecimal characters).
const MAX_PUBLIC_KEY_CHARS: usize = 128;

/// `secret` resolved, if it is a Pinata JWT; `None` otherwise, whatever the
/// hint (the payload is what says whose it is).
pub(crate) fn resolve(secret: &str, _hint: &str, _context: &Params) -> Option<Resolution> {
    let payload = jwt_payload(secret.trim())?;
    // A Pinata key names its owner and how it authenticates; another JWT does not.
    if !payload.get("userInformation").is_some_and(Value::is_object) {
        return None;
    }
    let kind = payload.get("authenticationType")?.as_str()?;
    if kind != "scopedKey" {
        return Some(Resolution::unresolvable(
            "a Pinata JWT that is not an API key (its authenticationType is not \
             scopedKey): revoke-api-key revokes only API keys; revoke this token where \
             it was issued, in Pinata's dashboard",
        ));
    }
    let public_key = payload
        .get("scopedKeyKey")
        .and_then(Value::as_str)
        .filter(|key| is_public_key(key, secret, &payload));
    match public_key {
        Some(key) => Some(Resolution::resolved(
            &format!(
                "a Pinata API key (a scoped-key JWT) whose public key is {key}: \
                 revoke-api-key revokes it (with an admin key)"
            ),
            [ResolvedCall::new(
                REVOKE_API_KEY,
                Params::from_pairs([("api-key", key)]),
            )],
        )),
        None => Some(Resolution::needs_id(
            "a Pinata API key (a scoped-key JWT) whose payload does not hold a usable \
             public key (scopedKeyKey): find the key in Pinata's dashboard (API Keys) \
             and revoke it there, or run revoke-api-key with its public key",
        )),
    }
}

/// Whether `key` can be given as the public key: short, printable, and not
/// (part of) anything secret.
fn is_public_key(key: &str, secret: &str, payload: &Map<String, Value>) -> bool {
    let secret_half = payload.get("scopedKeySecret").and_then(Value::as_str);
    !key.is_empty()
        && key.chars().count() <= MAX_PUBLIC_KEY_CHARS
        && key.chars().all(|c| c.is_ascii_graphic())
        && !secret.contains(key)
        && secret_half.is_none_or(|s| !s.contains(key) && !key.contains(s))
}

/// The JSON object a JWT's payload holds, if `token` is three base64url parts
/// separated by dots with an object in the middle.
fn jwt_payload(token: &str) -> Option<Map<String, Value>> {
    if token.len() > MAX_JWT_BYTES {
        return None;
    }
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || header.is_empty() || payload.is_empty() {
        return None;
    }
    let _ = signature;
    match serde_json::from_slice(&base64url_decode(payload)?).ok()? {
        Value::Object(object) => Some(object),
        _ => None,
    }
}

/// `text` decoded from base64url (RFC 4648 §5), padded or not; `None` if it
/// is not.
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use revoker_plugin_api::{Provider, ResolutionKind};

    use super::*;
    use crate::Pinata;
    use revoker_plugin_api::testing::assert_no_secret;

    const PUBLIC_KEY: &str = "a1b2c3d4e5f6a7b8c9d0";
    const KEY_SECRET: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";

    fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        out
    }

    fn jwt(payload: &Value) -> String {
        let header = encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = encode(payload.to_string().as_bytes());
        format!("{header}.{payload}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk")
    }

    /// A payload as Pinata's API keys carry it.
    fn pinata_payload() -> Value {
        serde_json::json!({
            "userInformation": {
                "id": "5f1e2d3c-4b5a-4968-8776-655443322110",
                "email": "dev@example.com",
                "email_verified": true,
                "pin_policy": {"regions": [{"id": "FRA1", "desiredReplicationCount": 1}], "version": 1},
                "mfa_enabled": false,
                "status": "ACTIVE"
            },
            "authenticationType": "scopedKey",
            "scopedKeyKey": PUBLIC_KEY,
            "scopedKeySecret": KEY_SECRET,
            "exp": 1_767_225_600,
            "iat": 1_735_689_600
        })
    }

    fn resolve_jwt(token: &str, hint: &str) -> Option<Resolution> {
        Pinata::resolve(token, hint, &Params::new())
    }

    #[test]
    fn a_scoped_key_resolves_to_revoke_api_key_with_its_public_key() {
        let token = jwt(&pinata_payload());
        for hint in ["", "JWT", "jwt", "Pinata", "pinata_jwt"] {
            let resolution = resolve_jwt(&token, hint).unwrap();
            assert_eq!(resolution.kind, ResolutionKind::Resolved, "{hint}");
            assert_eq!(resolution.calls.len(), 1);
            let call = &resolution.calls[0];
            assert_eq!(call.operation, REVOKE_API_KEY);
            assert_eq!(call.params, Params::from_pairs([("api-key", PUBLIC_KEY)]));
            assert!(call.secret_param.is_none());
            assert!(resolution.lookup.is_none());
            assert!(
                resolution.reason.contains(PUBLIC_KEY),
                "{}",
                resolution.reason
            );
            assert!(resolution.reason.contains("revoke-api-key"));
            assert_no_secret(&resolution, &[&token, KEY_SECRET]);
        }
        // Whitespace around it, as a scanner may keep it; padding in the payload.
        let padded = token.replace(".c2ln", "==.c2ln");
        for token in [format!("  {token}\n"), padded] {
            let resolution = resolve_jwt(&token, "").unwrap();
            assert_eq!(resolution.kind, ResolutionKind::Resolved);
            assert_no_secret(&resolution, &[token.trim(), KEY_SECRET]);
        }
        // The call is one the plugin plans.
        let resolution = resolve_jwt(&jwt(&pinata_payload()), "").unwrap();
        let call = &resolution.calls[0];
        let request = Pinata::plan(&call.operation, &call.params).unwrap();
        assert_eq!(request.path, "/users/revokeApiKey");
    }

    #[test]
    fn the_exported_module_resolves_through_the_provider() {
        let token = jwt(&pinata_payload());
        let resolve = crate::revoker_root_module().resolve().unwrap();
        let answer = resolve(token.as_str().into(), "".into(), &Params::new()).unwrap();
        assert_eq!(answer.into_option(), resolve_jwt(&token, ""));
        let answer = resolve("not a jwt".into(), "".into(), &Params::new()).unwrap();
        assert!(answer.is_none());
    }

    #[test]
    fn a_jwt_that_is_not_pinatas_is_not_claimed() {
        let others = [
            serde_json::json!({"sub": "1234567890", "name": "John Doe", "iat": 1_516_239_022}),
            // Supabase's anon key.
            serde_json::json!({"iss": "supabase", "ref": "abcdefgh", "role": "anon"}),
            // The fields, but no owner.
            serde_json::json!({"authenticationType": "scopedKey", "scopedKeyKey": PUBLIC_KEY}),
            serde_json::json!({"userInformation": "x", "authenticationType": "scopedKey"}),
            serde_json::json!({"userInformation": {}, "authenticationType": 7}),
            serde_json::json!({"userInformation": {}}),
            serde_json::json!([1, 2]),
            serde_json::json!("scopedKey"),
        ];
        for payload in others {
            assert_eq!(resolve_jwt(&jwt(&payload), "JWT"), None, "{payload}");
        }
        let token = jwt(&pinata_payload());
        let (header, rest) = token.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        for not_a_jwt in [
            String::new(),
            "sk-lw-abc".to_owned(),
            "AKIAIOSFODNN7EXAMPLE".to_owned(),
            format!("{header}.{payload}"),
            format!("{header}.{payload}.{signature}.x"),
            format!(".{payload}.{signature}"),
            format!("{header}..{signature}"),
            format!("{header}.{payload}!.{signature}"),
            format!("{header}.{}.{signature}", &payload[1..]),
            format!("{header}.{payload}+/.{signature}"),
            format!("{header}.{payload}.{signature}").replace('.', ". "),
        ] {
            assert_eq!(resolve_jwt(&not_a_jwt, ""), None, "{not_a_jwt:?}");
        }
    }

    #[test]
    fn another_kind_of_pinata_jwt_is_unresolvable() {
        let mut payload = pinata_payload();
        payload["authenticationType"] = "user".into();
        let token = jwt(&payload);
        let resolution = resolve_jwt(&token, "").unwrap();
        assert_eq!(resolution.kind, ResolutionKind::Unresolvable);
        assert!(resolution.calls.is_empty());
        assert!(
            resolution.reason.contains("not an API key"),
            "{}",
            resolution.reason
        );
        assert_no_secret(&resolution, &[&token, KEY_SECRET]);
    }

    #[test]
    fn a_scoped_key_without_a_usable_public_key_needs_its_id() {
        let long = "k".repeat(MAX_PUBLIC_KEY_CHARS + 1);
        let cases: [Option<Value>; 7] = [
            None,
            Some(Value::Null),
            Some(7.into()),
            Some("".into()),
            Some("a b".into()),
            Some(long.into()),
            // The secret given as the public key is never repeated.
            Some(KEY_SECRET.into()),
        ];
        for key in cases {
            let mut payload = pinata_payload();
            match &key {
                Some(key) => payload["scopedKeyKey"] = key.clone(),
                None => {
                    payload.as_object_mut().unwrap().remove("scopedKeyKey");
                }
            }
            let token = jwt(&payload);
            let resolution = resolve_jwt(&token, "").unwrap();
            assert_eq!(resolution.kind, ResolutionKind::NeedsId, "{key:?}");
            assert!(resolution.calls.is_empty());
            assert!(
                resolution.reason.contains("Pinata's dashboard (API Keys)"),
                "{}",
                resolution.reason
            );
            assert_no_secret(&resolution, &[&token, KEY_SECRET]);
        }
        // A public key that is part of the secret, or holds it.
        for (key, secret) in [
            ("9f8e7d6c", KEY_SECRET),
            ("x9f8e7d6c5b4a3", "9f8e7d6c5b4a3"),
        ] {
            let mut payload = pinata_payload();
            payload["scopedKeyKey"] = key.into();
            payload["scopedKeySecret"] = secret.into();
            let resolution = resolve_jwt(&jwt(&payload), "").unwrap();
            assert_eq!(resolution.kind, ResolutionKind::NeedsId, "{key}");
        }
    }

    #[test]
    fn base64url_decodes_as_rfc_4648_says() {
        for (text, bytes) in [
            ("", &b""[..]),
            ("Zg", b"f"),
            ("Zm8", b"fo"),
            ("Zm9v", b"foo"),
            ("Zm9vYg", b"foob"),
            ("Zm9vYmE", b"fooba"),
            ("Zm9vYmFy", b"foobar"),
            ("Zm9vYmE=", b"fooba"),
            ("-_8", &[0xfb, 0xff]),
        ] {
            assert_eq!(base64url_decode(text).as_deref(), Some(bytes), "{text}");
        }
        for bad in ["Z", "Zm9vY", "Zm+v", "Zm/v", "Zm 9", "Zé"] {
            assert_eq!(base64url_decode(bad), None, "{bad}");
        }
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(base64url_decode(&encode(&bytes)).unwrap(), bytes);
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
                secret in prop_oneof![
                    "\\PC{0,80}",
                    "[A-Za-z0-9_-]{0,40}\\.[A-Za-z0-9_=-]{0,120}\\.[A-Za-z0-9_-]{0,20}",
                    any::<Vec<u8>>().prop_map(|b| format!("e30.{}.x", encode(&b))),
                ],
                hint in "\\PC{0,20}",
                context in proptest::collection::vec(("[a-z-]{1,12}", "\\PC{0,20}"), 0..4),
            ) {
                let context = Params::from_pairs(context);
                if let Some(resolution) = Pinata::resolve(&secret, &hint, &context) {
                    assert_no_secret(&resolution, &[secret.trim()]);
                }
            }

            #[test]
            fn any_public_key_is_resolved_or_needs_its_id(key in "\\PC{0,40}") {
                let mut payload = pinata_payload();
                payload["scopedKeyKey"] = key.clone().into();
                let token = jwt(&payload);
                let resolution = Pinata::resolve(&token, "", &Params::new()).unwrap();
                prop_assert!(matches!(
                    resolution.kind,
                    ResolutionKind::Resolved | ResolutionKind::NeedsId
                ));
                assert_no_secret(&resolution, &[&token, KEY_SECRET]);
            }
        }
    }
}
