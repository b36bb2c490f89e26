//! gitleaks v8's `--report-format json`: one JSON array of findings.
//!
//! # What is read
//!
//! gitleaks writes `[]report.Finding` with Go's JSON encoder, indented
//! (`report/json.go`; an empty report is `[]`). `Finding` has no `json` tags
//! but on `Line` (`json:"-"`, never written) and `Link`, `Fragment`
//! (`omitempty`), so the keys are its Go field names (`report/finding.go`):
//!
//! | field | meaning | kept as |
//! |---|---|---|
//! | `RuleID` | "the name of the rule that was matched" (`aws-access-token`, `github-pat`, `jwt`, …) | [`Hint::kind`](super::Hint::kind) (required) |
//! | `Description` | the rule's description | [`Hint::display_name`](super::Hint::display_name) |
//! | `Secret` | the captured secret | the secret (required) |
//! | `Match` | the whole match around the secret | never read (it holds the secret) |
//! | `File` | "the name of the file containing the finding" | [`Location::file`](super::Location::file) |
//! | `StartLine` | the line the match starts on | [`Location::line`](super::Location::line) |
//! | `Commit` | the commit (empty for `gitleaks dir` / `--no-git`) | [`Location::commit`](super::Location::commit) |
//! | `Link` | a link to the line on the forge, when known | [`Location::url`](super::Location::url) |
//! | `Fingerprint` | gitleaks' "unique identifier", `commit:file:rule:line` (what `.gitleaksignore` takes) | [`Location::reference`](super::Location::reference) |
//!
//! `EndLine`, `StartColumn`, `EndColumn`, `SymlinkFile`, `Entropy`, `Tags`
//! and the commit's `Author`, `Email`, `Date`, `Message` are not kept.
//!
//! A report written with `--redact` holds `REDACTED` (or, with
//! `--redact=N`, the first part of the secret and `...`) in `Secret`: there is
//! nothing to revoke, and each such finding is a
//! [`ProblemKind::Withheld`]. gitleaks checks
//! no secret, so its findings' verdict is
//! [`Verdict::NotChecked`](super::Verdict::NotChecked).
//!
//! gitleaks v7 and earlier wrote other keys: their reports are not read
//! (each record is a problem: [`ProblemKind::UnknownShape`], or a missing
//! `RuleID` with `--from gitleaks`).

use super::record::Record;
use super::{Draft, Finding, Format, Hint, Position, ProblemKind};

/// What `--redact` writes in place of the whole secret.
const REDACTED: &str = "REDACTED";

/// Reads one gitleaks finding.
pub(crate) fn read(record: Record<'_>, at: Position) -> Result<Finding, ProblemKind> {
    let rule = record.required_string("RuleID")?;
    let secret = record.required_string("Secret")?;
    if secret == REDACTED || secret.ends_with("...") {
        return Err(ProblemKind::Withheld {
            field: "Secret",
            fix: "run gitleaks again without --redact",
        });
    }
    let mut draft = Draft::new(secret.to_owned(), at);
    draft.hint = Some(Hint {
        scanner: Format::Gitleaks,
        kind: rule.to_owned(),
        display_name: record.lenient_string("Description"),
    });
    let location = &mut draft.location;
    location.file = record.lenient_string("File");
    location.line = record.lenient_uint("StartLine").filter(|&l| l > 0);
    location.commit = record.lenient_string("Commit");
    location.url = record.lenient_string("Link");
    location.reference = record.lenient_string("Fingerprint");
    Ok(draft.finish())
}
