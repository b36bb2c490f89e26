//! Reading secret scanners' reports: each finding with its secret kept
//! secret, named by a [`Fingerprint`] and its [`Location`].
//!
//! A responder starts from a scanner's report, which holds secrets. This
//! module reads one, streaming, into [`Finding`]s; later steps (resolvers,
//! plans, the bulk engine) take it from there and never see the report
//! itself.
//!
//! ```
//! use revoker_host::findings::{self, FindingsReader};
//!
//! let report = br#"[{"RuleID":"github-pat","Secret":"ghp_0123456789abcdefghijklmnopqrstuvwxyZ","File":"a.env","StartLine":3,"Commit":"","Fingerprint":"a.env:github-pat:3"}]"#;
//! let mut groups = findings::Grouper::new();
//! for item in FindingsReader::new(&report[..], None) {
//!     match item {
//!         Ok(finding) => {
//!             groups.add(finding);
//!         }
//!         Err(problem) => eprintln!("{problem}"), // names where, never the secret
//!     }
//! }
//! let groups = groups.into_groups();
//! assert_eq!(groups.len(), 1);
//! assert_eq!(groups[0].finding.hint.as_ref().unwrap().kind, "github-pat");
//! assert!(groups[0].finding.fingerprint.to_string().starts_with("sha256:"));
//! ```
//!
//! # Formats
//!
//! | [`Format`] | what is read | the secret | type hint |
//! |---|---|---|---|
//! | `trufflehog` | TruffleHog v3 `--json`: one object a line ([`trufflehog`]) | `RawV2`, else `Raw` | `DetectorName` |
//! | `gitleaks` | gitleaks v8 `--report-format json`: one array ([`gitleaks`]) | `Secret` | `RuleID` |
//! | `github` | GitHub's REST list of secret scanning alerts (repository, organization or enterprise): one array, or one alert a line ([`github`]) | `secret` | `secret_type` |
//! | `plain` | one secret a line ([`plain`]) | the line, trimmed | none |
//!
//! Each format's file says which versions and shapes it reads, and what each
//! field it reads means, with the scanner's own source or documentation.
//!
//! The format is given (`--from`, [`Format::from_str`](std::str::FromStr)) or
//! detected from the first bytes ([`detect`]): a `{` starts one JSON object a
//! line, a `[` a JSON array; the first record's fields tell the scanner
//! (`DetectorName`: TruffleHog, `RuleID`: gitleaks, `secret_type` or
//! `number`: GitHub). Anything else is plain text. A UTF-8 byte-order mark is
//! skipped; an empty report, or an empty array, is zero findings.
//!
//! # Streaming, bounded
//!
//! [`FindingsReader`] reads any [`BufRead`](std::io::BufRead) one record at a
//! time: JSON lines one line at a time, arrays element by element (a small
//! splitter tracks strings, escapes and depth; each element is then parsed
//! alone). Its memory is one record, at most [`MAX_RECORD_BYTES`] (a longer
//! record is a [`Problem`], skipped without being held), whatever the
//! report's size ([`FindingsReader::buffered_bytes`]). Grouping
//! ([`Grouper`]) keeps one entry per distinct secret and every location: it
//! grows with the number of distinct secrets and locations, which is
//! inherent.
//!
//! # Problems
//!
//! A record a reader does not understand is a [`Problem`] naming where it is
//! ([`Position`]: the line, or the array element with its line and byte
//! offset) and what is wrong, and reading goes on with the next record. A
//! problem never holds record text: records hold secrets. The few that end
//! reading (the report cannot be read, an array is cut off or broken, bytes
//! after it) say so ([`Problem::is_final`]).
//!
//! # No secret is kept
//!
//! A secret lives only in [`Finding::secret`] and [`Finding::paired_secret`]
//! ([`SecretString`]: its `Debug` shows `[REDACTED]`). Everything else a
//! finding keeps is public: the scanner's type hint, a public key id, a few
//! named extras, the location. URLs are kept with [`redact_url`] applied
//! (a repository URL may carry a token), and a public field that contains
//! the secret is dropped. Fields that hold the secret (`Match`, `Line`,
//! `Redacted`, commit messages) are never read into a finding.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::model::hex;
use crate::text::{redact_url, terminal_safe};

mod array;
mod detect;
pub mod github;
pub mod gitleaks;
mod group;
mod lines;
pub mod plain;
mod reader;
mod record;
pub mod trufflehog;

