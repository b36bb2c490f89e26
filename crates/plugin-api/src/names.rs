//! The naming rules a plugin is held to, in one place: the host checks a
//! plugin against them when it loads it, and the SDK's
//! [`testing`](crate::testing) checks against the same lists, so that a plugin's
//! own tests fail where the host would refuse it. Rust-side only: nothing here
//! crosses the ABI.

/// The names the `revoker` command line keeps for its own commands: no
/// provider may take one.
pub const RESERVED_PROVIDER_NAMES: &[&str] = &[
    "providers",
    "describe",
    "bulk",
    "findings",
    "summarize",
    "config",
    "man",
    "help",
    "completions",
    "audit",
    "version",
];

/// The names the `revoker` command line keeps for its own flags: no parameter
/// may take one.
pub const RESERVED_PARAM_NAMES: &[&str] = &[
    "help",
    "dry-run",
    "max-attempts",
    "output",
    "config",
    "plugin-dir",
    "verbose",
    "quiet",
];

/// Headers the host owns (lowercase), which neither a plugin's request nor a
/// manifest's credential header may name: where the request goes, cookies, a
/// proxy's credential, and the framing of the message. (A plugin may not set
/// `Authorization` either, nor the headers its auth kind sets: those are the
/// credential's.)
pub const HOST_HEADERS: &[&str] = &[
    "proxy-authorization",
    "host",
    "cookie",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
];

/// Whether `name` may name a provider, an operation, a parameter or a
/// credential part: lowercase ASCII letters, digits and inner `-`, starting
/// with a letter.
pub fn is_cli_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The host feature a plugin with a batched operation needs (plugin API 1.3):
/// a host without it would send the operation's lines one a request through
/// `plan`, so the plugin's exports require it.
pub const FEATURE_BATCH: &str = "batch";

/// The host feature a plugin with an asynchronous operation needs (plugin API
/// 1.3): a host without it would report its lines `revoked` when the provider
/// has only accepted them.
pub const FEATURE_ACCEPTED: &str = "outcome:accepted";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_names_are_lowercase_words_joined_by_dashes() {
        for good in ["pinata", "aws-iam", "revoke-key2"] {
            assert!(is_cli_name(good), "{good}");
        }
        for bad in ["", "Acme", "2fa", "-x", "x-", "a_b", "a b", "é"] {
            assert!(!is_cli_name(bad), "{bad}");
        }
    }
}
