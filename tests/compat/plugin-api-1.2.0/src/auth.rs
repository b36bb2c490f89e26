//! How the host authenticates a provider's requests, and which host features a
//! plugin needs (both added in plugin API 1.2).
//!
//! The plugin only *declares* the auth kind; the host reads the credential (in
//! named parts, each from a variable, a file, stdin or the embedding program),
//! builds the header, signs or fetches tokens, and never hands a secret part to
//! the plugin.

use abi_stable::StableAbi;
use abi_stable::std_types::{ROption, RString, RVec};

/// The plugin API version that introduced auth kinds and feature gating.
const SINCE_1_2: &str = "1.2";

/// How the host authenticates a provider's requests.
///
/// Built with one of the constructors ([`Auth::header`], [`Auth::bearer`],
/// [`Auth::basic`], [`Auth::aws_sigv4`], [`Auth::oauth2_client_credentials`],
/// [`Auth::none`]) and adjusted with the builder methods. The host checks it at
/// load time and refuses a plugin whose auth it cannot serve.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Auth {
    /// The kind, one of [`Auth::KINDS`].
    pub kind: RString,
    /// The kind's settings by name (`header` and `prefix`; `service` and
    /// `region`; `token-path` and `scope`).
    pub settings: RVec<Setting>,
    /// The credential's parts, in the order the kind names them.
    pub parts: RVec<CredentialPart>,
}

/// One setting of an auth kind.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Setting {
    /// Its name, e.g. `region`.
    pub name: RString,
    /// Its value, e.g. `us-east-1`.
    pub value: RString,
}

/// One named part of a credential, e.g. AWS's `secret-access-key`.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CredentialPart {
    /// Its name as users type it, e.g. `access-key-id`.
    pub name: RString,
    /// The environment variable it is read from by default.
    pub env: RString,
    /// Whether it is a secret (never shown, never given to the plugin). Only a
    /// part declared not secret, such as an account id, may be a parameter.
    pub secret: bool,
    /// Whether the auth cannot work without it.
    pub required: bool,
    /// The operation parameter the host fills with this part's value when the
    /// request does not give one (non-secret parts only).
    pub param: ROption<RString>,
}

/// A host feature a plugin needs: a host without it refuses the plugin, naming
/// the feature and the plugin API version that introduced it.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Feature {
    /// Its name, e.g. `auth:aws-sigv4`.
    pub name: RString,
    /// The plugin API version whose hosts have it, e.g. `1.2`.
    pub since: RString,
}

impl Feature {
    /// The feature `name`, which hosts of plugin API `since` and later have.
    pub fn new(name: &str, since: &str) -> Self {
        Self {
            name: name.into(),
            since: since.into(),
        }
    }
}