#[cfg(test)]
mod tests;

pub use detect::detect;
pub use group::{Group, Grouper, group};
pub use reader::FindingsReader;

/// The longest record read: a longer line or array element is a
/// [`ProblemKind::TooLarge`], skipped without being held in memory.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// The format of a scanner's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// TruffleHog v3 `--json`: one JSON object a line.
    TruffleHog,
    /// gitleaks `--report-format json`: a JSON array of findings.
    Gitleaks,
    /// GitHub secret scanning alerts, as the REST API lists them: a JSON array.
    GitHub,
    /// Plain text: one secret a line; blank lines and `#` comments are skipped.
    Plain,
}

impl Format {
    /// Every format, in the order of their names in messages.
    pub const ALL: [Self; 4] = [Self::TruffleHog, Self::Gitleaks, Self::GitHub, Self::Plain];

    /// Its name, as `--from` takes it: `trufflehog`, `gitleaks`, `github`, `plain`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TruffleHog => "trufflehog",
            Self::Gitleaks => "gitleaks",
            Self::GitHub => "github",
            Self::Plain => "plain",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a name that is no [`Format`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFormat(String);

impl fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown report format \"{}\" (expected trufflehog, gitleaks, github or plain)",
            terminal_safe(&self.0)
        )
    }
}

impl std::error::Error for UnknownFormat {}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Reads a format's name (see [`Format::as_str`]), ASCII case ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// How many bytes of a secret's SHA-256 a [`Fingerprint`] keeps: 8 (16 hex
/// digits).
pub const FINGERPRINT_BYTES: usize = 8;

/// A secret's name everywhere Revoker shows, stores or compares one (findings,
/// plans, journals, reports): the first [`FINGERPRINT_BYTES`] bytes of its
/// SHA-256, written `sha256:` and 16 lowercase hex digits.
///
/// 64 bits tell apart the secrets of any report (two distinct secrets share
/// one with a chance of about n² / 2⁶⁵ among n). It is a plain, unkeyed hash:
/// whoever holds a candidate secret can check it against a fingerprint, and a
/// guessable "secret" (a short password) can be found from it by trying
/// guesses. Scanners' findings are high-entropy keys, for which neither
/// matters.
///
/// ```
/// use revoker_host::SecretString;
/// use revoker_host::findings::{Fingerprint, fingerprint};
///
/// let print = fingerprint(&SecretString::from("abc"));
/// assert_eq!(print.to_string(), "sha256:ba7816bf8f01cfea");
/// assert_eq!("sha256:ba7816bf8f01cfea".parse::<Fingerprint>(), Ok(print));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fingerprint([u8; FINGERPRINT_BYTES]);

/// The fingerprint of a secret: see [`Fingerprint`]. The one function the
/// project names secrets with.
pub fn fingerprint(secret: &SecretString) -> Fingerprint {
    Fingerprint::of(secret.expose_secret().as_bytes())
}

impl Fingerprint {
    /// What `fingerprint` writes before the hex digits.
    pub const PREFIX: &'static str = "sha256:";

    /// The fingerprint of `bytes` (prefer [`fingerprint`] for a secret).
    pub fn of(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        let mut first = [0; FINGERPRINT_BYTES];
        first.copy_from_slice(&hash[..FINGERPRINT_BYTES]);
        Self(first)
    }

    /// Its bytes.
    pub fn as_bytes(&self) -> &[u8; FINGERPRINT_BYTES] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, hex(&self.0))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// The error for text that is no [`Fingerprint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidFingerprint;

impl fmt::Display for InvalidFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fingerprint is sha256: and 16 lowercase hex digits")
    }
}

impl std::error::Error for InvalidFingerprint {}

