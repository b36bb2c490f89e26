//! GitHub secret scanning alerts, as the REST API lists them: one JSON array.
//!
//! # What is read
//!
//! The array answered by "List secret scanning alerts for a repository"
//! (`GET /repos/{owner}/{repo}/secret-scanning/alerts`), "… for an
//! organization" (`GET /orgs/{org}/secret-scanning/alerts`) or "… for an
//! enterprise"; each element is a `secret-scanning-alert` (the organization
//! and enterprise lists' `organization-secret-scanning-alert` adds
//! `repository`). Keys, as GitHub's REST API description
//! (`github/rest-api-description`) names them:
//!
//! | field | meaning | kept as |
//! |---|---|---|
//! | `number` | "the security alert number" | [`Location::reference`](super::Location::reference) |
//! | `secret_type` | "the type of secret that secret scanning detected" (`github_personal_access_token`, `aws_access_key_id`, …) | [`Hint::kind`](super::Hint::kind) (required) |
//! | `secret_type_display_name` | "user-friendly name for the detected secret" | [`Hint::display_name`](super::Hint::display_name) |
//! | `secret` | "the secret that was detected"; left out when listed with `hide_secret=true` (a parameter since May 2025, GitHub's changelog of 2025-05-20) | the secret (required) |
//! | `html_url` | "the GitHub URL of the alert resource" | [`Location::url`](super::Location::url) |
//! | `locations_url` | "the REST API URL of the code locations for this alert" | [`Location::more_at`](super::Location::more_at) |
//! | `state` | `open` or `resolved` | [`AlertState`] |
//! | `resolution` | why resolved: `false_positive`, `wont_fix`, `revoked`, `used_in_tests`, `pattern_edited`, `pattern_deleted`, or `null` | [`AlertState::Resolved`] |
//! | `validity` | "the token status as of the latest validity check": `active`, `inactive`, `unknown` | [`Verdict`] `Live`, `Inactive`, `Unknown` |
//! | `repository` | (organization, enterprise) a `simple-repository`: its `full_name` | [`Location::repository`](super::Location::repository) |
//! | `first_location_detected` | (since 2025) the first location: for a commit, `path`, `start_line`, `commit_sha`, … | [`Location::file`](super::Location::file), `line`, `commit` |
//!
//! The alert's times, `url`, `resolved_by`, `resolution_comment`, the
//! `push_protection_*` fields, `publicly_leaked`, `multi_repo`,
//! `has_more_locations` and `is_base64_encoded` are not kept. An alert
//! without `validity` (validity checks off) has the verdict
//! [`Verdict::NotChecked`].
//!
//! Pages fetched one by one and written one after the other (`[…][…]`, as
//! `gh api --paginate` may write them) are read as one list. `--slurp` nests them
//! (`[[…],[…]]`): each page is then one [`ProblemKind::NotAnObject`]
//! (`an array`); leave out `--slurp`. One alert a line (`--jq '.[]'`) is
//! read too; a single alert object written over several lines ("Get a secret
//! scanning alert", pretty-printed) is not: put it in an array.

use super::record::Record;
use super::{AlertState, Draft, Finding, Format, Hint, Position, ProblemKind, Verdict};

/// Reads one alert.
pub(crate) fn read(record: Record<'_>, at: Position) -> Result<Finding, ProblemKind> {
    let secret_type = record.required_string("secret_type")?;
    let secret = match record.required_string("secret") {
        Ok(secret) => secret,
        Err(ProblemKind::Field { .. }) if !record.has("secret") => {
            return Err(ProblemKind::Withheld {
                field: "secret",
                fix: "list the alerts without hide_secret=true",
            });
        }
        Err(e) => return Err(e),
    };
    let mut draft = Draft::new(secret.to_owned(), at);
    draft.hint = Some(Hint {
        scanner: Format::GitHub,
        kind: secret_type.to_owned(),
        display_name: record.lenient_string("secret_type_display_name"),
    });
    // Lenient: a finding is not lost over its status.
    draft.verdict = match record.string("validity").ok().flatten() {
        None => Verdict::NotChecked,
        Some("active") => Verdict::Live,
        Some("inactive") => Verdict::Inactive,
        Some(_) => Verdict::Unknown,
    };
    draft.alert_state = match record.string("state").ok().flatten() {
        Some("open") => Some(AlertState::Open),
        Some("resolved") => Some(AlertState::Resolved(record.lenient_string("resolution"))),
        _ => None,
    };
    let location = &mut draft.location;
    location.reference = record.lenient_uint("number").map(|n| n.to_string());
    location.url = record.lenient_string("html_url");
    location.more_at = record.lenient_string("locations_url");
    location.repository = record
        .lenient_object("repository")
        .and_then(|r| r.lenient_string("full_name"));
    if let Some(first) = record.lenient_object("first_location_detected") {
        location.file = first.lenient_string("path");
        location.line = first.lenient_uint("start_line").filter(|&l| l > 0);
        location.commit = first.lenient_string("commit_sha");
    }
    Ok(draft.finish())
}