impl Auth {
    /// The kinds a host of this plugin API version serves.
    pub const KINDS: &'static [&'static str] = &[
        "header",
        "basic",
        "aws-sigv4",
        "oauth2-client-credentials",
        "none",
    ];

    fn new(kind: &str) -> Self {
        Self {
            kind: kind.into(),
            settings: RVec::new(),
            parts: RVec::new(),
        }
    }

    fn setting_(mut self, name: &str, value: &str) -> Self {
        self.settings.push(Setting {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    fn part_(mut self, name: &str, env: &str, secret: bool, required: bool) -> Self {
        self.parts.push(CredentialPart {
            name: name.into(),
            env: env.into(),
            secret,
            required,
            param: ROption::RNone,
        });
        self
    }

    /// `<header>: <prefix><credential>`, the credential in one part called
    /// `credential`, read from `env` (today's scheme, as [`AuthScheme`](crate::AuthScheme)).
    pub fn header(header: &str, prefix: &str, env: &str) -> Self {
        Self::new("header")
            .setting_("header", header)
            .setting_("prefix", prefix)
            .part_("credential", env, true, true)
    }

    /// `Authorization: Bearer <credential>`, read from `env`.
    pub fn bearer(env: &str) -> Self {
        Self::header("Authorization", "Bearer ", env)
    }

    /// HTTP Basic (RFC 7617): the host encodes parts `user` (from `user_env`)
    /// and `password` (from `password_env`) as `Authorization: Basic …`. Both are
    /// secret until [`Auth::public_part`] says otherwise.
    pub fn basic(user_env: &str, password_env: &str) -> Self {
        Self::new("basic")
            .part_("user", user_env, true, true)
            .part_("password", password_env, true, true)
    }

    /// AWS Signature Version 4: the host signs each request (method, path,
    /// query, headers, body) for `service` in `region` with parts
    /// `access-key-id` (`AWS_ACCESS_KEY_ID`), `secret-access-key`
    /// (`AWS_SECRET_ACCESS_KEY`) and the optional `session-token`
    /// (`AWS_SESSION_TOKEN`).
    pub fn aws_sigv4(service: &str, region: &str) -> Self {
        Self::new("aws-sigv4")
            .setting_("service", service)
            .setting_("region", region)
            .part_("access-key-id", "AWS_ACCESS_KEY_ID", true, true)
            .part_("secret-access-key", "AWS_SECRET_ACCESS_KEY", true, true)
            .part_("session-token", "AWS_SESSION_TOKEN", true, false)
    }

    /// OAuth 2.0 client credentials (RFC 6749 §4.4): the host asks the token
    /// endpoint at `token_path` on the provider's base URL for a token with
    /// `scope` (empty: none), authenticating with parts `client-id` (from
    /// `client_id_env`) and `client-secret` (from `client_secret_env`), then sends
    /// `Authorization: Bearer <token>`. It caches the token until it expires and
    /// never shows it.
    pub fn oauth2_client_credentials(
        token_path: &str,
        scope: &str,
        client_id_env: &str,
        client_secret_env: &str,
    ) -> Self {
        Self::new("oauth2-client-credentials")
            .setting_("token-path", token_path)
            .setting_("scope", scope)
            .part_("client-id", client_id_env, true, true)
            .part_("client-secret", client_secret_env, true, true)
    }

    /// No credential at all: the host sends no `Authorization` header, whatever
    /// is set.
    pub fn none() -> Self {
        Self::new("none")
    }

    /// Reads `part` from the environment variable `env` instead.
    #[must_use]
    pub fn part_env(mut self, part: &str, env: &str) -> Self {
        for p in self.parts.iter_mut().filter(|p| p.name == part) {
            p.env = env.into();
        }
        self
    }

    /// Declares `part` not secret (an account id, say): it may be shown, and
    /// given to the plugin as a parameter with [`Auth::part_as_param`].
    #[must_use]
    pub fn public_part(mut self, part: &str) -> Self {
        for p in self.parts.iter_mut().filter(|p| p.name == part) {
            p.secret = false;
        }
        self
    }

    /// Fills parameter `param` with `part`'s value when a request does not give
    /// it; `part` must be [public](Auth::public_part) (the host refuses a plugin
    /// that asks for a secret part).
    #[must_use]
    pub fn part_as_param(mut self, part: &str, param: &str) -> Self {
        for p in self.parts.iter_mut().filter(|p| p.name == part) {
            p.param = ROption::RSome(param.into());
        }
        self
    }

    /// The setting called `name`, if there is one.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.value.as_str())
    }

    /// The part called `name`, if there is one.
    pub fn part(&self, name: &str) -> Option<&CredentialPart> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// The host feature this auth needs: none for `header`, which every host
    /// serves; `auth:<kind>` for the others.
    pub fn feature(&self) -> Option<Feature> {
        (self.kind != "header").then(|| Feature::new(&format!("auth:{}", self.kind), SINCE_1_2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_parts_and_settings() {
        let auth = Auth::aws_sigv4("iam", "us-east-1");
        assert_eq!(auth.setting("service"), Some("iam"));
        assert_eq!(auth.setting("region"), Some("us-east-1"));
        let names: Vec<_> = auth.parts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["access-key-id", "secret-access-key", "session-token"]
        );
        assert!(!auth.part("session-token").unwrap().required);
        assert!(auth.parts.iter().all(|p| p.secret));
        assert_eq!(auth.feature().unwrap().name, "auth:aws-sigv4");
    }

    #[test]
    fn a_public_part_may_become_a_parameter() {
        let auth = Auth::basic("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")
            .public_part("user")
            .part_as_param("user", "account-sid");
        let user = auth.part("user").unwrap();
        assert!(!user.secret);
        assert_eq!(user.param, ROption::RSome("account-sid".into()));
        assert!(auth.part("password").unwrap().secret);
    }

    #[test]
    fn header_auth_needs_no_feature() {
        assert_eq!(Auth::bearer("X").feature(), None);
        assert_eq!(Auth::none().feature().unwrap().name, "auth:none");
        assert!(
            Auth::KINDS
                .iter()
                .all(|k| Auth::new(k).feature().is_none_or(|f| f.since == "1.2"))
        );
    }
}