impl FromStr for Fingerprint {
    type Err = InvalidFingerprint;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix(Self::PREFIX).ok_or(InvalidFingerprint)?;
        let digits = digits.as_bytes();
        if digits.len() != FINGERPRINT_BYTES * 2 {
            return Err(InvalidFingerprint);
        }
        let nibble = |b: u8| match b {
            b'0'..=b'9' => Ok(b - b'0'),
            b'a'..=b'f' => Ok(b - b'a' + 10),
            _ => Err(InvalidFingerprint),
        };
        let mut out = [0; FINGERPRINT_BYTES];
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Ok(Self(out))
    }
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a record is in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Position {
    /// A line of a report read a line at a time (JSON lines, plain text),
    /// from 1.
    Line(u64),
    /// An element of a JSON array, from 1, with the line (from 1) and the byte
    /// offset (from 0) where it starts.
    Element {
        /// Its number in the array (in all the arrays, for consecutive ones).
        index: u64,
        /// The line it starts on.
        line: u64,
        /// The offset of its first byte.
        byte: u64,
    },
    /// A place between records: the line (from 1) and byte offset (from 0).
    Byte {
        /// The line.
        line: u64,
        /// The offset.
        byte: u64,
    },
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Line(line) => write!(f, "line {line}"),
            Self::Element { index, line, byte } => {
                write!(f, "element {index} (line {line}, byte {byte})")
            }
            Self::Byte { line, byte } => write!(f, "line {line}, byte {byte}"),
        }
    }
}

/// The scanner's type hint: what it thinks the secret is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// The scanner (the report's format).
    pub scanner: Format,
    /// The scanner's name for the kind: TruffleHog's `DetectorName` (`AWS`),
    /// gitleaks' `RuleID` (`aws-access-token`), GitHub's `secret_type`
    /// (`github_personal_access_token`). Text from outside: pass it through
    /// [`terminal_safe`] to show it.
    pub kind: String,
    /// A name for people, when the scanner gives one: gitleaks'
    /// `Description`, GitHub's `secret_type_display_name`.
    pub display_name: Option<String>,
}

/// What the scanner says of the secret's liveness, if it checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    /// The report says nothing (gitleaks, plain text).
    NotChecked,
    /// The scanner did not confirm it: TruffleHog `"Verified": false` (it
    /// failed to verify, or verification was off).
    Unverified,
    /// The scanner tried and could not tell: TruffleHog with a
    /// `VerificationError`, GitHub `"validity": "unknown"`.
    Unknown,
    /// The scanner found it no longer works: GitHub `"validity": "inactive"`.
    Inactive,
    /// The scanner found it live: TruffleHog `"Verified": true`, GitHub
    /// `"validity": "active"`.
    Live,
}

impl Verdict {
    /// Its name: `not-checked`, `unverified`, `unknown`, `inactive`, `live`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotChecked => "not-checked",
            Self::Unverified => "unverified",
            Self::Unknown => "unknown",
            Self::Inactive => "inactive",
            Self::Live => "live",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A GitHub alert's own state (`state`, `resolution`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertState {
    /// `"state": "open"`.
    Open,
    /// `"state": "resolved"`, with its `resolution` (`revoked`,
    /// `false_positive`, `wont_fix`, `used_in_tests`, `pattern_edited`,
    /// `pattern_deleted`), text from outside.
    Resolved(Option<String>),
}

/// Where a secret was found. Every field is public text from outside: show
/// it through [`terminal_safe`] (its `Display` does).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Location {
    /// The file (TruffleHog `file`, gitleaks `File`, GitHub `path`).
    pub file: Option<String>,
    /// The line in that file, from 1.
    pub line: Option<u64>,
    /// The commit (TruffleHog `commit`, gitleaks `Commit`, GitHub `commit_sha`).
    pub commit: Option<String>,
    /// The repository (TruffleHog `repository`, GitHub `repository.full_name`),
    /// with [`redact_url`] applied.
    pub repository: Option<String>,
    /// A link to the finding (TruffleHog `link`, gitleaks `Link`, GitHub
    /// `html_url`), with [`redact_url`] applied.
    pub url: Option<String>,
    /// The scanner's own name for the finding: gitleaks' `Fingerprint`
    /// (`commit:file:rule:line`), GitHub's alert `number`.
    pub reference: Option<String>,
    /// Where the scanner lists more locations (GitHub's `locations_url`),
    /// with [`redact_url`] applied.
    pub more_at: Option<String>,
    /// Where the record is in the report.
    pub at: Position,
}

