//! Telling a report's format from its content.
//!
//! The first non-blank byte (after a UTF-8 byte-order mark) decides how the
//! report is framed: `{` starts JSON objects one a line, `[` a JSON array,
//! anything else is plain text. Within JSON, the first record's fields
//! decide the scanner, each scanner's own field names being distinctive:
//!
//! * `DetectorName` (or `SourceMetadata`): TruffleHog;
//! * `RuleID`: gitleaks;
//! * `secret_type` or `number`: a GitHub secret scanning alert.
//!
//! A record of none of these shapes is a problem, and the next one is tried.

use super::record::Record;
use super::{FindingsReader, Format, ProblemKind};

/// How a report's records are framed, from its first significant byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// One JSON record a line.
    JsonLines,
    /// The elements of a JSON array.
    Array,
    /// One secret a line.
    PlainLines,
}

impl Framing {
    /// The framing of a report whose first significant byte is `first`, read
    /// as `format` if it is given.
    pub(crate) fn of(first: u8, format: Option<Format>) -> Self {
        match (format, first) {
            (Some(Format::Plain), _) => Self::PlainLines,
            (_, b'[') => Self::Array,
            (_, b'{') => Self::JsonLines,
            // A JSON format given for text that is not JSON: each line is a
            // problem, with its number.
            (Some(_), _) => Self::JsonLines,
            (None, _) => Self::PlainLines,
        }
    }
}

/// The scanner whose record this is.
pub(crate) fn classify(record: Record<'_>) -> Result<Format, ProblemKind> {
    if record.has("DetectorName") || record.has("SourceMetadata") {
        Ok(Format::TruffleHog)
    } else if record.has("RuleID") {
        Ok(Format::Gitleaks)
    } else if record.has("secret_type") || record.has("number") {
        Ok(Format::GitHub)
    } else if record.has("level") && record.has("msg") {
        // TruffleHog's (zap) log lines, when stderr was captured with stdout.
        Err(ProblemKind::LogLine)
    } else {
        Err(ProblemKind::UnknownShape)
    }
}

/// The format a report starting with `head` is read as, when `head` shows it:
/// the same detection as [`FindingsReader`]'s.
///
/// `None` when `head` is blank, is an empty JSON array, or ends before its
/// first JSON record's kind shows (pass more of the report, or the whole
/// first record).
///
/// ```
/// use revoker_host::findings::{Format, detect};
///
/// assert_eq!(detect(b"\xef\xbb\xbf  {\"DetectorName\":\"AWS\"}\n"), Some(Format::TruffleHog));
/// assert_eq!(detect(b"[\n {\n  \"RuleID\": \"jwt\"}]"), Some(Format::Gitleaks));
/// assert_eq!(detect(b"[{\"number\": 2, \"secret_type\": \"x\"}]"), Some(Format::GitHub));
/// assert_eq!(detect(b"ghp_abc\n"), Some(Format::Plain));
/// assert_eq!(detect(b"  \n"), None);
/// assert_eq!(detect(b"[]"), None);
/// ```
pub fn detect(head: &[u8]) -> Option<Format> {
    let mut reader = FindingsReader::new(head, None);
    while reader.format().is_none() {
        let _ = reader.next()?;
    }
    reader.format()
}
