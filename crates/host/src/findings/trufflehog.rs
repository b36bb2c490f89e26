//! TruffleHog v3's `--json` output: one JSON object a line.
//!
//! # What is read
//!
//! TruffleHog prints each result with `json.Marshal` of an anonymous struct
//! (`pkg/output/json.go`, `PrintJSON` / `JSONPrinter.Print`), so the keys are
//! its Go field names:
//!
//! | field | meaning (TruffleHog's own comments) | kept as |
//! |---|---|---|
//! | `DetectorName` | "the string name of the DetectorType" (`AWS`, `Github`, …) | [`Hint::kind`](super::Hint::kind) (required) |
//! | `Raw` | "the raw secret data" | the secret when `RawV2` is empty; the AWS key id |
//! | `RawV2` | "the raw secret identifier that is a combination of both the ID and the secret … used for secrets that are multi part … Ex: AWS credentials" | the secret when not empty |
//! | `Redacted` | "the redacted version of the raw secret … for display purposes" | never read (for some detectors it is the secret) |
//! | `Verified` | whether TruffleHog verified the secret live | [`Verdict`]: `true` is `Live`, `false` `Unverified` |
//! | `VerificationError` | present (`omitempty`) when verification failed to decide | [`Verdict::Unknown`] |
//! | `ExtraData` | `map[string]string` of detector facts | only the keys in [`EXTRA_DATA_KEYS`] |
//! | `SourceMetadata` | where: `{"Data": {"<Source>": {…}}}` | [`Location`](super::Location) |
//!
//! `SourceMetadata.Data` holds one member named for the source
//! (`proto/source_metadata.proto`, the `MetaData` `oneof`; Go's JSON writes the
//! wrapper's field name: `Git`, `Github`, `Gitlab`, `Filesystem`, `Docker`, …),
//! whose fields are the proto's `json` names in snake case. Read from
//! whichever it is: `file` (or `path`), `line`, `commit`, `repository`,
//! `link`. So `Git {commit, file, email, repository, timestamp, line}`,
//! `Github {link, repository, commit, file, line, …}` and `Filesystem {file,
//! link, line}` all give their location; `email` and `timestamp` are not
//! kept.
//!
//! TruffleHog's `--json-legacy` output (its v2 format) is not read: each
//! record is a [`ProblemKind::UnknownShape`].
//!
//! Other fields (`SourceID`, `SourceType`, `SourceName`, `DetectorType`,
//! `DetectorDescription`, `DecoderName`, `VerificationFromCache`,
//! `StructuredData`, `SecretParts`, and fields later versions add) are
//! ignored.
//!
//! # AWS
//!
//! The `AWS` detector (`pkg/detectors/aws/access_keys/accesskey.go`) writes
//! the access key id (`AKIA…`, `ABIA…`, `ACCA…`: 4 letters and 16 of
//! `[A-Z0-9]`) in `Raw` and `Redacted`, and `id + ":" + secret` in `RawV2`;
//! versions before the colon was added (`pkg/detectors/aws/aws.go`) wrote
//! `id + secret`. Both are read: the id becomes
//! [`Finding::public_id`](super::Finding::public_id), the secret access key
//! [`Finding::paired_secret`](super::Finding::paired_secret), and the secret
//! is always written `id:secret`, so that both versions' reports of one key
//! are one secret. Its `ExtraData` holds `resource_type` (`Access key`),
//! `account` (decoded from the id), and once verified `arn` and `user_id`
//! (from STS `GetCallerIdentity`), and `is_canary` for canary tokens.
//!
//! Log lines (TruffleHog logs to stderr, as JSON with `level` and `msg`)
//! captured into the report are reported as [`ProblemKind::LogLine`].

use super::record::Record;
use super::{Draft, Finding, Format, Hint, Position, ProblemKind, Verdict};

/// The `ExtraData` keys kept, all public: `account` (an AWS account id),
/// `arn` (an ARN, which names the IAM user), `user_id` (an IAM unique id),
/// `resource_type` (`Access key`, …), `is_canary` (`true` for a canary
/// token). Other keys are dropped: what a detector puts there is not known to
/// be public.
pub const EXTRA_DATA_KEYS: [&str; 5] = ["account", "arn", "user_id", "resource_type", "is_canary"];

/// Reads one TruffleHog result.
pub(crate) fn read(record: Record<'_>, at: Position) -> Result<Finding, ProblemKind> {
    let detector = match record.required_string("DetectorName") {
        Ok(detector) => detector,
        Err(_) if record.has("level") && record.has("msg") => return Err(ProblemKind::LogLine),
        Err(e) => return Err(e),
    };
    let raw = record.string("Raw")?;
    let raw_v2 = record.string("RawV2")?;
    let mut public_id = None;
    let mut paired_secret = None;
    let secret = match (raw, raw_v2) {
        (Some(raw), raw_v2) if detector == "AWS" && is_aws_key_id(raw) => {
            public_id = Some(raw.to_owned());
            match raw_v2.and_then(|v2| v2.strip_prefix(raw)) {
                Some(rest) if !rest.is_empty() => {
                    let key = rest.strip_prefix(':').unwrap_or(rest);
                    paired_secret = Some(key.to_owned());
                    format!("{raw}:{key}")
                }
                _ => raw_v2.unwrap_or(raw).to_owned(),
            }
        }
        (_, Some(raw_v2)) => raw_v2.to_owned(),
        (Some(raw), None) => raw.to_owned(),
        (None, None) => {
            let missing = record.required_string("Raw").err();
            return Err(missing.unwrap_or(ProblemKind::UnknownShape));
        }
    };
    let mut draft = Draft::new(secret, at);
    draft.hint = Some(Hint {
        scanner: Format::TruffleHog,
        kind: detector.to_owned(),
        display_name: None,
    });
    draft.public_id = public_id;
    draft.paired_secret = paired_secret;
    // Lenient: a finding is not lost over its status.
    draft.verdict = match record.bool("Verified").ok().flatten() {
        Some(true) => Verdict::Live,
        _ if record.string("VerificationError").ok().flatten().is_some() => Verdict::Unknown,
        _ => Verdict::Unverified,
    };
    if let Some(extra) = record.lenient_object("ExtraData") {
        for key in EXTRA_DATA_KEYS {
            if let Some(value) = extra.lenient_string(key) {
                draft.extras.insert(key, value);
            }
        }
    }
    if let Some(source) = record
        .lenient_object("SourceMetadata")
        .and_then(|m| m.lenient_object("Data"))
        .and_then(|data| {
            // One member, named for the source; its value is the metadata.
            data.0.values().find_map(|v| v.as_object()).map(Record)
        })
    {
        let location = &mut draft.location;
        location.file = source
            .lenient_string("file")
            .or_else(|| source.lenient_string("path"));
        location.line = source.lenient_uint("line").filter(|&l| l > 0);
        location.commit = source.lenient_string("commit");
        location.repository = source.lenient_string("repository");
        location.url = source.lenient_string("link");
    }
    Ok(draft.finish())
}

/// An AWS access key id's shape: 4 capital letters and 16 of `[A-Z0-9]`.
fn is_aws_key_id(s: &str) -> bool {
    s.len() == 20
        && s.bytes().take(4).all(|b| b.is_ascii_uppercase())
        && s.bytes()
            .skip(4)
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}