impl Location {
    /// A location known only by its place in the report.
    pub fn at(at: Position) -> Self {
        Self {
            file: None,
            line: None,
            commit: None,
            repository: None,
            url: None,
            reference: None,
            more_at: None,
            at,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        match (&self.file, self.line) {
            (Some(file), Some(line)) => parts.push(format!("{}:{line}", terminal_safe(file))),
            (Some(file), None) => parts.push(terminal_safe(file).into_owned()),
            (None, Some(line)) => parts.push(format!("line {line}")),
            (None, None) => {}
        }
        if let Some(commit) = &self.commit {
            parts.push(format!("commit {}", terminal_safe(commit)));
        }
        if let Some(repository) = &self.repository {
            parts.push(format!("in {}", terminal_safe(repository)));
        }
        if let Some(url) = &self.url {
            parts.push(format!("<{}>", terminal_safe(url)));
        }
        if let Some(reference) = &self.reference {
            parts.push(format!("[{}]", terminal_safe(reference)));
        }
        parts.push(format!("(report {})", self.at));
        f.write_str(&parts.join(" "))
    }
}

/// One secret a scanner found, at one location.
///
/// Its `Debug` shows the secrets as `[REDACTED]`; its `Display` shows the
/// fingerprint, the hint and the location.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Finding {
    /// The secret as the scanner found it (for a TruffleHog finding with an
    /// id and a secret, `RawV2`; for AWS always `id:secret`).
    pub secret: SecretString,
    /// Its fingerprint, the finding's name.
    pub fingerprint: Fingerprint,
    /// The scanner's type hint (none for plain text).
    pub hint: Option<Hint>,
    /// The public half of a two-part credential, when the scanner gives it
    /// apart: an AWS access key id (TruffleHog `Raw`).
    pub public_id: Option<String>,
    /// The secret half of a two-part credential: an AWS secret access key
    /// (from TruffleHog `RawV2`).
    pub paired_secret: Option<SecretString>,
    /// Public facts the scanner adds that a resolver may use, by name (for
    /// TruffleHog, the `ExtraData` keys listed in [`trufflehog`]).
    pub extras: BTreeMap<&'static str, String>,
    /// Where it was found.
    pub location: Location,
    /// What the scanner says of its liveness.
    pub verdict: Verdict,
    /// A GitHub alert's own state.
    pub alert_state: Option<AlertState>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.fingerprint)?;
        if let Some(hint) = &self.hint {
            write!(f, " {}:{}", hint.scanner, terminal_safe(&hint.kind))?;
        }
        write!(f, " at {}", self.location)
    }
}

/// A finding as a format's reader builds it, before [`Draft::finish`] names it
/// and scrubs it.
pub(crate) struct Draft {
    pub(crate) secret: String,
    pub(crate) hint: Option<Hint>,
    pub(crate) public_id: Option<String>,
    pub(crate) paired_secret: Option<String>,
    pub(crate) extras: BTreeMap<&'static str, String>,
    pub(crate) location: Location,
    pub(crate) verdict: Verdict,
    pub(crate) alert_state: Option<AlertState>,
}

/// Secrets shorter than this are not searched for in public fields (a
/// one-letter "secret" would drop every field holding that letter).
const SCRUB_MIN_LEN: usize = 8;

impl Draft {
    pub(crate) fn new(secret: String, at: Position) -> Self {
        Self {
            secret,
            hint: None,
            public_id: None,
            paired_secret: None,
            extras: BTreeMap::new(),
            location: Location::at(at),
            verdict: Verdict::NotChecked,
            alert_state: None,
        }
    }

    /// The finding: fingerprinted, with every public field that contains a
    /// secret dropped and every URL redacted.
    pub(crate) fn finish(self) -> Finding {
        let Draft {
            secret,
            hint,
            public_id,
            paired_secret,
            mut extras,
            mut location,
            verdict,
            mut alert_state,
        } = self;
        let secrets: Vec<&str> = [Some(secret.as_str()), paired_secret.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| s.len() >= SCRUB_MIN_LEN)
            .collect();
        let holds_secret = |value: &str| secrets.iter().any(|s| value.contains(s));
        let scrub = |field: &mut Option<String>| {
            if field.as_deref().is_some_and(holds_secret) {
                *field = None;
            }
        };
        for url in [
            &mut location.url,
            &mut location.repository,
            &mut location.more_at,
        ] {
            *url = url.take().map(|u| redact_url(&u));
        }
        scrub(&mut location.file);
        scrub(&mut location.commit);
        scrub(&mut location.repository);
        scrub(&mut location.url);
        scrub(&mut location.reference);
        scrub(&mut location.more_at);
        extras.retain(|_, value| !holds_secret(value));
        let hint = hint.filter(|h| {
            !holds_secret(&h.kind) && !h.display_name.as_deref().is_some_and(holds_secret)
        });
        if let Some(AlertState::Resolved(resolution)) = &mut alert_state {
            scrub(resolution);
        }
        let secret = SecretString::from(secret);
        Finding {
            fingerprint: fingerprint(&secret),
            secret,
            hint,
            public_id,
            paired_secret: paired_secret.map(SecretString::from),
            extras,
            location,
            verdict,
            alert_state,
        }
    }
}

/// Something in a report that is not a finding, and where it is.
///
/// Its messages name the position and what is wrong, and never hold text
/// from the record (which may be a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the report.
    pub at: Position,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl Problem {
    pub(crate) fn new(at: Position, kind: ProblemKind) -> Self {
        Self { at, kind }
    }

    /// Whether the reader stopped here: the report could not be read further,
    /// or an array is cut off or broken, or has bytes after it.
    pub fn is_final(&self) -> bool {
        matches!(
            self.kind,
            ProblemKind::Read { .. }
                | ProblemKind::Truncated
                | ProblemKind::Malformed { .. }
                | ProblemKind::TrailingData
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.kind)
    }
}

impl std::error::Error for Problem {}

/// What is wrong with a record, or with the report at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The report could not be read further (final).
    Read {
        /// The I/O error's kind.
        kind: io::ErrorKind,
    },
    /// The record is not UTF-8.
    NotUtf8,
    /// The record is longer than the limit; it was skipped unread.
    TooLarge {
        /// Its length.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The record is not JSON.
    InvalidJson {
        /// What the JSON parser expected, in its fixed words (never the
        /// record's text).
        reason: String,
        /// The line in the record, from 1.
        line: u64,
        /// The column in that line, from 1.
        column: u64,
    },
    /// The record is JSON, but not an object.
    NotAnObject {
        /// What it is: `an array`, `a string`, ….
        found: &'static str,
    },
    /// The record is an object of none of the scanners' shapes.
    UnknownShape,
    /// The record is not a finding: a log line in the report.
    LogLine,
    /// A field is missing, empty or of the wrong type.
    Field {
        /// The field's name, as in the format.
        field: &'static str,
        /// What is wrong with it.
        problem: FieldProblem,
    },
    /// The report holds no secret value for this finding: gitleaks run with
    /// `--redact`, GitHub's alerts listed with `hide_secret=true`.
    Withheld {
        /// The field that would hold it.
        field: &'static str,
        /// How to get a report with it.
        fix: &'static str,
    },
    /// The report ends inside an array (final).
    Truncated,
    /// An array is broken where it must hold `expected` (final).
    Malformed {
        /// What should be there.
        expected: &'static str,
    },
    /// There is more than a JSON array in the report (final).
    TrailingData,
}

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldProblem {
    /// It is not there (or is `null`).
    Missing,
    /// It is an empty string.
    Empty,
    /// It is not of the expected type.
    WrongType {
        /// The type expected: `a string`, `a number`, ….
        expected: &'static str,
    },
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { kind } => write!(f, "the report could not be read: {kind}"),
            Self::NotUtf8 => f.write_str("not valid UTF-8"),
            Self::TooLarge { bytes, limit } => write!(
                f,
                "the record is {bytes} bytes long, more than the {limit} allowed; skipped"
            ),
            Self::InvalidJson {
                reason,
                line,
                column,
            } => write!(
                f,
                "not valid JSON: {} (at line {line}, column {column} of the record)",
                terminal_safe(reason)
            ),
            Self::NotAnObject { found } => write!(f, "{found}, not a finding object"),
            Self::UnknownShape => f.write_str(
                "not a finding of a known scanner (no `DetectorName`, `RuleID`, `secret_type` or `number`); give the format with --from",
            ),
            Self::LogLine => f.write_str(
                "a log line, not a finding (keep the scanner's stderr out of the report)",
            ),
            Self::Field { field, problem } => match problem {
                FieldProblem::Missing => write!(f, "`{field}` is missing"),
                FieldProblem::Empty => write!(f, "`{field}` is empty"),
                FieldProblem::WrongType { expected } => {
                    write!(f, "`{field}` is not {expected}")
                }
            },
            Self::Withheld { field, fix } => write!(
                f,
                "the report withholds the secret (`{field}`), so there is nothing to revoke; {fix}"
            ),
            Self::Truncated => f.write_str("the report ends inside its JSON array (cut off?)"),
            Self::Malformed { expected } => {
                write!(f, "the JSON array is broken here: expected {expected}")
            }
            Self::TrailingData => f.write_str("unexpected bytes after the JSON array"),
        }
    }
}
